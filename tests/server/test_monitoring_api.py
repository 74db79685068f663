"""Monitoring over HTTP on a real uvicorn server: monitor set-up, run, delayed labels (unknown ids reported),
alerts, roles (viewer may read, not run or label), and bad input as problem JSON naming the field."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.mlops.serving.helpers import claimants, register_served
from tests.server.conftest import start_server

from triops import Workspace
from triops.domain.clock import utc_ms
from triops.governance import roles
from triops.governance.rbac import Principal
from triops.settings import Settings
from triops.store.repositories.tokens import create_token

POLICIES = "alerts:\n  - name: drifted\n    expr: drift.psi.max > 0.2\n    severity: critical\n"


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    settings = Settings(home=tmp_path, serving_poll_interval_s=0.05, flush_interval_s=0.05)
    ws = Workspace.open(f"sqlite:///{tmp_path / 's.db'}", artifact_root=tmp_path / "a", settings=settings)
    register_served(ws.acting_as(Principal.owner("admin")))
    tokens = {}
    now = utc_ms(ws.clock.now())
    for name, role in (("alice", "contributor"), ("vera", "viewer"), ("audra", "approver")):
        _, tokens[name] = ws.store.write(lambda conn, name=name: create_token(conn, name, "test", now))
        roles.grant(ws.store, Principal.owner("admin"), name, role, None)
    server, thread, url = start_server(ws)
    yield url + "/api/v1", tokens
    server.should_exit = True
    thread.join(timeout=30)
    ws.close()


def _client(live: tuple[str, dict[str, str]], who: str = "alice") -> httpx.Client:
    url, tokens = live
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tokens[who]}"}, timeout=120)


def _columns(frame: object) -> dict[str, list[object]]:
    return {c: frame[c].tolist() for c in ("age", "tenure", "income")}  # type: ignore[index]


def test_monitoring_over_http(live: tuple[str, dict[str, str]]) -> None:
    normal = claimants(200, seed=1)
    shifted = normal.assign(age=normal.age + 30)
    with _client(live) as client:
        first = client.post("/models/claims@champion/predict", json={"columns": _columns(normal)})
        assert first.status_code == 200, first.text
        time.sleep(0.01)
        assert client.post("/models/claims@champion/predict", json={"columns": _columns(shifted)}).is_success
        made = client.put("/monitoring/claims@champion", json={"window": "200", "policies": POLICIES})
        assert made.status_code == 200, made.text
        assert made.json()["features"] == ["age", "tenure"]
        deadline = time.monotonic() + 60
        while True:  # the server's log writer flushes every 0.05 s
            ran = client.post("/monitoring/claims@champion/run")
            assert ran.status_code == 200, ran.text
            if ran.json()["windows"] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert [w["seq"] for w in ran.json()["windows"]] == [0, 1]
        [alert] = ran.json()["alerts"]
        ids = [f"{first.json()['request_id']}/{i}" for i in range(200)]
        logged = client.post(
            "/monitoring/labels", json={"prediction_ids": [*ids, "nope"], "labels": [*normal.ui.tolist(), 1]}
        )
        assert logged.status_code == 200, logged.text
        assert logged.json() == {"stored": 200, "unknown": ["nope"], "already_labelled": []}
        again = client.post("/monitoring/claims@v1/run").json()
        assert again["windows"][0]["facts"]["performance"]["roc_auc"]["value"] > 0.5
        shown = client.get("/monitoring/claims@champion").json()
        assert [w["labelled"] for w in shown["windows"]] == [200, 0]
        report = client.get("/monitoring/claims@champion/windows/1").json()["report"]
        assert {f["feature"] for f in report["features"]} == {"age", "tenure"}
        waiting = client.post(f"/monitoring/alerts/{alert['id']}/promote")  # no on_breach: retrain
        assert waiting.status_code == 409 and "awaiting approval" in waiting.json()["detail"]
    with _client(live, "vera") as viewer:
        assert [a["id"] for a in viewer.get("/monitoring/alerts").json()] == [alert["id"]]
        denied = viewer.post("/monitoring/claims@champion/run")
        assert denied.status_code == 403 and "monitor.run" in denied.json()["detail"]
        denied = viewer.post("/monitoring/labels", json={"prediction_ids": ids[:1], "labels": [1]})
        assert denied.status_code == 403 and "label.write" in denied.json()["detail"]
        denied = viewer.post(f"/monitoring/alerts/{alert['id']}/promote")
        assert denied.status_code == 403 and "monitor.run" in denied.json()["detail"]
        denied = viewer.get("/governance/compliance/eu-ai-act")
        assert denied.status_code == 403 and "audit.read" in denied.json()["detail"]
    with _client(live, "audra") as auditor:  # the compliance report's monitoring evidence resolves
        items = auditor.get("/governance/compliance/eu-ai-act").json()["items"]
        art72 = next(i for i in items if i["id"] == "Art. 72")
        assert art72["status"] == "present", art72["missing"]
        monitoring = {"monitoring", "monitor_window", "alert", "prediction_log"}
        links = {e["link"] for i in items for e in i["evidence"] if e["kind"] in monitoring}
        assert len(links) >= 4
        root = live[0].removesuffix("/api/v1")
        for link in links:  # links are API routes from the server's root (/api/v1/…)
            assert auditor.get(root + link).status_code == 200, link


def test_monitoring_bad_input_is_problem_json(live: tuple[str, dict[str, str]]) -> None:
    with _client(live) as client:
        missing = client.post("/monitoring/labels", json={"prediction_ids": ["a"]})
        assert missing.status_code == 422 and "labels" in missing.json()["detail"]
        uneven = client.post("/monitoring/labels", json={"prediction_ids": ["a"], "labels": [1, 2]})
        assert uneven.status_code == 422 and "2 labels for 1" in uneven.json()["detail"]
        no_alias = client.get("/monitoring/claims@nope")
        assert no_alias.status_code == 404 and "no alias 'nope'" in no_alias.json()["detail"]
        no_monitor = client.post("/monitoring/claims@champion/run")
        assert no_monitor.status_code == 404 and "has no monitor" in no_monitor.json()["detail"]
        no_alert = client.post("/monitoring/alerts/nope/promote")
        assert no_alert.status_code == 404 and "no alert 'nope'" in no_alert.json()["detail"]
        bad_window = client.put("/monitoring/claims@champion", json={"window": "sometimes"})
        assert bad_window.status_code == 422 and "window" in bad_window.json()["detail"]
        bad_policy = client.put("/monitoring/claims@champion", json={"policies": "alerts: 3"})
        assert bad_policy.status_code == 422 and "alerts" in bad_policy.json()["detail"]
