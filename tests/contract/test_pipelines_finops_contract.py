"""Pipelines and FinOps through the public SDK, with the same assertions on local SQLite, local PostgreSQL
and a real server: a remote ``run_pipeline`` submits to the server, which meters and prices the steps."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from tests.contract import contract_pipelines as cp

from triops import Workspace
from triops.errors import ConflictError, InvalidInputError, NotFoundError
from triops.finops.budgets import Budget, new_budget


def test_a_pipeline_run_records_steps_dag_and_lineage(platform: Workspace) -> None:
    result = platform.run_pipeline(cp.numbers, {"n": 4}, project="calc")
    assert result.status == "FINISHED" and result.project == "calc"
    assert result.statuses == {"make_numbers": "DONE", "total": "DONE"}
    again = platform.pipelines.run(result.run_id)
    assert again.status == "FINISHED" and [s.step for s in again.steps] == ["make_numbers", "total"]
    assert [s.step for s in platform.pipelines.steps(result.run_id)] == ["make_numbers", "total"]
    dag = platform.pipelines.dag(result.run_id)
    assert dag["edges"] == [["make_numbers", "total"]]
    node = platform.lineage(result.run_id)
    assert node.kind == "run" and node.children
    with pytest.raises(NotFoundError):
        platform.pipelines.run("0000000000000000000000000000000f")


def test_a_failed_run_resumes_from_its_failed_step(platform: Workspace, tmp_path: Path) -> None:
    stop = tmp_path / "stop"
    stop.write_text("stop")
    failed = platform.run_pipeline(cp.numbers, {"n": 3, "stop_file": str(stop)}, project="calc")
    assert failed.status == "FAILED" and failed.statuses["total"] == "FAILED"
    with pytest.raises(ConflictError):
        platform.pipelines.resume(platform.run_pipeline(cp.numbers, {"n": 2}, project="calc").run_id)
    stop.unlink()
    resumed = platform.pipelines.resume(failed.run_id)
    assert resumed.status == "FINISHED" and resumed.resumed_from == failed.run_id
    assert resumed.statuses["make_numbers"] in ("CACHED", "DONE") and resumed.statuses["total"] == "DONE"


def test_metered_costs_report_by_any_grouping(platform: Workspace) -> None:
    platform.run_pipeline(cp.numbers, {"n": 5}, project="calc")
    report = platform.finops.report("project")
    assert isinstance(report, pl.DataFrame)
    assert report.filter(pl.col("project") == "calc")["records"].sum() == 2
    assert set(platform.finops.report("step")["step"].to_list()) == {"make_numbers", "total"}
    costs = platform.finops.costs(project="calc")
    assert costs.height == 2 and costs["cost_micros"].dtype == pl.Int64
    with pytest.raises(InvalidInputError):
        platform.finops.report("colour")


def test_budgets_are_set_listed_and_alert(platform: Workspace) -> None:
    budget = new_budget("project", "calc", "month", "250.50", "EUR", thresholds=[50, 100])
    stored = platform.finops.set_budget(budget)
    assert isinstance(stored, Budget) and stored.amount_micros == 250_500_000
    assert platform.finops.check_alerts(stored) == []
    (status,) = platform.finops.status()
    assert status.budget.name == "calc" and status.spent_micros == 0
    assert [b.name for b in platform.finops.list_budgets()] == ["calc"]
    assert Decimal(stored.to_dict()["amount"]) == Decimal("250.5")


def test_forecast_and_recommendations_answer_on_little_data(platform: Workspace) -> None:
    platform.run_pipeline(cp.numbers, {"n": 3}, project="calc")
    forecast = platform.finops.forecast(project="calc")
    assert (
        forecast.days_observed >= 1
        and forecast.low_micros <= forecast.forecast_micros <= forecast.high_micros
    )
    assert platform.finops.anomalies(project="calc") == []
    assert isinstance(platform.finops.recommend(project="calc"), list)


def test_focus_round_trip_and_a_bad_row_imports_nothing(platform: Workspace, tmp_path: Path) -> None:
    platform.run_pipeline(cp.numbers, {"n": 3}, project="calc")
    out = tmp_path / "focus.csv"
    rows = platform.finops.export_focus(out)
    exported = pl.read_csv(out, infer_schema=False)
    assert rows == exported.height > 0 and "BilledCost" in exported.columns
    bad = tmp_path / "bad.csv"
    exported.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit("lots"))
        .otherwise(pl.col("BilledCost"))
        .alias("BilledCost")
    ).write_csv(bad)
    with pytest.raises(InvalidInputError, match="BilledCost"):
        platform.finops.import_focus(bad)
    assert "imported" not in platform.finops.report("project").get_column("source").to_list()
    import_id, count = platform.finops.import_focus(out)
    assert import_id and count == exported.height
    assert "imported" in platform.finops.report("project").get_column("source").to_list()
