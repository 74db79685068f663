"""The pillars wired together through the Workspace: hooks on every pipeline run, the registry's governance
guard, audited budgets and overrides, datasets, the scorecard, and artifacts on an fsspec root."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression
from tests.mlops.pipelines.pipelines_example import numbers

from triops import Workspace
from triops.domain.ids import new_id
from triops.domain.records import Run
from triops.domain.usage import UsageRecord
from triops.errors import GateBlockedError
from triops.finops.budgets import new_budget
from triops.governance import gates
from triops.governance.rbac import Principal
from triops.settings import Settings
from triops.store.audit import iter_events
from triops.store.repositories import runs as runs_repo


@pytest.fixture
def ws(store_url: str, tmp_path: Path) -> Iterator[Workspace]:
    workspace = Workspace.open(
        store_url, artifact_root=tmp_path / "artifacts", settings=Settings(home=tmp_path)
    )
    yield workspace
    workspace.close()


def _actions(ws: Workspace) -> list[str]:
    with ws.store.connect() as conn:
        return [e.action for e in iter_events(conn)]


def test_every_pipeline_run_is_metered_and_priced_and_the_cached_rerun_costs_nothing(ws: Workspace) -> None:
    first = ws.run_pipeline(numbers, {"n": 50}, project="wired")
    second = ws.run_pipeline(numbers, {"n": 50}, project="wired")
    assert first.status == second.status == "FINISHED"
    assert set(second.statuses.values()) == {"CACHED"}
    costs = ws.finops.costs(project="wired")
    assert set(costs["run_id"].to_list()) == {first.run_id, second.run_id}
    by_run = {
        r: costs.filter(pl.col("run_id") == r)["cost_micros"].sum() for r in (first.run_id, second.run_id)
    }
    assert by_run[second.run_id] == 0
    assert by_run[first.run_id] >= 0


def test_setting_a_budget_is_audited_in_the_same_write(ws: Workspace) -> None:
    ws.finops.set_budget(new_budget("project", "wired", "month", Decimal("10"), "EUR", clock=ws.clock))
    assert "budget.set" in _actions(ws)


def test_a_budget_override_needs_a_finops_approval(ws: Workspace) -> None:
    ws.finops.set_budget(new_budget("project", "wired", "month", Decimal("0.01"), "EUR", clock=ws.clock))
    first = ws.run_pipeline(numbers, {"n": 3}, project="wired")
    now_ms = int(ws.clock.now().timestamp() * 1000)
    ten_hours = UsageRecord(
        id=new_id(),
        run_id=first.run_id,
        step_run_id=None,
        project="wired",
        pipeline="numbers",
        step="total",
        started_ms=now_ms - 36_000_000,
        ended_ms=now_ms,
        wall_s=36_000.0,
        cpu_s=36_000.0,
        peak_rss_bytes=2**30,
        bytes_read=0,
        bytes_written=0,
        gpu_s=0.0,
        gpu_model=None,
        requested_cpu=4.0,
        requested_memory_gb=8.0,
        environment="local",
    )
    ws.finops.record_usage([ten_hours])  # the budget is now spent
    refused = ws.run_pipeline(numbers, {"n": 4}, project="wired")
    assert refused.status == "FAILED" and "budget" in (refused.error or "")
    with pytest.raises(GateBlockedError, match="finops"):
        ws.run_pipeline(numbers, {"n": 4}, project="wired", override_reason="quarter-end retraining")


def test_moving_a_model_to_production_passes_its_policy_gate(ws: Workspace) -> None:
    x = pl.DataFrame({"a": [0.0, 1.0, 2.0, 3.0] * 10, "b": [1.0, 0.0, 1.0, 0.0] * 10})
    y = [0, 1, 0, 1] * 10
    version = ws.models.register("gated", LogisticRegression().fit(x.to_numpy(), y), training_frame=x)
    policy = """
name: card-before-production
gate: model.stage
when: change.to_stage == "production"
rules:
  - name: card-complete
    expr: card_completeness >= 0.5
    reason: a model card is at least half complete
"""
    gates.add_policies(ws.store, Principal.owner(ws.settings.acting_user), policy, source="test")
    ws.models.transition(version.ref, "staging")
    with pytest.raises(GateBlockedError, match="card"):
        ws.models.transition(version.ref, "production")
    assert ws.models.get(version.ref).stage == "staging"


def test_datasets_register_get_and_diff(ws: Workspace) -> None:
    v1 = ws.datasets.register("people", pl.DataFrame({"age": [30, 40, 50]}), project="wired")
    v2 = ws.datasets.register(
        "people", pl.DataFrame({"age": [30, 40, 50, 60], "x": [1, 2, 3, 4]}), project="wired"
    )
    assert (v1.version.version, v2.version.version) == (1, 2)
    assert ws.datasets.get("people", project="wired").version == 2
    diff = ws.datasets.diff("people", 1, 2, project="wired")
    assert diff.added == ("x",) and diff.row_delta == 1


def test_scorecard_reads_the_three_pillars(ws: Workspace) -> None:
    from triops.dataops.demo import benefits_contract, load_benefits

    ws.datasets.register("benefits", load_benefits(), contract=benefits_contract(), project="wired")
    with ws.start_run("wired") as run:
        run.log_metric("auc", 0.7)
    ws.run_pipeline(numbers, {"n": 20}, project="wired")
    card = {k.name: k for k in ws.scorecard().kpis}
    assert card["data quality score"].value is not None
    assert card["model auc"].value == pytest.approx(0.7)
    assert card["metered cost"].value is not None


def test_artifacts_on_an_fsspec_root(store_url: str, tmp_path: Path) -> None:
    with Workspace.open(
        store_url, artifact_root="memory://triops-test", settings=Settings(home=tmp_path)
    ) as ws:
        with ws.start_run("fs") as run:
            stored = run.log_artifact(b"remote blob", name="blob.bin")
        assert ws.artifacts.get_bytes(stored.sha256) == b"remote blob"
        assert ws.artifacts.local_path(stored.sha256) is None


def test_reading_datasets_of_an_unknown_project_creates_nothing(ws: Workspace) -> None:
    from triops.errors import NotFoundError
    from triops.store.repositories.runs import project_names

    with pytest.raises(NotFoundError, match="no datasets"):
        ws.datasets.get("people", project="nowhere")
    with ws.store.connect() as conn:
        assert "nowhere" not in project_names(conn)


@pytest.fixture
def lineage_ws(store_url: str, tmp_path: Path) -> Iterator[Workspace]:
    settings = Settings(home=tmp_path, openlineage_file=tmp_path / "lineage.jsonl")
    workspace = Workspace.open(store_url, artifact_root=tmp_path / "artifacts", settings=settings)
    yield workspace
    workspace.close()


def _gated_run(ws: Workspace, corrupt: bool) -> Run:
    from tests.dataops.test_pipeline_gate import benefits

    result = ws.run_pipeline(benefits, {"corrupt": corrupt}, project="gated")
    assert result.status == ("FAILED" if corrupt else "FINISHED"), result.error
    with ws.store.connect() as conn:
        return runs_repo.get_run(conn, result.run_id)


def test_a_gate_verdict_is_kept_on_the_run_with_its_report_and_audited(lineage_ws: Workspace) -> None:
    ws = lineage_ws
    clean = _gated_run(ws, corrupt=False)
    assert clean.tags["triops.gate.train"].startswith("passed")
    stopped = _gated_run(ws, corrupt=True)
    assert stopped.tags["triops.gate.train"] == "failed: 4 errors, 1 warning"
    (report_ref,) = [a for a in stopped.artifacts if a.name == "dataops/gate-train.json"]
    report = json.loads(ws.artifacts.get_bytes(report_ref.sha256))
    assert report["passed"] is False
    age = next(r for r in report["reports"]["raw"]["results"] if r["rule"] == "age.range")
    assert age["failing_rows"] > 0 and age["samples"]
    with ws.store.connect() as conn:
        gate_events = [e for e in iter_events(conn) if e.action.startswith("dataops.gate.")]
    assert [(e.action, e.object_id, e.project) for e in gate_events] == [
        ("dataops.gate.passed", clean.id, "gated"),
        ("dataops.gate.failed", stopped.id, "gated"),
    ]


def test_pipeline_runs_emit_valid_lineage_with_columns_and_quality(lineage_ws: Workspace) -> None:
    from triops.dataops.openlineage_spec import validate_lines

    _gated_run(lineage_ws, corrupt=True)
    target = lineage_ws.settings.openlineage_file
    assert target is not None and validate_lines(target) == []
    events = [json.loads(line) for line in target.read_text().splitlines()]
    assert [(e["job"]["name"], e["eventType"]) for e in events][-3:] == [
        ("benefits.train", "START"),
        ("benefits.train", "FAIL"),
        ("benefits", "FAIL"),
    ]
    checked = events[-2]["inputs"][0]
    assert [f["name"] for f in checked["facets"]["schema"]["fields"]][:3] == [
        "rownames",
        "stateur",
        "statemb",
    ]
    assert "dataQualityAssertions" in checked["inputFacets"]
