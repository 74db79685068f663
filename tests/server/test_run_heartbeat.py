"""A tracked run started through a server beats through it: ``POST /runs/{id}/heartbeat`` answers whether the run
is still alive, and the server's store records the beat (so a dead client's run is marked LOST)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import sqlalchemy as sa
from tests.server.conftest import LiveServer

from triops import Workspace
from triops.settings import Settings
from triops.store.tables import runs


def test_a_remote_tracked_run_beats_through_the_server(live_server: LiveServer, tmp_path: Path) -> None:
    client = Workspace.open(live_server.url, token=live_server.token, settings=Settings(home=tmp_path / "c"))
    headers = {"Authorization": f"Bearer {live_server.token}"}
    try:
        run = client.start_run("liveness", name="remote")
        deadline = time.monotonic() + 10
        beat_ms = None
        while beat_ms is None and time.monotonic() < deadline:
            with live_server.workspace.store.connect() as conn:
                beat_ms = conn.execute(sa.select(runs.c.heartbeat_ms).where(runs.c.id == run.id)).scalar_one()
            time.sleep(0.05)
        assert beat_ms is not None, "the remote run never beat"
        answer = httpx.post(f"{live_server.url}/api/v1/runs/{run.id}/heartbeat", headers=headers)
        assert answer.status_code == 200 and answer.json() == {"alive": True}
        run.end()
        answer = httpx.post(f"{live_server.url}/api/v1/runs/{run.id}/heartbeat", headers=headers)
        assert answer.json() == {"alive": False}
    finally:
        client.close()
