"""Model gates read real records: the quality and contract status of the version's training data, its
evaluation intervals and fairness gaps (with their interval upper ends), and its serving cost per 1,000
predictions from FinOps; each rule on them passes and fails, and one on a fact not yet known fails closed
naming it. A policy stored for one project applies to that project's models only; a workspace-wide one to
all."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sklearn.linear_model import LogisticRegression
from tests.mlops.serving.helpers import CONTRACT, FEATURES, FEW_ROWS, claimants

from triops import Workspace
from triops.domain.clock import utc_ms
from triops.domain.ids import new_id
from triops.domain.usage import UsageRecord
from triops.errors import GateBlockedError
from triops.governance.rbac import Principal
from triops.mlops.registry.records import ModelVersion
from triops.settings import Settings

ONLY_ALPHA = """\
name: alpha-needs-evaluation
gate: model.stage
rules:
  - {name: evaluated, expr: metrics.roc_auc >= 0.5, reason: an evaluated ROC AUC of 0.5 or more}
"""
EVERYWHERE = """\
name: everywhere-needs-checked-data
gate: model.stage
when: change.to_stage == "production"
rules:
  - {name: contract, expr: contract_status == "passed"}
"""
DATA = """\
name: checked-training-data
gate: model.stage
rules:
  - {name: quality, expr: data_quality_score >= 0.95}
  - {name: contract, expr: contract_status == "passed"}
"""
STRICT = """\
name: strict-evaluation
gate: model.stage
when: change.to_stage == "production"
rules:
  - {name: auc-low, expr: intervals.roc_auc.low >= 0.999}
  - {name: gap-upper, expr: fairness.max_gap_upper <= 0.0001}
"""
LENIENT = """\
name: lenient-evaluation
gate: model.stage
when: change.to_stage == "production"
rules:
  - {name: auc-low, expr: intervals.roc_auc.low >= 0.6 && intervals.roc_auc.high <= 1.0}
  - {name: gap-upper, expr: fairness.max_gap_upper <= 0.9 && fairness.max_gap <= fairness.max_gap_upper}
"""
COST = """\
name: serving-cost
gate: model.stage
rules:
  - {name: cheap, expr: cost_per_1k_predictions <= %s && currency == "EUR"}
"""


@pytest.fixture
def ws(sqlite_store_url: str, tmp_path: Path) -> Iterator[Workspace]:
    root = Workspace.open(sqlite_store_url, artifact_root=tmp_path / "a", settings=Settings(home=tmp_path))
    yield root.acting_as(Principal.owner("olivia"))
    root.close()


def _model(
    ws: Workspace, name: str, *, datasets: Sequence[str] = (), project: str | None = None
) -> ModelVersion:
    data = claimants(200)
    model = LogisticRegression(max_iter=300).fit(data[FEATURES], data.ui)
    return ws.models.register(
        name, model, training_frame=data[FEATURES], datasets=list(datasets), onnx=False, project=project
    )


def _failed(error: pytest.ExceptionInfo[GateBlockedError]) -> dict[str, str]:
    return {r["rule"]: r["reason"] for r in error.value.detail["rules"] if not r["passed"]}


def test_a_policy_applies_in_its_project_and_a_workspace_wide_one_everywhere(
    store_url: str, tmp_path: Path
) -> None:
    root = Workspace.open(store_url, artifact_root=tmp_path / "a", settings=Settings(home=tmp_path))
    ws = root.acting_as(Principal.owner("olivia"))
    try:
        for name, project in (("alpha-model", "alpha"), ("beta-model", "beta"), ("shared-model", None)):
            _model(ws, name, project=project)
        ws.governance.add_policies(ONLY_ALPHA, project="alpha")
        with pytest.raises(GateBlockedError, match="alpha-needs-evaluation/evaluated") as blocked:
            ws.models.transition("alpha-model/1", "staging")
        assert "fact metrics.roc_auc is not known" in _failed(blocked)["evaluated"]
        # beta's model and the workspace-wide model never see alpha's policy
        assert ws.models.transition("beta-model/1", "staging").stage == "staging"
        assert ws.models.transition("shared-model/1", "staging").stage == "staging"

        ws.governance.add_policies(EVERYWHERE)
        for ref in ("beta-model/1", "shared-model/1"):
            with pytest.raises(GateBlockedError, match="everywhere-needs-checked-data/contract"):
                ws.models.transition(ref, "production")
        with pytest.raises(GateBlockedError) as both:
            ws.models.transition("alpha-model/1", "staging")
        assert both.value.detail["policies"] == ["alpha-needs-evaluation"]  # the other applies to production
    finally:
        root.close()


def test_training_data_quality_and_contract_status(ws: Workspace) -> None:
    data = claimants(200)
    good = ws.datasets.register("claimants", data, contract=CONTRACT).version
    bad = ws.datasets.register("claimants-few", data, contract=FEW_ROWS).version
    assert good.passed and not bad.passed and bad.score is not None and bad.score < 95
    _model(ws, "good", datasets=[good.id])
    _model(ws, "bad", datasets=[bad.id])
    _model(ws, "mixed", datasets=[good.id, bad.id])
    _model(ws, "untracked")
    ws.governance.add_policies(DATA)

    assert ws.models.transition("good/1", "staging").stage == "staging"
    for name in ("bad", "mixed"):
        with pytest.raises(GateBlockedError) as blocked:
            ws.models.transition(f"{name}/1", "staging")
        assert set(_failed(blocked)) == {"quality", "contract"}
        facts = blocked.value.detail["facts"]
        assert facts["contract_status"] == "failed"
        assert facts["data_quality_score"] == pytest.approx(bad.score / 100)
    with pytest.raises(GateBlockedError) as unknown:
        ws.models.transition("untracked/1", "staging")
    reasons = _failed(unknown)
    assert "fact data_quality_score is not known" in reasons["quality"]
    assert "fact contract_status is not known" in reasons["contract"]


def test_evaluation_intervals_and_fairness_gaps(ws: Workspace) -> None:
    version = _model(ws, "claims")
    data = claimants(200)
    ws.evaluate(
        version.ref, data.assign(group=["a", "b"] * 100), target="ui", sensitive=["group"], resamples=30
    )
    stored = ws.models.evaluations(version.ref)[-1]["result"]
    ws.models.transition(version.ref, "staging")
    ws.governance.add_policies(STRICT)
    with pytest.raises(GateBlockedError) as blocked:
        ws.models.transition(version.ref, "production")
    assert set(_failed(blocked)) == {"auc-low", "gap-upper"}
    facts = blocked.value.detail["facts"]
    assert facts["intervals"]["roc_auc"] == {
        "low": stored["metrics"]["roc_auc"]["low"],
        "high": stored["metrics"]["roc_auc"]["high"],
    }
    highs = [
        report["intervals"][gap]["high"]
        for report in stored["fairness"].values()
        for gap in ("demographic_parity_difference", "equalized_odds_difference")
    ]
    assert facts["fairness"]["max_gap_upper"] == pytest.approx(max(highs))
    ws.governance.remove_policy("strict-evaluation")
    ws.governance.add_policies(LENIENT)
    assert ws.models.transition(version.ref, "production").stage == "production"


def test_cost_per_1000_predictions_comes_from_the_serving_costs(ws: Workspace) -> None:
    version = _model(ws, "claims")
    ws.governance.add_policies(COST % "1000.0")
    with pytest.raises(GateBlockedError) as unknown:
        ws.models.transition(version.ref, "staging")  # nothing served yet: the cost is not known
    assert "(fact cost_per_1k_predictions, currency are not known (null))" in _failed(unknown)["cheap"]

    now = utc_ms(ws.clock.now())
    usage = UsageRecord(
        id=new_id(),
        run_id=new_id(),  # a serving session's run
        step_run_id=None,
        project="default",
        pipeline="serving",
        step=f"predict {version.ref}",
        started_ms=now - 3_600_000,
        ended_ms=now,
        wall_s=3600.0,
        cpu_s=3600.0,
        peak_rss_bytes=2**30,
        bytes_read=0,
        bytes_written=0,
        gpu_s=0.0,
        gpu_model=None,
        requested_cpu=1.0,
        requested_memory_gb=1.0,
        environment="local",
        tags={"model_version": version.ref},
        predictions=4000,
    )
    ws.finops.record_usage([usage])
    (row,) = ws.serving.costs("claims")
    per_1k = row["cost_per_1000_micros"] / 1_000_000
    assert per_1k > 0
    assert ws.models.transition(version.ref, "staging").stage == "staging"

    ws.governance.add_policies(COST % repr(per_1k / 2))  # replaces the policy of the same name
    with pytest.raises(GateBlockedError, match="serving-cost/cheap: not met") as dear:
        ws.models.transition(version.ref, "production")
    assert dear.value.detail["facts"]["cost_per_1k_predictions"] == pytest.approx(per_1k, rel=1e-5)
