"""The feedback loop's blocked path (SQLite and PostgreSQL): an alert retrains the model, the new version waits
at the promotion gate for an approver; the requester cannot approve; once a second person approves, the alias
moves and serving switches to the new version while requests keep running, none failing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.mlops.serving.helpers import CONTRACT, claimants

from triops import Workspace
from triops.errors import ConflictError, GateBlockedError, PermissionDeniedError
from triops.governance.rbac import Principal
from triops.settings import Settings

WINDOW = 300
POLICIES = """\
alerts:
  - name: drifted
    expr: drift.psi.max > 0.2
    on_breach: retrain
"""
GATE = """\
name: champion-needs-approver
gate: model.alias.champion
rules:
  - name: evaluated
    expr: approvals >= 0
    reason: the approval is what this policy asks
approvals: {role: approver, count: 1, expires_in_days: 7}
"""


@pytest.fixture
def ws(store_url: str, tmp_path: Path) -> Iterator[Workspace]:
    settings = Settings(home=tmp_path, serving_poll_interval_s=0.05)
    root = Workspace.open(store_url, artifact_root=tmp_path / "a", settings=settings)
    owner = root.acting_as(Principal.owner("olivia"))
    yield owner
    owner.serving.close()
    root.close()


class Traffic:
    """Single-row requests to ``claims@champion`` from a thread until stopped: versions seen, errors."""

    def __init__(self, ws: Workspace) -> None:
        self.versions: list[int] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        row = claimants(1, seed=9)[["age", "tenure"]]

        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.versions.append(ws.serving.predict("claims@champion", row).version)
                except Exception as exc:  # every failure is a finding, whatever its type
                    self.errors.append(repr(exc))
                time.sleep(0.005)

        self.thread = threading.Thread(target=loop, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=60)


def _alert_awaiting_approval(ws: Workspace) -> dict[str, Any]:
    from tests.workspace.feedback_pipeline import FEATURES, retrain_claims

    from triops.mlops.pipelines.materializers import load

    data = claimants()
    dataset = ws.datasets.register("claimants", data, contract=CONTRACT)
    first = ws.run_pipeline(retrain_claims, {"dataset_version": 1}).raise_for_status()
    model = load(first.outputs["train/output"], ws.artifacts)
    ws.models.register(
        "claims", model, training_frame=data[FEATURES], run_id=first.run_id, datasets=[dataset.version.id]
    )
    ws.models.set_alias("claims", "champion", 1)
    ws.governance.add_policies(GATE)
    ws.monitoring.create("claims@champion", window=str(WINDOW), policies=POLICIES)
    normal = claimants(WINDOW, seed=1)
    shifted = claimants(WINDOW, seed=2)[["age", "tenure"]]
    shifted["age"] += 25
    shifted["tenure"] *= 2.5
    calm = ws.serving.predict("claims@champion", normal[["age", "tenure"]])
    time.sleep(0.005)
    ws.serving.predict("claims@champion", shifted)
    ws.monitoring.log_labels([f"{calm.request_id}/{i}" for i in range(WINDOW)], normal["ui"].tolist())
    [alert] = ws.monitoring.run("claims@champion")["alerts"]
    return alert


def test_a_retrained_version_waits_for_a_second_person_then_serving_switches(ws: Workspace) -> None:
    alert = _alert_awaiting_approval(ws)
    action = alert["action"]
    assert action["status"] == "awaiting_approval", action
    assert action["new_version"] == "claims/2" and "approval" in action["gate"]
    assert ws.models.get("claims@champion").version == 1
    [request] = [r for r in ws.governance.approval_requests() if r["id"] == action["approval_request"]]
    assert request["requested_by"] == "olivia" and request["subject_id"] == "claims/2"
    assert request["change"] == {"alias": "champion", "from": "claims/1", "to": "claims/2"}
    with pytest.raises(GateBlockedError):
        ws.monitoring.promote(alert["id"])  # nobody approved yet
    with pytest.raises(PermissionDeniedError, match="separation of duties"):
        ws.governance.approve(action["approval_request"], "my own retraining")
    ava = ws.acting_as(Principal.from_bindings("ava", [(None, "approver")]))
    ava.governance.approve(action["approval_request"], "drift explained; comparison checked")

    traffic = Traffic(ws)
    try:
        deadline = time.monotonic() + 120
        while not traffic.versions and time.monotonic() < deadline:
            time.sleep(0.01)
        done = ws.monitoring.promote(alert["id"])
        while (not traffic.versions or traffic.versions[-1] != 2) and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        traffic.stop()
    assert traffic.errors == []
    assert traffic.versions[0] == 1 and traffic.versions[-1] == 2
    switched = traffic.versions.index(2)
    assert set(traffic.versions[switched:]) == {2}  # once switched, never back
    assert done["status"] == "promoted" and done["promoted_by"] == "olivia"
    assert ws.models.get("claims@champion").version == 2
    whos = [(s["who"], s["what"].split(" ")[0]) for s in done["steps"]]
    assert ("ava", "approved:") in whos and whos[-1] == ("olivia", "gate")
    priced = ws.finops.costs(run_id=done["run_id"])
    assert priced.height >= 2  # the retraining run was metered and priced; its step carries that cost
    [retraining] = [s for s in done["steps"] if s["what"].startswith("retraining run")]
    assert retraining["cost_micros"] == priced.get_column("cost_micros").sum()
    assert ws.monitoring.alerts("claims")[0]["action"]["status"] == "promoted"
    with pytest.raises(ConflictError, match="awaiting approval"):
        ws.monitoring.promote(alert["id"])
    from triops.workspace.evidence import collect_evidence

    evidence = collect_evidence(ws.store)  # what `triops assess maturity` reads
    assert evidence.predictions_logged >= 2 * WINDOW and evidence.monitor_windows >= 2
    assert evidence.monitor_windows_labelled >= 1 and evidence.monitors_with_alert_policies == 1
    assert evidence.monitor_alerts == 1 and evidence.feedback_promotions == 1
    assert evidence.pipeline_runs_triggered == 1  # the retraining run the alert started
