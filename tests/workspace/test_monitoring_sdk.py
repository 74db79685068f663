"""``ws.monitoring`` on SQLite and PostgreSQL: drift per window against the training dataset, delayed labels,
performance per window, alert policies (stored, audited, POSTed to a real local webhook), permissions."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tests.mlops.serving.helpers import claimants, register_served

from triops import Workspace
from triops.errors import InvalidInputError, NotFoundError, PermissionDeniedError, PolicyError
from triops.governance.rbac import Principal
from triops.settings import Settings

WINDOW = 300


class Receiver:
    """A real HTTP server on a loopback port that keeps every JSON body POSTed to it."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.received = received
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def ws(store_url: str, tmp_path: Path) -> Iterator[Workspace]:
    root = Workspace.open(store_url, artifact_root=tmp_path / "a", settings=Settings(home=tmp_path))
    owner = root.acting_as(Principal.owner("olivia"))
    yield owner
    owner.serving.close()
    root.close()


def _policies(url: str) -> str:
    return f"""\
alerts:
  - name: drifted-or-degraded
    expr: drift.psi.max > 0.2 || performance.roc_auc.upper < 0.6
    severity: critical
    webhook: {url}
"""


def _traffic(
    ws: Workspace, columns: tuple[str, ...] = ("age", "tenure", "income")
) -> tuple[list[str], list[str]]:
    """One window like the training data, then one with ages and tenure moved: prediction ids of each."""
    normal = claimants(WINDOW, seed=1)[list(columns)]
    shifted = claimants(WINDOW, seed=2)[list(columns)]
    shifted["age"] = shifted["age"] + 25
    shifted["tenure"] = shifted["tenure"] * 2.5
    first = ws.serving.predict("claims@champion", normal)
    time.sleep(
        0.005
    )  # two requests in one millisecond have no order in the log (uuid7 is random within a ms)
    second = ws.serving.predict("claims@champion", shifted)
    ws.serving.flush()
    return (
        [f"{first.request_id}/{i}" for i in range(WINDOW)],
        [f"{second.request_id}/{i}" for i in range(WINDOW)],
    )


def test_monitor_flags_the_shifted_window_and_alerts_once(ws: Workspace, receiver: Receiver) -> None:
    register_served(ws)
    settings = ws.monitoring.create("claims@champion", window=str(WINDOW), policies=_policies(receiver.url))
    assert settings["features"] == ["age", "tenure"]  # income is restricted: hashed in the log, not monitored
    _traffic(ws)
    result = ws.monitoring.run("claims@champion")
    assert [w["seq"] for w in result["windows"]] == [0, 1]
    calm, moved = (w["facts"] for w in result["windows"])
    assert calm["drift"]["psi"]["max"] < 0.2 < moved["drift"]["psi"]["max"]
    assert moved["drift"]["ks"]["by_feature"]["age"] > 0.5 and moved["drift"]["ks"]["min_p"] < 1e-6
    assert moved["prediction_drift"]["ks"]["value"] > calm["prediction_drift"]["ks"]["value"]
    assert calm["performance"] == {} and calm["window"]["labelled"] == 0
    [alert] = result["alerts"]
    assert (alert["policy"], alert["severity"], alert["version"]) == ("drifted-or-degraded", "critical", 1)
    assert alert["delivery"]["ok"] and alert["delivery"]["status"] == 204
    assert [a["id"] for a in receiver.received] == [alert["id"]]
    assert receiver.received[0]["facts"]["window"]["index"] == 1
    # a second run has nothing new to evaluate and raises nothing twice
    assert ws.monitoring.run("claims@champion")["windows"] == []
    assert [a["id"] for a in ws.monitoring.alerts()] == [alert["id"]]
    events = [e for e in ws.governance.audit_events() if e["action"] == "monitor.alert"]
    assert len(events) == 1 and events[0]["object_id"] == "claims/1"


def test_delayed_labels_join_by_prediction_id_and_give_performance(ws: Workspace) -> None:
    register_served(ws)
    ws.monitoring.create("claims@champion", window=str(WINDOW))
    normal_ids, _ = _traffic(ws)
    ws.monitoring.run("claims@champion")
    truth = claimants(WINDOW, seed=1)["ui"].tolist()
    stored = ws.monitoring.log_labels([*normal_ids, "no-such-id"], [*truth, 1])
    assert stored == {"stored": WINDOW, "unknown": ["no-such-id"], "already_labelled": []}
    again = ws.monitoring.log_labels(normal_ids[:2], [0, 0])
    assert again["stored"] == 0 and again["already_labelled"] == sorted(normal_ids[:2])
    result = ws.monitoring.run("claims@champion")
    [window] = result["windows"]  # only the window whose labels grew is evaluated again
    auc = window["facts"]["performance"]["roc_auc"]
    assert window["seq"] == 0 and window["labelled"] == WINDOW
    assert 0.5 < auc["lower"] <= auc["value"] <= auc["upper"] <= 1.0
    shown = ws.monitoring.show("claims/1")
    assert [w["labelled"] for w in shown["windows"]] == [WINDOW, 0]
    report = ws.monitoring.window("claims@champion", 1)["report"]
    assert report["performance"] is None and report["performance_note"] == "no labels yet"


def test_small_windows_are_insufficient_and_bad_input_is_named(ws: Workspace) -> None:
    register_served(ws)
    ws.monitoring.create("claims@champion", window="10")
    ws.serving.predict("claims@champion", claimants(10, seed=3)[["age", "tenure", "income"]])
    [window] = ws.monitoring.run("claims@champion")["windows"]
    psi = window["facts"]["drift"]["psi"]
    assert psi["max"] is None and psi["insufficient"] == 2 and psi["computed"] == 0
    full = ws.monitoring.window("claims@champion", 0)["report"]["features"][0]["statistics"]
    assert full["ks"]["status"] == "insufficient" and full["ks"]["value"] is None
    with pytest.raises(InvalidInputError, match="'weight'"):
        ws.monitoring.create("claims@champion", features=["age", "weight"])
    with pytest.raises(InvalidInputError, match="window"):
        ws.monitoring.create("claims@champion", window="often")
    with pytest.raises(PolicyError, match=r"alerts\[0\].on_breach"):
        ws.monitoring.create(
            "claims@champion", policies="alerts:\n  - {name: a, expr: 'true', on_breach: page}\n"
        )
    with pytest.raises(InvalidInputError, match="2 labels for 1"):
        ws.monitoring.log_labels(["x"], [1, 0])
    with pytest.raises(NotFoundError, match="no alias 'nope'"):
        ws.monitoring.run("claims@nope")


def test_permissions_apply_to_monitoring(ws: Workspace) -> None:
    register_served(ws)
    ws.monitoring.create("claims@champion", window=str(WINDOW))
    normal_ids, _ = _traffic(ws)
    viewer = ws.acting_as(Principal.from_bindings("vera", [(None, "viewer")]))
    with pytest.raises(PermissionDeniedError, match=r"monitor\.run"):
        viewer.monitoring.run("claims@champion")
    with pytest.raises(PermissionDeniedError, match=r"label\.write"):
        viewer.monitoring.log_labels(normal_ids[:1], [1])
    assert viewer.monitoring.alerts() == []
    assert viewer.monitoring.show("claims@champion")["windows"] == []
    stranger = ws.acting_as(Principal.from_bindings("sam", []))
    with pytest.raises(NotFoundError):
        stranger.monitoring.show("claims@champion")
    assert stranger.monitoring.log_labels(normal_ids[:1], [1])["unknown"] == normal_ids[:1]


APPLICANTS = """\
apiVersion: v3.0.2
kind: DataContract
id: applicants
version: 1.0.0
status: active
schema:
  - name: applicants
    properties:
      - name: age
        logicalType: integer
        logicalTypeOptions: {minimum: 18, maximum: 70}
      - name: tenure
        logicalType: number
      - name: sex
        logicalType: integer
      - name: ui
        logicalType: integer
"""


def _applicants(n: int, seed: int) -> Any:
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {"age": rng.integers(18, 65, n), "tenure": rng.random(n) * 10, "sex": rng.integers(0, 2, n)}
    )
    frame["ui"] = ((frame.tenure + rng.normal(0, 1.5, n)) > 5).astype(int)
    return frame


def test_quality_and_fairness_per_window(ws: Workspace) -> None:
    from sklearn.linear_model import LogisticRegression

    train = _applicants(600, 0)
    found = ws.datasets.register("applicants", train, contract=APPLICANTS)
    model = LogisticRegression(max_iter=500).fit(train[["age", "tenure", "sex"]], train.ui)
    ws.models.register(
        "uiclaims", model, training_frame=train[["age", "tenure", "sex"]], datasets=[found.version.id]
    )
    ws.models.set_alias("uiclaims", "champion", 1)
    ws.monitoring.create("uiclaims@champion", window="400", sensitive=["sex"], contract=APPLICANTS)
    calm, moved = _applicants(400, 1), _applicants(400, 2)
    moved["age"] = moved["age"] + 25  # past the contract's maximum of 70 for many rows
    # the moved window's outcomes change for one group only: the model is now wrong mostly for sex == 1
    moved.loc[moved.sex == 1, "ui"] = 1 - moved.loc[moved.sex == 1, "ui"]
    ids = []
    for frame in (calm, moved):
        served = ws.serving.predict("uiclaims@champion", frame[["age", "tenure", "sex"]])
        ids.append([f"{served.request_id}/{i}" for i in range(len(frame))])
        time.sleep(0.005)
    ws.monitoring.log_labels([*ids[0], *ids[1]], [*calm.ui.tolist(), *moved.ui.tolist()])
    first, second = (w["facts"] for w in ws.monitoring.run("uiclaims@champion")["windows"])
    assert first["quality"]["passed"] is True and first["quality"]["failed_rules"] == 0
    assert second["quality"]["passed"] is False and second["quality"]["failed_rules"] >= 1
    assert first["performance"]["roc_auc"]["value"] > 0.8 > second["performance"]["roc_auc"]["value"]
    assert set(first["fairness"]["gaps"]) == {"sex"}
    assert second["fairness"]["max_gap"] > first["fairness"]["max_gap"]
    assert second["fairness"]["max_gap_upper"] >= second["fairness"]["max_gap"]


RETRAIN = """\
alerts:
  - name: drifted
    expr: drift.psi.max > 0.2
    on_breach: retrain
"""


def test_a_breach_retrains_compares_and_promotes(ws: Workspace) -> None:
    from tests.mlops.serving.helpers import CONTRACT
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
    ws.monitoring.create("claims@champion", window=str(WINDOW), policies=RETRAIN)
    normal_ids, _ = _traffic(ws, ("age", "tenure"))
    ws.monitoring.log_labels(normal_ids, claimants(WINDOW, seed=1)["ui"].tolist())
    [alert] = ws.monitoring.run("claims@champion")["alerts"]
    action = alert["action"]
    assert action["status"] == "promoted", action
    assert (action["from_version"], action["new_version"], action["dataset"]) == (
        "claims/1",
        "claims/2",
        "claimants/1",
    )
    assert action["run_status"] == "FINISHED" and action["run_id"] != first.run_id and action["elapsed_s"] > 0
    priced = ws.finops.costs(run_id=action["run_id"])
    assert priced.height >= 2  # both steps of the retraining run were metered and priced (no cache hit)
    assert action["cost_micros"] == priced.get_column("cost_micros").sum()
    assert action["comparison"]["n_rows"] == WINDOW and action["comparison"]["verdict"], action["comparison"]
    assert ws.models.get("claims@champion").version == 2
    retrained = ws.runs.get(action["run_id"])
    assert retrained.tags["alert"] == alert["id"] and retrained.tags["retrains"] == "claims/1"
    assert ws.models.get("claims/2").run_id == action["run_id"]
    stored = ws.monitoring.alerts("claims")[0]
    assert stored["action"]["status"] == "promoted"


def test_a_retrain_breach_on_a_model_without_a_pipeline_keeps_the_alert(ws: Workspace) -> None:
    register_served(ws)  # registered by hand: no pipeline run produced it
    ws.monitoring.create("claims@champion", window=str(WINDOW), policies=RETRAIN)
    _traffic(ws)
    [alert] = ws.monitoring.run("claims@champion")["alerts"]
    assert alert["action"]["status"] == "failed" and "its pipeline is unknown" in alert["action"]["error"]
    assert ws.monitoring.alerts("claims")[0]["id"] == alert["id"]
    assert ws.models.get("claims@champion").version == 1


def test_an_unreachable_webhook_is_recorded_and_the_alert_kept(ws: Workspace) -> None:
    import socket

    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    register_served(ws)
    ws.monitoring.create(
        "claims@champion", window=str(WINDOW), policies=_policies(f"http://127.0.0.1:{port}/x")
    )
    _traffic(ws)
    [alert] = ws.monitoring.run("claims@champion")["alerts"]
    assert alert["delivery"]["ok"] is False and alert["delivery"]["error"]
    [stored] = ws.monitoring.alerts("claims")
    assert stored["id"] == alert["id"] and stored["delivery"]["ok"] is False


def test_the_reference_profile_is_kept_for_the_monitors_next_runs(ws: Workspace) -> None:
    from triops.workspace.monitoring_window import reference_profile

    register_served(ws)
    settings = ws.monitoring.create("claims@champion", window=str(WINDOW))
    _traffic(ws)
    first = ws.monitoring.run("claims@champion")["windows"]

    def not_again() -> Any:
        raise AssertionError("the reference was loaded and profiled again")

    version = ws.models.get("claims@champion")
    references, prediction, _, _ = reference_profile(ws, version, settings, not_again)
    assert set(references) == {"age", "tenure"} and prediction is not None
    _traffic(ws)  # the same two windows again, evaluated on the kept profile
    second = ws.monitoring.run("claims@champion")["windows"]
    assert [w["seq"] for w in second] == [2, 3]
    for before, after in zip(first, second, strict=True):
        assert after["facts"]["drift"] == before["facts"]["drift"]
