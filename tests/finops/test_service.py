"""FinOps over the store (SQLite and PostgreSQL): recording usage, budgets, alerts, webhooks, hard stops,
overrides, reports, forecasts and FOCUS import in one transaction."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import polars as pl
import pytest
import sqlalchemy as sa
from tests.finops.conftest import NOV_2

from triops.domain.clock import FixedClock, utc_ms
from triops.domain.usage import UsageRecord
from triops.errors import BudgetExceededError, InvalidInputError
from triops.finops.budgets import new_budget
from triops.finops.costs import price_usage
from triops.finops.focus import to_focus, write_focus
from triops.finops.prices import PriceBook
from triops.finops.service import FinOpsService
from triops.store.engine import Store
from triops.store.tables_finops import finops_costs, finops_focus_imports, finops_focus_rows, finops_usage

Make = Callable[..., UsageRecord]
CLOCK = FixedClock(datetime(2026, 11, 2, 18, tzinfo=UTC))


def service(store: Store, book: PriceBook, **kw: object) -> FinOpsService:
    return FinOpsService(store, book, CLOCK, **kw)  # type: ignore[arg-type]


def count(store: Store, table: sa.Table) -> int:
    with store.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_recorded_usage_is_priced_and_reported(store: Store, book: PriceBook, make_usage: Make) -> None:
    svc = service(store, book)
    costs, alerts = svc.record_usage(
        [make_usage(run_id="a"), make_usage(run_id="a", step="eval"), make_usage(run_id="b")]
    )
    assert alerts == []
    assert count(store, finops_usage) == count(store, finops_costs) == 3
    stored = svc.costs(period="2026-11")
    assert stored["cost_micros"].sum() == costs["cost_micros"].sum() == 3 * 39_600
    report = svc.report("run", period="2026-11")
    assert dict(zip(report["run_id"], report["cost_micros"], strict=True)) == {"a": 79_200, "b": 39_600}
    assert svc.report("project", period="2026-10").height == 0
    assert svc.usage(project="churn").height == 3


def test_required_tags_rule_refuses_before_anything_is_stored(
    store: Store, book: PriceBook, make_usage: Make
) -> None:
    svc = service(store, book, required_tags=("cost_centre",))
    with pytest.raises(InvalidInputError, match="cost_centre"):
        svc.record_usage([make_usage()])
    assert count(store, finops_usage) == 0


def test_budget_alerts_at_thresholds_once_and_call_the_webhook(
    store: Store, book: PriceBook, make_usage: Make
) -> None:
    calls: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(json.loads(request.content))
        return httpx.Response(204)

    svc = service(store, book, http=httpx.Client(transport=httpx.MockTransport(handler)))
    svc.set_budget(
        new_budget("project", "churn", "month", "0.1", "USD", webhook_url="https://hooks.test/x", clock=CLOCK)
    )
    _, alerts = svc.record_usage([make_usage()])  # 0.0396 of 0.1 = 39.6 %
    assert alerts == []
    _, alerts = svc.record_usage([make_usage(cpu_s=5000.0)])  # +0.0536 → 93.2 %
    assert [a.threshold_pct for a in alerts] == [50, 80]
    assert all(a.webhook_status == "HTTP 204" for a in alerts)
    assert [c["threshold_pct"] for c in calls] == [50, 80]
    _, alerts = svc.record_usage([make_usage(wall_s=60.0, cpu_s=0.0)])  # still under 100 %
    assert alerts == []
    assert len(svc.alerts()) == 2
    status = svc.status()[0]
    assert status.period_label == "2026-11"
    assert status.pct.startswith("93.")


def test_webhook_failure_is_recorded_not_raised(store: Store, book: PriceBook, make_usage: Make) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    svc = service(store, book, http=httpx.Client(transport=httpx.MockTransport(handler)))
    svc.set_budget(
        new_budget("team", "ml", "month", "0.01", "USD", webhook_url="https://hooks.test/x", clock=CLOCK)
    )
    _, alerts = svc.record_usage([make_usage()])
    assert {a.webhook_status for a in alerts} == {"failed: ConnectError"}


def test_set_budget_replaces_the_same_scope_and_period(store: Store, book: PriceBook) -> None:
    svc = service(store, book)
    first = svc.set_budget(new_budget("project", "churn", "month", "100", "EUR", clock=CLOCK))
    second = svc.set_budget(new_budget("project", "churn", "month", "250", "EUR", clock=CLOCK))
    svc.set_budget(new_budget("project", "churn", "year", "1000", "EUR", clock=CLOCK))
    assert second.id == first.id
    assert second.amount_micros == 250_000_000
    assert [b.period for b in svc.list_budgets()] == ["month", "year"]


def test_hard_stop_refuses_a_run_from_its_own_history(
    store: Store, book: PriceBook, make_usage: Make
) -> None:
    svc = service(store, book)
    svc.record_usage([make_usage(run_id=f"r{i}", pipeline="train") for i in range(5)])  # 5 * 0.0396 USD
    svc.set_budget(new_budget("project", "churn", "month", "0.22", "USD", clock=CLOCK))
    estimate, runs = svc.estimate_run("churn", "train")
    assert (estimate, runs) == (39_600, 5)
    hook = svc.hook()
    with pytest.raises(
        BudgetExceededError,
        match=r"estimate \$0.0396 \(p90 of 5 past runs\) \+ spent \$0.198 would exceed .* budget \$0.22 ",
    ):
        hook.before_run({"project": "churn", "pipeline": "train"})
    hook.before_step({"project": "churn", "step": "fit"})  # 0.198 of 0.22 spent: steps may still start


def test_step_stop_and_recorded_override(store: Store, book: PriceBook, make_usage: Make) -> None:
    svc = service(store, book, user="alice")
    svc.set_budget(new_budget("project", "churn", "month", "0.03", "USD", clock=CLOCK))
    svc.record_usage([make_usage()])
    with pytest.raises(BudgetExceededError, match="stopped"):
        svc.hook().before_step({"project": "churn", "step": "fit"})
    svc.hook(override_reason="hotfix for incident 7").before_step({"project": "churn", "step": "fit"})
    with store.connect() as conn:
        from triops.store.repositories.finops import list_overrides

        overrides = list_overrides(conn)
    assert [(o["stage"], o["reason"], o["user_name"]) for o in overrides] == [
        ("step", "hotfix for incident 7", "alice")
    ]


def test_budget_in_another_currency_needs_a_rate(store: Store, book: PriceBook, make_usage: Make) -> None:
    svc = service(store, book)
    svc.record_usage([make_usage()])
    budget = svc.set_budget(new_budget("project", "churn", "month", "10", "EUR", clock=CLOCK))
    with pytest.raises(InvalidInputError, match="no exchange rate from USD to EUR"):
        svc.spent(budget, CLOCK.now())


def test_forecast_and_recommendations_from_the_store(store: Store, book: PriceBook, make_usage: Make) -> None:
    svc = service(store, book)
    svc.record_usage([make_usage(requested_cpu=8.0, cpu_s=1800.0)])
    fc = svc.forecast()
    assert fc.spent_micros > 0
    assert fc.month == "2026-11"
    assert svc.anomalies() == []
    kinds = {r.kind for r in svc.recommend()}
    assert "over-requested-cpu" in kinds
    # a day earlier: the daily sums (grouped by UTC day in SQL) match the records' own totals per day
    svc.record_usage([make_usage(requested_cpu=8.0, started_ms=NOV_2 - 86_400_000, run_id="r0")])
    frame = svc.costs()
    by_day = frame.group_by(pl.from_epoch("started_ms", time_unit="ms").dt.date()).agg(
        pl.col("cost_micros").sum()
    )
    assert svc.daily_spend() == dict(by_day.iter_rows())
    assert svc.currencies() == ["USD"]
    # recommendations are kept until the cost records change, then read again
    before = {r.kind: r.monthly_saving_micros for r in svc.recommend()}
    svc.record_usage([make_usage(requested_cpu=8.0, cpu_s=1800.0, run_id="r2")])
    after = {r.kind: r.monthly_saving_micros for r in svc.recommend()}
    assert after["over-requested-cpu"] > before["over-requested-cpu"]
    cpu = next(r for r in svc.recommend(project="churn") if r.kind == "over-requested-cpu")
    assert cpu.evidence.startswith("3 step runs in 3 runs")


def test_focus_export_then_import_joins_cloud_bills(
    store: Store, book: PriceBook, make_usage: Make, tmp_path: Path
) -> None:
    svc = service(store, book)
    svc.record_usage([make_usage(), make_usage(project="fraud")])
    out = tmp_path / "costs.parquet"
    assert svc.export_focus(out, period="2026-11") == 4
    import_id, rows = svc.import_focus(out)
    assert rows == 4
    totals = {t["project"]: t["cost_micros"] for t in svc.imported_totals(period="2026-11")}
    assert totals == {"churn": 39_600, "fraud": 39_600}
    with store.connect() as conn:
        assert conn.execute(sa.select(finops_focus_imports.c.rows)).scalar_one() == 4
    assert import_id


def test_bad_focus_import_stores_nothing(
    store: Store, book: PriceBook, make_usage: Make, tmp_path: Path
) -> None:
    svc = service(store, book)
    focus = to_focus(price_usage([make_usage()], book), book)
    missing = write_focus(focus.drop("ListCost", "PricingUnit"), tmp_path / "missing.csv")
    with pytest.raises(InvalidInputError, match="ListCost, PricingUnit"):
        svc.import_focus(missing)
    untagged = write_focus(focus.with_columns(pl.lit("{}").alias("Tags")), tmp_path / "untagged.csv")
    with pytest.raises(InvalidInputError, match="no project tag"):
        svc.import_focus(untagged)
    assert count(store, finops_focus_imports) == 0
    assert count(store, finops_focus_rows) == 0


def test_focus_import_is_one_transaction(
    store: Store, book: PriceBook, make_usage: Make, tmp_path: Path
) -> None:
    svc = service(store, book)
    focus = to_focus(price_usage([make_usage()], book), book)
    # a project name longer than the column allows fails on insert, after the import row was written
    bad = focus.with_columns(pl.lit(json.dumps({"project": "p" * 300})).alias("Tags"))
    path = write_focus(pl.concat([focus, bad]), tmp_path / "bill.parquet")
    if store.dialect == "sqlite":
        pytest.skip("SQLite does not enforce VARCHAR lengths")
    with pytest.raises(sa.exc.DBAPIError):
        svc.import_focus(path)
    assert count(store, finops_focus_imports) == 0
    assert count(store, finops_focus_rows) == 0


def test_usage_at_the_start_of_the_month_counts_in_that_month(
    store: Store, book: PriceBook, make_usage: Make
) -> None:
    svc = service(store, book)
    start = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp() * 1000)
    svc.record_usage([make_usage(started_ms=start), make_usage(started_ms=start - 1)])
    assert svc.costs(period="2026-11").height == 1
    assert start < NOV_2


def test_unused_artifacts_are_recommended_from_the_store(store: Store, book: PriceBook) -> None:
    from triops.store.tables import artifacts

    old = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)
    with store.begin() as conn:
        conn.execute(
            artifacts.insert(),
            [
                {
                    "sha256": "a" * 64,
                    "size": 50 << 30,
                    "media_type": "application/octet-stream",
                    "created_ms": old,
                },
                {
                    "sha256": "b" * 64,
                    "size": 1 << 30,
                    "media_type": "text/csv",
                    "created_ms": utc_ms(CLOCK.now()),
                },
            ],
        )
    recs = service(store, book).recommend(storage_environment="lab")
    assert [(r.kind, r.target, r.monthly_saving_micros) for r in recs] == [
        ("unused-artifact", "a" * 64, 1_000_000)
    ]


def test_project_report_shows_imported_bills_beside_metered_costs(
    store: Store, book: PriceBook, make_usage: Make, tmp_path: Path
) -> None:
    svc = service(store, book)
    svc.record_usage([make_usage()])
    out = tmp_path / "bill.csv"
    write_focus(to_focus(price_usage([make_usage(project="churn")], book), book), out)
    svc.import_focus(out)
    report = svc.report("project", period="2026-11")
    assert sorted(zip(report["source"], report["cost_micros"], strict=True)) == [
        ("imported", 39_600),
        ("metered", 39_600),
    ]
    assert set(svc.report("run")["source"].to_list()) == {
        "metered"
    }  # every grouping says where it comes from
