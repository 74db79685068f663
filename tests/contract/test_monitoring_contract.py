"""``ws.monitoring`` through the public SDK with the same assertions on local SQLite and a
real server (``Workspace.open("http://…", token=…)``): set-up with a schedule, runs, delayed labels, reads,
alerts, ``run_due`` and the errors, with the same return types."""

from __future__ import annotations

import time

import pytest
from tests.mlops.serving.helpers import claimants, register_served

from triops import Workspace
from triops.errors import ConflictError, InvalidInputError, NotFoundError

WINDOW = 200
POLICIES = "alerts:\n  - name: drifted\n    expr: drift.psi.max > 0.2\n    severity: critical\n"


# PostgreSQL runs the same leased runs in tests/workspace/test_monitoring_sdk.py; two platforms keep it short
@pytest.mark.parametrize("platform", ["sqlite", "server"], indirect=True)
def test_monitoring_is_the_same_locally_and_remotely(platform: Workspace) -> None:
    register_served(platform)
    made = platform.monitoring.create("claims@champion", window=str(WINDOW), policies=POLICIES, every="1h")
    assert made["features"] == ["age", "tenure"] and made["every_s"] == 3600 and made["window"] == "200"
    assert made["has_contract"] is False and isinstance(made["next_due_ms"], int)
    assert platform.monitoring.settings("claims/1") == made
    normal = claimants(WINDOW, seed=1)
    first = platform.serving.predict("claims@champion", normal[["age", "tenure", "income"]])
    time.sleep(0.005)
    platform.serving.predict(
        "claims@champion", normal.assign(age=normal.age + 30)[["age", "tenure", "income"]]
    )
    ran = platform.monitoring.run("claims@champion")
    assert [w["seq"] for w in ran["windows"]] == [0, 1] and ran["pending"] == 0
    calm, moved = (w["facts"] for w in ran["windows"])
    assert calm["drift"]["psi"]["max"] < 0.2 < moved["drift"]["psi"]["max"]
    [alert] = ran["alerts"]
    assert (alert["policy"], alert["severity"], alert["model"], alert["version"]) == (
        "drifted",
        "critical",
        "claims",
        1,
    )
    ids = [f"{first.request_id}/{i}" for i in range(WINDOW)]
    logged = platform.monitoring.log_labels([*ids, "nope"], [*normal.ui.tolist(), 1])
    assert logged == {"stored": WINDOW, "unknown": ["nope"], "already_labelled": []}
    [again] = platform.monitoring.run("claims/1")["windows"]
    auc = again["facts"]["performance"]["roc_auc"]
    assert again["seq"] == 0 and again["labelled"] == WINDOW and 0.5 < auc["value"] <= auc["upper"] <= 1.0
    shown = platform.monitoring.show("claims@champion")
    assert [w["labelled"] for w in shown["windows"]] == [WINDOW, 0]
    assert [a["id"] for a in shown["alerts"]] == [alert["id"]] and shown["monitor"]["every_s"] == 3600
    report = platform.monitoring.window("claims@champion", 1)["report"]
    assert report["performance"] is None and report["performance_note"] == "no labels yet"
    assert [f["feature"] for f in report["features"]] == ["age", "tenure"]
    assert [a["id"] for a in platform.monitoring.alerts("claims", limit=10)] == [alert["id"]]
    assert platform.monitoring.run_due() == []  # due in an hour
    with pytest.raises(NotFoundError, match="no alias 'nope'"):
        platform.monitoring.run("claims@nope")
    with pytest.raises(InvalidInputError, match="every"):
        platform.monitoring.create("claims@champion", every="often")
    with pytest.raises(ConflictError, match="no retrained version"):
        platform.monitoring.promote(alert["id"])
