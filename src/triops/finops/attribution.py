"""FinOps attribution, mixed into ``FinOpsService``: serving usage per model version, cost per model version
and per 1,000 predictions, a run's costs attributed to its lineage, shared-cost allocation, and journal
recovery.

``record_serving_usage`` is what serving calls: "model version X answered N predictions using these
resources". It stores one priced usage record tagged with the model version, so
``model_costs`` can show the version's cost and its cost per 1,000 predictions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

from triops.domain.clock import Clock, utc_ms
from triops.domain.ids import new_id
from triops.domain.usage import UsageRecord
from triops.errors import InvalidInputError
from triops.finops.budgets import to_micros
from triops.finops.money import format_money
from triops.finops.rollups import ROLLUP_KEYS, allocate_shared, convert_micros, period_bounds_ms
from triops.store.engine import Store
from triops.store.repositories import finops_attribution as arepo

if TYPE_CHECKING:
    import polars as pl

    from triops.finops.budgets import Alert
    from triops.finops.prices import PriceBook

Authorize = Callable[[str, str | None], None]
ALLOCATION_GROUPINGS = ("project", "team", "model", "dataset", "pipeline")


@dataclass(frozen=True, slots=True)
class SharedCost:
    """A shared or idle cost to allocate in proportion to each group's own metered cost."""

    label: str
    amount_micros: int
    currency: str
    period: str
    by: str = "project"

    @classmethod
    def parse(cls, data: Mapping[str, Any], where: str = "[[finops.shared]]") -> SharedCost:
        unknown = sorted(set(data) - {"label", "amount", "currency", "period", "by"})
        if unknown:
            raise InvalidInputError(
                f"{where}: unknown field {unknown[0]!r}", hint="fields: label, amount, currency, period, by"
            )
        for name in ("label", "amount", "currency", "period"):
            if not str(data.get(name, "")).strip():
                raise InvalidInputError(f"{where}: field {name!r} is missing", hint="e.g. period = '2026-11'")
        by = str(data.get("by", "project"))
        if by not in ALLOCATION_GROUPINGS:
            raise InvalidInputError(
                f"{where}: by = {by!r} is not a grouping", hint=f"choose {', '.join(ALLOCATION_GROUPINGS)}"
            )
        period_bounds_ms(str(data["period"]))
        micros = to_micros(str(data["amount"]), f"{where} amount")
        if micros < 0:
            raise InvalidInputError(f"{where}: amount is negative", hint="a shared cost is ≥ 0")
        currency = str(data["currency"])
        if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
            raise InvalidInputError(
                f"{where}: currency {currency!r} is not an ISO 4217 code", hint="e.g. EUR"
            )
        return cls(str(data["label"]).strip(), micros, currency, str(data["period"]), by)


class Attribution:
    """The attribution half of ``FinOpsService`` (it provides the attributes below)."""

    store: Store
    book: PriceBook
    clock: Clock
    user: str | None
    authorize: Authorize | None
    shared: tuple[SharedCost, ...]

    def costs(
        self, *, period: str | None = None, project: str | None = None, run_id: str | None = None
    ) -> pl.DataFrame:  # provided by FinOpsService
        raise NotImplementedError

    def record_usage(self, records: Sequence[UsageRecord]) -> tuple[pl.DataFrame, list[Alert]]:
        raise NotImplementedError

    def allow(self, permission: str, project: str | None) -> None:
        """The workspace's permission check for the acting principal (none on a bare service)."""
        if self.authorize is not None:
            self.authorize(permission, project)

    # -- serving -----------------------------------------------------------------------------------
    def record_serving_usage(
        self,
        model_version: str,
        *,
        project: str,
        predictions: int,
        cpu_s: float = 0.0,
        wall_s: float | None = None,
        peak_rss_bytes: int = 0,
        bytes_read: int = 0,
        bytes_written: int = 0,
        gpu_s: float = 0.0,
        gpu_model: str | None = None,
        started_ms: int | None = None,
        ended_ms: int | None = None,
        environment: str = "local",
        tags: Mapping[str, str] | None = None,
    ) -> UsageRecord:
        """Meter a serving window of ``model_version`` (e.g. ``churn/3``): ``predictions`` answered with
        the CPU-seconds, peak memory, bytes and GPU-seconds measured for them. Only what was used is
        charged (nothing is "requested" while serving). Returns the stored usage record."""
        self.allow("run.write", project)
        if not model_version or not str(model_version).strip():
            raise InvalidInputError("model_version is empty", hint="name the version, e.g. 'churn/3'")
        if isinstance(predictions, bool) or not isinstance(predictions, int) or predictions < 0:
            raise InvalidInputError(
                f"predictions is {predictions!r}; it must be an integer ≥ 0", hint="count answered requests"
            )
        self.book.environment(environment)
        end = utc_ms(self.clock.now()) if ended_ms is None else int(ended_ms)
        start = end if started_ms is None else int(started_ms)
        wall = (max(end - start, 0) / 1000.0) if wall_s is None else wall_s
        record = UsageRecord(
            id=new_id(),
            run_id=new_id(),
            step_run_id=None,
            project=project,
            pipeline="serving",
            step="predict",
            started_ms=start,
            ended_ms=end,
            wall_s=wall,
            cpu_s=cpu_s,
            peak_rss_bytes=peak_rss_bytes,
            bytes_read=bytes_read,
            bytes_written=bytes_written,
            gpu_s=gpu_s,
            gpu_model=gpu_model,
            requested_cpu=0.0,
            requested_memory_gb=0.0,
            environment=environment,
            tags={**{str(k): str(v) for k, v in (tags or {}).items()}, "model_version": str(model_version)},
            predictions=predictions,
        )
        self.record_usage([record])
        return record

    def model_costs(
        self,
        *,
        project: str | None = None,
        model_version: str | None = None,
        period: str | None = None,
        currency: str | None = None,
    ) -> list[dict[str, Any]]:
        """Cost per model version (training runs attributed to it plus serving), its predictions and its
        cost per 1,000 predictions (None when it served none)."""
        import polars as pl

        self.allow("cost.read", project)
        costs = self.costs(period=period, project=project)
        costs = costs.filter(costs["model_version"].is_not_null())
        if model_version is not None:
            costs = costs.filter(costs["model_version"] == model_version)
        rows = (
            costs.group_by("model_version", "currency")
            .agg(
                pl.col("cost_micros").sum(),
                pl.col("predictions").fill_null(0).sum(),
                pl.len().alias("records"),
            )
            .to_dicts()
            if costs.height
            else []
        )
        merged: dict[tuple[str, str], dict[str, int]] = {}
        for row in rows:
            cur = currency or row["currency"]
            amount = convert_micros(int(row["cost_micros"]), row["currency"], cur, self.book.rates)
            slot = merged.setdefault((row["model_version"], cur), {"cost": 0, "predictions": 0, "records": 0})
            slot["cost"] += amount
            slot["predictions"] += int(row["predictions"])
            slot["records"] += int(row["records"])
        out = []
        for (version, cur), v in sorted(merged.items()):
            per_1k = None
            if v["predictions"]:
                per_1k = int(
                    (Decimal(v["cost"]) * 1000 / v["predictions"]).quantize(Decimal(1), ROUND_HALF_EVEN)
                )
            out.append(
                {
                    "model_version": version,
                    "currency": cur,
                    "cost_micros": v["cost"],
                    "cost": format_money(v["cost"], cur),
                    "predictions": v["predictions"],
                    "per_1k_predictions_micros": per_1k,
                    "per_1k_predictions": None if per_1k is None else format_money(per_1k, cur),
                    "records": v["records"],
                }
            )
        return out

    # -- lineage and recovery ----------------------------------------------------------------------
    def attribute_run(self, run_id: str, values: Mapping[str, str]) -> int:
        """Attribute a run's cost records to ``model_version``/``dataset`` (from its lineage) where the run's
        tags did not already; returns the number of records changed."""
        return self.store.write(lambda conn: arepo.attribute_run(conn, run_id, values))

    def store_missing_usage(self, records: Sequence[UsageRecord]) -> int:
        """Price and store the records not stored yet (by id); returns how many were stored."""
        if not records:
            return 0
        with self.store.connect() as conn:
            have = arepo.existing_usage_ids(conn, [r.id for r in records])
        missing = [r for r in records if r.id not in have]
        if missing:
            self.record_usage(missing)
        return len(missing)

    # -- shared cost -------------------------------------------------------------------------------
    def allocate(
        self,
        label: str,
        amount: Decimal | str | int,
        currency: str,
        period: str,
        *,
        by: str = "project",
    ) -> dict[str, Any]:
        """Allocate a shared or idle cost over ``period`` in proportion to each ``by`` group's metered cost
        (largest remainder: the shares add up exactly) and store it; it replaces an allocation with the
        same label, period and grouping. Shown as its own line in cost reports."""
        self.allow("budget.write", None)
        shared = SharedCost.parse(
            {"label": label, "amount": str(amount), "currency": currency, "period": period, "by": by},
            where="allocation",
        )
        shares = self._shares(shared)
        record = {
            "id": new_id(),
            "label": shared.label,
            "period": shared.period,
            "by": shared.by,
            "amount_micros": shared.amount_micros,
            "currency": shared.currency,
            "created_ms": utc_ms(self.clock.now()),
            "created_by": self.user,
        }
        self.store.write(lambda conn: arepo.replace_allocation(conn, record, shares))
        return {**record, "shares": shares, "source": "stored"}

    def _shares(self, shared: SharedCost) -> dict[str, int]:
        costs = self.costs(period=shared.period)
        if shared.amount_micros == 0:
            return {}
        key = ROLLUP_KEYS[shared.by][-1]
        if costs.height and costs[key].null_count() == costs.height:
            raise InvalidInputError(
                f"no {shared.period} cost carries a {key}: nothing to allocate {shared.label!r} against",
                hint="tag runs with it (--tag team=...) or allocate by project",
            )
        return allocate_shared(
            costs.filter(costs[key].is_not_null()), shared.amount_micros, shared.currency, by=shared.by
        )

    def allocations(self, *, period: str | None = None, by: str | None = None) -> list[dict[str, Any]]:
        """Stored allocations and the ``[[finops.shared]]`` ones of the settings (computed now)."""
        self.allow("cost.read", None)
        with self.store.connect() as conn:
            stored = [{**a, "source": "stored"} for a in arepo.list_allocations(conn, period=period, by=by)]
        configured = []
        for s in self.shared:
            if (period is None or s.period == period) and (by is None or s.by == by):
                configured.append(
                    {
                        "label": s.label,
                        "period": s.period,
                        "by": s.by,
                        "amount_micros": s.amount_micros,
                        "currency": s.currency,
                        "shares": self._shares(s),
                        "source": "settings",
                    }
                )
        return stored + configured


__all__ = ["ALLOCATION_GROUPINGS", "Attribution", "SharedCost"]
