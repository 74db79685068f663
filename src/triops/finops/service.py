"""FinOps over the store: record and price usage, keep budgets and alerts, report, forecast, recommend,
export and import FOCUS. ``FinOpsService`` is also the ``SpendSource`` the ``BudgetHook`` reads."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from triops.domain.clock import Clock, SystemClock, utc_ms
from triops.domain.usage import UsageRecord
from triops.errors import InvalidInputError
from triops.finops import budgets as B
from triops.finops.attribution import Attribution, Authorize, SharedCost
from triops.finops.costs import empty_costs, price_usage, usage_frame
from triops.finops.focus_service import FocusFiles
from triops.finops.outlook import Outlook
from triops.finops.prices import PriceBook
from triops.finops.rollups import convert_micros, period_bounds_ms, rollup
from triops.store.audit import append_event
from triops.store.engine import Store
from triops.store.repositories import finops as repo

if TYPE_CHECKING:
    import httpx
    import polars as pl


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    budget: B.Budget
    period_label: str
    spent_micros: int

    @property
    def pct(self) -> str:
        return B.pct_of(self.spent_micros, self.budget.amount_micros)


def _budget(row: dict[str, Any]) -> B.Budget:
    return B.Budget(
        row["id"],
        row["scope"],
        row["name"],
        row["period"],
        int(row["amount_micros"]),
        row["currency"],
        tuple(int(t) for t in row["thresholds"]),
        row["webhook_url"],
        int(row["created_ms"]),
    )


class FinOpsService(Attribution, FocusFiles, Outlook):
    """``authorize(permission, project)`` is the workspace's check against the acting principal (this
    pillar does not import governance); ``shared`` are the ``[[finops.shared]]`` costs of the settings."""

    def __init__(
        self,
        store: Store,
        book: PriceBook,
        clock: Clock | None = None,
        *,
        required_tags: Sequence[str] = (),
        http: httpx.Client | None = None,
        user: str | None = None,
        authorize: Authorize | None = None,
        shared: Sequence[SharedCost] = (),
    ) -> None:
        self.store = store
        self.book = book
        self.clock = clock or SystemClock()
        self.required_tags = tuple(required_tags)
        self.http = http
        self.user = user
        self.authorize = authorize
        self.shared = tuple(shared)

    # -- usage and costs ---------------------------------------------------------------------------
    def record_usage(self, records: Sequence[UsageRecord]) -> tuple[pl.DataFrame, list[B.Alert]]:
        """Price and store usage records in one transaction, then raise any budget alerts they cause."""
        if not records:
            return empty_costs(), []
        costs = price_usage(usage_frame(records), self.book, required_tags=self.required_tags)

        def write(conn: Any) -> None:
            repo.insert_usage(conn, records)
            repo.insert_costs(conn, costs)

        self.store.write(write)
        scopes = {(r.project, r.tags.get("team"), r.tags.get("cost_centre")) for r in records}
        budgets: dict[str, B.Budget] = {}
        for project, team, centre in scopes:
            for budget in self.budgets_for(project, team, centre):
                budgets[budget.id] = budget
        alerts = [a for b in budgets.values() for a in self.check_alerts(b)]
        return costs, alerts

    def costs(
        self, *, period: str | None = None, project: str | None = None, run_id: str | None = None
    ) -> pl.DataFrame:
        """Priced cost records; a record without a ``model_version``/``dataset`` tag is attributed from
        its run's lineage (the model version the run produced, the dataset version it registered)."""
        import polars as pl

        from triops.finops.rollups import attribute_lineage
        from triops.store.repositories.finops_attribution import run_lineage

        start, end = period_bounds_ms(period) if period else (None, None)
        empty = empty_costs()
        with self.store.connect() as conn:
            rows = repo.cost_tuples(
                conn, empty.columns, project=project, run_id=run_id, start_ms=start, end_ms=end
            )
            model_of, dataset_of = run_lineage(conn) if rows else ({}, {})
        if not rows:
            return empty
        frame = pl.DataFrame(rows, schema=empty.schema, orient="row")
        if not frame["started_ms"].is_sorted():  # records metered as runs happen are read in order already
            frame = frame.sort("started_ms", maintain_order=True)
        return attribute_lineage(frame, model_of, dataset_of)

    def usage(self, *, project: str | None = None) -> pl.DataFrame:
        with self.store.connect() as conn:
            return usage_frame(repo.usage_rows(conn, project=project))

    def report(self, by: str, *, period: str | None = None, currency: str | None = None) -> pl.DataFrame:
        """Cost per ``by`` with a ``source`` column: ``metered``; per project also ``imported`` (FOCUS
        rows); and ``shared: <label>`` for each shared-cost allocation by that grouping (stored with
        ``allocate`` or configured in ``[[finops.shared]]``), shown as its own line. Amounts in different
        currencies are converted with the catalog's dated rates to ``currency`` or refused."""
        import polars as pl

        from triops.finops.rollups import ROLLUP_KEYS

        metered = rollup(self.costs(period=period), by, currency=currency, rates=self.book.rates or None)
        parts = [metered.with_columns(pl.col("records").cast(pl.UInt32), pl.lit("metered").alias("source"))]
        key = ROLLUP_KEYS.get(by, ("",))[-1]
        if by == "project":
            imported = self.imported_totals(period=period)
            if imported:
                parts.append(
                    pl.DataFrame(imported).select(
                        pl.col("project").cast(pl.String),
                        pl.col("currency").cast(pl.String),
                        pl.col("cost_micros").cast(pl.Int64),
                        pl.col("records").cast(pl.UInt32),
                        pl.lit("imported").alias("source"),
                    )
                )
        shared_rows = [
            {
                key: k,
                "currency": a["currency"],
                "cost_micros": v,
                "records": 0,
                "source": f"shared: {a['label']}",
            }
            for a in self._allocations_for(by, period)
            for k, v in a["shares"].items()
        ]
        if shared_rows and len(ROLLUP_KEYS[by]) == 1:
            parts.append(
                pl.DataFrame(
                    shared_rows,
                    schema={
                        key: pl.String,
                        "currency": pl.String,
                        "cost_micros": pl.Int64,
                        "records": pl.UInt32,
                        "source": pl.String,
                    },
                )
            )
        both = pl.concat(parts, how="diagonal_relaxed") if len(parts) > 1 else parts[0]
        currencies = set(both["currency"].to_list())
        if currency is not None and currencies - {currency}:
            both = both.with_columns(
                pl.Series(
                    "cost_micros",
                    [
                        convert_micros(int(a), c, currency, self.book.rates)
                        for a, c in zip(both["cost_micros"], both["currency"], strict=True)
                    ],
                    dtype=pl.Int64,
                ),
                pl.lit(currency).alias("currency"),
            )
        elif currency is None and len(currencies) > 1:
            raise InvalidInputError(
                f"costs are in more than one currency ({', '.join(sorted(currencies))}); "
                "they are not added unconverted",
                hint="pass a report currency (--currency) and keep a [rates] table in the price catalog",
            )
        return both.sort("cost_micros", descending=True)

    def _allocations_for(self, by: str, period: str | None) -> list[dict[str, Any]]:
        """Allocations by ``by`` within ``period`` (all of them when no period is given)."""
        if by not in ("project", "team", "model", "dataset", "pipeline"):
            return []
        found = self.allocations(by=by)
        if period is None:
            return found
        start, end = period_bounds_ms(period)
        return [a for a in found if start <= period_bounds_ms(a["period"])[0] < end]

    # -- budgets (SpendSource) ---------------------------------------------------------------------
    def set_budget(self, budget: B.Budget) -> B.Budget:
        """Create or change a budget; the change and its audit event are one transaction."""

        def write(conn: Any) -> B.Budget:
            saved = _budget(repo.upsert_budget(conn, dataclasses.asdict(budget)))
            append_event(
                conn,
                actor=self.user or "local",
                action="budget.set",
                object_type="budget",
                object_id=saved.id,
                before=None,
                after=_jsonable(dataclasses.asdict(saved)),
                project=saved.name if saved.scope == "project" else None,
                at_ms=utc_ms(self.clock.now()),
            )
            return saved

        return self.store.write(write)

    def list_budgets(self) -> list[B.Budget]:
        with self.store.connect() as conn:
            return [_budget(r) for r in repo.list_budgets(conn)]

    def budgets_for(self, project: str, team: str | None, cost_centre: str | None = None) -> list[B.Budget]:
        with self.store.connect() as conn:
            rows = repo.budgets_for(conn, project=project, team=team, cost_centre=cost_centre)
        return [_budget(r) for r in rows]

    def spent(self, budget: B.Budget, now: datetime) -> int:
        """Spend in the budget's current period, in its currency (other currencies need catalog rates)."""
        _, start, end = B.current_period(budget.period, now)
        with self.store.connect() as conn:
            by_currency = repo.spent_by_currency(
                conn, scope=budget.scope, name=budget.name, start_ms=start, end_ms=end
            )
        return sum(convert_micros(v, c, budget.currency, self.book.rates) for c, v in by_currency.items())

    def estimate_run(
        self, project: str, pipeline: str | None, currency: str | None = None
    ) -> tuple[int | None, int]:
        """p90 of the latest runs' costs, each run converted to ``currency`` (default: the currency of
        the latest run) with the catalog's rates; a run in a currency without a rate is refused."""
        with self.store.connect() as conn:
            totals = repo.run_totals_by_currency(conn, project=project, pipeline=pipeline)
        if not totals:
            return None, 0
        target = currency or totals[0][1]
        values = [convert_micros(v, c, target, self.book.rates) for v, c in totals]
        return B.p90(values), len(values)

    def status(self) -> list[BudgetStatus]:
        now = self.clock.now()
        return [
            BudgetStatus(b, B.current_period(b.period, now)[0], self.spent(b, now))
            for b in self.list_budgets()
        ]

    def check_alerts(self, budget: B.Budget) -> list[B.Alert]:
        """Create an alert for each newly crossed threshold (once per period), call the webhook and append
        a ``budget.alert`` audit event with it (same transaction), so alerts are seen where they happen."""
        now = self.clock.now()
        label = B.current_period(budget.period, now)[0]
        spent = self.spent(budget, now)
        with self.store.connect() as conn:
            already = repo.alerted_thresholds(conn, budget.id, label)
        alerts = [self._notify(budget, a) for a in B.new_alerts(budget, spent, already, label, now)]
        if alerts:

            def write(conn: Any) -> None:
                for alert in alerts:
                    repo.insert_alert(conn, dataclasses.asdict(alert))
                    append_event(
                        conn,
                        actor=self.user or "local",
                        action="budget.alert",
                        object_type="budget",
                        object_id=budget.id,
                        before=None,
                        after=_jsonable(dataclasses.asdict(alert)),
                        project=budget.name if budget.scope == "project" else None,
                        at_ms=alert.created_ms,
                    )

            self.store.write(write)
        return alerts

    def _notify(self, budget: B.Budget, alert: B.Alert) -> B.Alert:
        if not budget.webhook_url:
            return alert
        import httpx

        payload = {**dataclasses.asdict(alert), "budget": budget.to_dict()}
        client = self.http or httpx.Client(timeout=5.0)
        try:
            response = client.post(budget.webhook_url, json=payload)
            status = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            status = f"failed: {type(exc).__name__}"
        finally:
            if self.http is None:
                client.close()
        return dataclasses.replace(alert, webhook_status=status[:200])

    def alerts(self) -> list[dict[str, Any]]:
        with self.store.connect() as conn:
            return repo.list_alerts(conn)

    def record_override(self, override: B.Override) -> None:
        """Record a budget override with its reason, audited in the same transaction."""
        data = dataclasses.asdict(override)

        def write(conn: Any) -> None:
            repo.insert_override(conn, data, self.user)
            append_event(
                conn,
                actor=self.user or "local",
                action="budget.override",
                object_type="budget",
                object_id=override.budget_id,
                before=None,
                after=_jsonable(data),
                at_ms=utc_ms(self.clock.now()),
            )

        self.store.write(write)

    def hook(self, override_reason: str | None = None) -> B.BudgetHook:
        """A pipeline hook enforcing this store's budgets; overrides are recorded here."""
        return B.BudgetHook(
            self, self.clock, override_reason=override_reason, on_override=self.record_override
        )


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, (str, int, float, bool, type(None))) else str(v) for k, v in data.items()}


def decimal_amount(micros: int) -> Decimal:
    return Decimal(micros) / 1_000_000


def today(clock: Clock) -> date:
    return clock.now().astimezone(UTC).date()
