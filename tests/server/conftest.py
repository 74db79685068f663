"""A real uvicorn server on a free loopback port, in a background thread, over a fresh store."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from triops import Workspace
from triops.domain.clock import utc_ms
from triops.governance import roles
from triops.governance.rbac import Principal
from triops.server.app import create_app
from triops.settings import Settings
from triops.store.repositories.tokens import create_token


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    token: str
    workspace: Workspace


def start_server(
    ws: Workspace, *, dev: bool = False, max_request_bytes: int | None = None
) -> tuple[uvicorn.Server, threading.Thread, str]:
    port = free_port()
    app = create_app(ws, dev=dev, max_request_bytes=max_request_bytes)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture
def live_server(store_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    ws = Workspace.open(store_url, artifact_root=tmp_path / "artifacts", settings=Settings(home=tmp_path))
    now = utc_ms(ws.clock.now())
    roles.bootstrap_owner(ws.store, ws.settings.acting_user)  # the server's own user (`init --admin`)
    _, token = ws.store.write(lambda conn: create_token(conn, "alice", "test", now))
    roles.grant(ws.store, Principal.owner("admin"), "alice", "contributor", None)
    server, thread, url = start_server(ws, max_request_bytes=2 * 1024 * 1024)
    yield LiveServer(url, token, ws)
    server.should_exit = True
    thread.join(timeout=10)
    ws.close()
