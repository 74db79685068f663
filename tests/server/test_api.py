"""The REST API over real HTTP: auth, problem JSON, size limits, OpenAPI, and the SDK against a server."""

from __future__ import annotations

import math
from pathlib import Path

import httpx
import pytest
from tests.server.conftest import LiveServer

from triops import Workspace
from triops.domain.records import RunStatus
from triops.errors import AuthError, ConflictError, FilterSyntaxError, InvalidInputError, NotFoundError
from triops.settings import Settings


def remote(server: LiveServer, tmp_path: Path, token: str | None = None) -> Workspace:
    return Workspace.open(
        server.url, token=token or server.token, settings=Settings(home=tmp_path, flush_interval_s=0.05)
    )


def test_healthz_and_openapi_are_served(live_server: LiveServer) -> None:
    assert httpx.get(f"{live_server.url}/healthz").json()["status"] == "ok"
    spec = httpx.get(f"{live_server.url}/api/v1/openapi.json", timeout=60).json()  # built on first use
    assert spec["info"]["title"] == "triops"
    assert "/api/v1/runs/{run_id}/metrics" in spec["paths"]


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", "Basic YWxpY2U6eA==", "Token abc"])
def test_missing_or_wrong_token_is_401_without_detail(live_server: LiveServer, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = httpx.get(f"{live_server.url}/api/v1/projects", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["detail"] == "authentication required"
    assert "token" not in response.text.lower()


def test_the_sdk_over_http_matches_the_local_sdk(live_server: LiveServer, tmp_path: Path) -> None:
    ws = remote(live_server, tmp_path)
    with ws.start_run("remote", name="r1", tags={"team": "a"}) as run:
        run.log_params({"model": "rf"})
        for step in range(1000):
            run.log_metric("loss", 1 / (step + 1), step=step)
        run.log_metric("weird", math.nan)
        run.log_metric("big", math.inf)
        run.log_artifact(b"model-bytes", name="model.bin")
        with pytest.raises(ConflictError):
            run.log_param("model", "lr")
    stored = ws.runs.get(run.id)
    assert stored.status is RunStatus.FINISHED and stored.user == "alice"
    assert stored.params == {"model": "rf"} and stored.tags == {"team": "a"}
    assert math.isnan(stored.metrics["weird"]) and stored.metrics["big"] == math.inf
    assert len(ws.runs.metric_history(run.id, "loss")) == 1000
    assert [r.id for r in ws.runs.search(project="remote", filter="metrics.loss < 0.01")] == [run.id]
    local = live_server.workspace.runs.get(run.id)
    assert local.metrics["loss"] == stored.metrics["loss"]
    assert live_server.workspace.artifacts.get_bytes(stored.artifacts[0].sha256) == b"model-bytes"
    ws.close()


def test_errors_come_back_as_the_same_exceptions(live_server: LiveServer, tmp_path: Path) -> None:
    ws = remote(live_server, tmp_path)
    with pytest.raises(NotFoundError):
        ws.runs.get("nope")
    with pytest.raises(FilterSyntaxError) as info:
        ws.runs.search(filter="metrics.auc >> 1")
    assert info.value.column == 14
    with pytest.raises(AuthError):
        remote(live_server, tmp_path, token="tri_wrong").runs.search()
    ws.close()


def test_problem_json_for_bad_input(live_server: LiveServer) -> None:
    headers = {"Authorization": f"Bearer {live_server.token}"}
    run = httpx.post(f"{live_server.url}/api/v1/runs", json={"project": "p"}, headers=headers).json()
    response = httpx.post(
        f"{live_server.url}/api/v1/runs/{run['id']}/metrics",
        json={"keys": ["a"], "values": ["not a number"], "steps": [0], "timestamps": [0]},
        headers=headers,
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["status"] == 422 and "not a number" in problem["detail"]
    assert problem["instance"].endswith("/metrics")
    schema = httpx.post(f"{live_server.url}/api/v1/runs/search", json={"limit": "many"}, headers=headers)
    assert schema.status_code == 422 and schema.json()["errors"]


def test_request_size_limit(live_server: LiveServer) -> None:
    headers = {"Authorization": f"Bearer {live_server.token}"}
    run = httpx.post(f"{live_server.url}/api/v1/runs", json={"project": "p"}, headers=headers).json()
    # JSON bodies have the body limit; artifact uploads stream under their own (tests/server/test_safe_defaults.py)
    response = httpx.post(
        f"{live_server.url}/api/v1/runs/{run['id']}/params",
        json={"values": {"big": "x" * (3 * 1024 * 1024)}},
        headers=headers,
    )
    assert response.status_code == 413
    assert response.json()["title"] == "Payload Too Large"


def test_key_rules_apply_over_http(live_server: LiveServer, tmp_path: Path) -> None:
    ws = remote(live_server, tmp_path)
    run = ws.start_run("p")
    with pytest.raises(InvalidInputError):
        run.log_params({"bad;key": 1})
    run.end()
    ws.close()


def test_roles_are_enforced_with_403_naming_the_permission(live_server: LiveServer, tmp_path: Path) -> None:
    from triops.domain.clock import utc_ms
    from triops.governance import roles
    from triops.governance.rbac import Principal
    from triops.store.repositories.tokens import create_token

    ws = live_server.workspace
    now = utc_ms(ws.clock.now())
    _, viewer_token = ws.store.write(lambda conn: create_token(conn, "vera", "t", now))
    _, stranger_token = ws.store.write(lambda conn: create_token(conn, "sam", "t", now))
    roles.grant(ws.store, Principal.owner("admin"), "vera", "viewer", "shared")
    with ws.start_run("shared") as run:
        run.log_metric("auc", 0.8)
    base = f"{live_server.url}/api/v1"
    viewer = {"Authorization": f"Bearer {viewer_token}"}
    assert httpx.get(f"{base}/runs/{run.id}", headers=viewer).status_code == 200
    denied = httpx.post(f"{base}/runs", json={"project": "shared"}, headers=viewer)
    assert denied.status_code == 403
    assert "run.write" in denied.json()["detail"]
    stranger = {"Authorization": f"Bearer {stranger_token}"}
    assert httpx.get(f"{base}/runs/{run.id}", headers=stranger).status_code == 403
    found = httpx.post(f"{base}/runs/search", json={}, headers=stranger).json()["runs"]
    assert found == []
    assert httpx.get(f"{base}/projects", headers=viewer).json()["projects"] == ["shared"]
