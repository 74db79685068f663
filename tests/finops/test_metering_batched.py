"""Metering at the cost of a dict append: the FinOps hook keeps records in memory and a journal, writes them
in batches, stops a run from a running total, and loses nothing when the process is killed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from tests.finops.pipelines_crash import fine

from triops import Workspace
from triops.domain.clock import utc_ms
from triops.errors import BudgetExceededError, InvalidInputError
from triops.finops.budgets import new_budget
from triops.finops.metering import FinOpsHook
from triops.finops.prices import load_price_book
from triops.finops.service import FinOpsService
from triops.governance.rbac import Principal
from triops.mlops.pipelines.hooks import StepUsage
from triops.settings import Settings
from triops.store.engine import Store

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def ws(store_url: str, tmp_path: Path) -> Iterator[Workspace]:
    workspace = Workspace.open(
        store_url, artifact_root=tmp_path / "artifacts", settings=Settings(home=tmp_path)
    )
    yield workspace.acting_as(Principal.owner("tester"))  # PostgreSQL grants nothing by default
    workspace.close()


def _ctx(run_id: str, step: str = "s") -> SimpleNamespace:
    return SimpleNamespace(
        run_id=run_id,
        project="p",
        pipeline="train",
        step=step,
        step_run_id=None,
        resources={},
        cache_key=None,
    )


def _result(now_ms: int, cpu_s: float = 36.0) -> SimpleNamespace:
    return SimpleNamespace(
        usage=StepUsage(wall_s=cpu_s, cpu_s=cpu_s), started_ms=now_ms, ended_ms=now_ms + 1, cached=False
    )


def test_steps_are_kept_in_memory_and_the_journal_until_the_batch_is_written(
    sqlite_store: Store, tmp_path: Path
) -> None:
    svc = FinOpsService(sqlite_store, load_price_book())
    hook = FinOpsHook(svc, journal_dir=tmp_path / "journal", batch_size=100, flush_interval_s=3600)
    now = utc_ms(svc.clock.now())
    hook.before_run(_ctx("run-1"))
    for i in range(3):
        hook.after_step(_ctx("run-1", f"s{i}"), _result(now))
    assert svc.costs(run_id="run-1").height == 0  # nothing written on the step path
    [journal] = list((tmp_path / "journal").iterdir())
    assert len(journal.read_bytes().splitlines()) == 3
    hook.after_run(_ctx("run-1"), None)
    assert svc.costs(run_id="run-1").height == 3  # one batch at the end of the run
    assert list((tmp_path / "journal").iterdir()) == []


def test_the_in_flight_hard_stop_uses_the_running_total_without_writing(sqlite_store: Store) -> None:
    svc = FinOpsService(sqlite_store, load_price_book())
    svc.set_budget(new_budget("project", "p", "month", "0.01", "EUR", clock=svc.clock))
    hook = FinOpsHook(svc, batch_size=1000, flush_interval_s=3600)
    now = utc_ms(svc.clock.now())
    hook.before_run(_ctx("run-2"))
    hook.before_step(_ctx("run-2", "a"))
    hook.after_step(_ctx("run-2", "a"), _result(now, cpu_s=3600.0))  # one core-hour: more than €0.01
    assert svc.costs(run_id="run-2").height == 0
    with pytest.raises(BudgetExceededError, match=r"step 'b' of project 'p' stopped: €0\.\d+ spent"):
        hook.before_step(_ctx("run-2", "b"))
    hook.on_failure(_ctx("run-2", "b"), SimpleNamespace(started_ms=0))
    assert svc.costs(run_id="run-2").height == 1  # written on failure


def test_run_tags_reach_every_cost_record_and_team_budgets_stop_runs(ws: Workspace) -> None:
    tags = {"team": "fraud", "cost_centre": "cc-7", "model_version": "churn/1", "dataset": "claims/2"}
    done = ws.run_pipeline(fine, {"n": 2}, project="tagged", tags=tags)
    assert done.status == "FINISHED"
    costs = ws.finops.costs(run_id=done.run_id)
    assert costs.height == 2
    for column, value in tags.items():
        assert costs[column].to_list() == [value, value]
    by_team = ws.finops.report("team")
    assert by_team["team"].to_list() == ["fraud"]
    # a team budget sees the spend: spent in full, the next run of that team is refused
    spent = int(costs["cost_micros"].sum()) + 1
    ws.finops.record_serving_usage(
        "churn/1", project="tagged", predictions=10, cpu_s=3600.0, tags={"team": "fraud"}
    )
    ws.finops.set_budget(new_budget("team", "fraud", "month", str(spent / 1e6), "EUR", clock=ws.clock))
    refused = ws.run_pipeline(fine, {"n": 3}, project="other", tags={"team": "fraud"}, use_cache=False)
    assert refused.status == "FAILED"
    assert "team 'fraud'" in (refused.error or "")


def test_required_tags_are_enforced_before_the_run_starts(store_url: str, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, finops_required_tags=["team", "cost_centre"])
    ws = Workspace.open(store_url, artifact_root=tmp_path / "a", settings=settings)
    try:
        result = ws.run_pipeline(fine, {"n": 1}, project="p", tags={"team": "ml"})
        assert result.status == "FAILED"
        assert "run lacks required tags: cost_centre" in (result.error or "")
        assert all(s == "SKIPPED" for s in result.statuses.values())
        ok = ws.run_pipeline(fine, {"n": 1}, project="p", tags={"team": "ml", "cost_centre": "c1"})
        assert ok.status == "FINISHED"
    finally:
        ws.close()


def test_required_tags_setting_is_read_from_the_finops_section(tmp_path: Path) -> None:
    config = tmp_path / "triops.toml"
    config.write_text('[finops]\nrequired_tags = ["team"]\n', encoding="utf-8")
    assert Settings.load(config).finops_required_tags == ["team"]
    config.write_text('[finops]\nrequired = ["team"]\n', encoding="utf-8")
    with pytest.raises(Exception, match="unknown key 'required'"):
        Settings.load(config)


def test_a_killed_run_loses_at_most_the_running_step(sqlite_store_url: str, tmp_path: Path) -> None:
    script = (
        "from triops import Workspace\n"
        "from triops.settings import Settings\n"
        "from pipelines_crash import crashes\n"
        f"ws = Workspace.open({sqlite_store_url!r}, artifact_root={str(tmp_path / 'a')!r},"
        f" settings=Settings(home={str(tmp_path)!r}))\n"
        "ws.run_pipeline(crashes, {'n': 1}, project='crash')\n"
    )
    code = tmp_path / "code"
    code.mkdir()
    (code / "pipelines_crash.py").write_text((REPO / "tests/finops/pipelines_crash.py").read_text())
    env = {**os.environ, "PYTHONPATH": str(code)}
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, timeout=300, check=False)
    assert proc.returncode == -9  # SIGKILL inside the third step
    journal = list((tmp_path / "finops-journal").glob("*.jsonl"))
    assert len(journal) == 1
    ws = Workspace.open(sqlite_store_url, artifact_root=tmp_path / "a", settings=Settings(home=tmp_path))
    try:
        ws.pipeline_hooks()  # recovers what the dead process journaled
        steps = sorted(ws.finops.costs(project="crash")["step"].to_list())
        assert steps == ["first", "second"]
        assert list((tmp_path / "finops-journal").glob("*")) == []
        ws.pipeline_hooks()  # a second recovery finds nothing and doubles nothing
        assert ws.finops.costs(project="crash").height == 2
    finally:
        ws.close()


def test_serving_usage_gives_cost_per_model_version_and_per_1000_predictions(ws: Workspace) -> None:
    for _ in range(2):
        ws.finops.record_serving_usage("churn/3", project="serve", predictions=5_000, cpu_s=360.0)
    [row] = ws.finops.model_costs(project="serve")
    assert row["model_version"] == "churn/3"
    assert row["predictions"] == 10_000
    assert row["per_1k_predictions_micros"] == round(row["cost_micros"] * 1000 / 10_000)
    assert row["per_1k_predictions"].startswith("€")
    with pytest.raises(InvalidInputError, match="predictions is -1"):
        ws.finops.record_serving_usage("churn/3", project="serve", predictions=-1)


def test_a_training_run_is_attributed_to_the_model_version_it_produced(ws: Workspace) -> None:
    from sklearn.linear_model import LogisticRegression

    done = ws.run_pipeline(fine, {"n": 4}, project="lineage")
    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    version = ws.models.register("churn", model, run_id=done.run_id, git_commit=None, onnx=False)
    costs = ws.finops.costs(run_id=done.run_id)
    assert set(costs["model_version"].to_list()) == {f"churn/{version.version}"}
    assert ws.finops.report("model")["model_version"].to_list() == [f"churn/{version.version}"]


def test_an_alert_is_in_the_audit_log(ws: Workspace) -> None:
    from triops.store.audit import iter_events

    ws.finops.record_serving_usage("m/1", project="alerted", predictions=1, cpu_s=3600.0)
    ws.finops.set_budget(new_budget("project", "alerted", "month", "0.000001", "EUR", clock=ws.clock))
    fired = ws.finops.check_alerts(ws.finops.budgets_for("alerted", None)[0])
    assert [a.threshold_pct for a in fired] == [50, 80, 100]
    with ws.store.connect() as conn:
        events = [e for e in iter_events(conn) if e.action == "budget.alert"]
    assert len(events) == 3
