"""The per-project scorecard over the API and through a remote workspace: same rows as the local service,
same roles (404 for a project the caller cannot read, 403 to record without run.write)."""

from __future__ import annotations

import httpx
import pytest
from tests.server.web.conftest import WebServer

from triops import Workspace

pytestmark = pytest.mark.xdist_group("web-kpis-api")  # one worker seeds this module
API = "/api/v1"


def _api(web: WebServer, token: str) -> httpx.Client:
    return httpx.Client(base_url=web.url + API, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def test_the_api_answers_the_scorecard_with_the_same_roles(web: WebServer) -> None:
    bob = _api(web, web.seeded.bob)
    assert bob.get("/kpis/projects").json() == {"projects": ["alpha"]}
    rows = bob.get("/kpis/projects/alpha").json()["kpis"]
    local = web.ws.kpis.scorecard("alpha")
    assert [r["name"] for r in rows] == [r.name for r in local]
    assert bob.get("/kpis/projects/secret").status_code == 404
    assert bob.post("/kpis/projects/alpha/snapshots").status_code == 403
    alice = _api(web, web.seeded.alice)
    assert alice.post("/kpis/projects/alpha/snapshots").status_code == 201


def test_a_remote_workspace_reads_and_records_the_scorecard(web: WebServer) -> None:
    with Workspace.open(web.url, token=web.seeded.alice) as remote:
        assert remote.kpis.projects() == ["alpha"]
        rows = remote.kpis.record("alpha")
        board = {r.name: r for r in remote.kpis.scorecard("alpha")}
    assert {r.name for r in rows} == set(board)
    quality = board["data quality score"]
    assert quality.value == web.ws.kpis.scorecard("alpha")[0].value
    assert len(board["pending approvals"].history) >= 1
