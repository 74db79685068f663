"""A seeded workspace served by a real uvicorn on a loopback port (with tokens), and one in ``--dev`` mode."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn
from tests.server.web.seed import Seeded, seed

from triops.server.app import create_app
from triops.workspace import Workspace


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class WebServer:
    url: str
    seeded: Seeded

    @property
    def ws(self) -> Workspace:
        return self.seeded.ws


def serve(ws: Workspace, dev: bool) -> tuple[uvicorn.Server, threading.Thread, str]:
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(ws, dev=dev), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # a loaded machine starts slowly
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    home = tmp_path_factory.mktemp("web")
    made = seed(f"sqlite:///{home / 'triops.db'}", home)
    yield made
    made.ws.close()


@pytest.fixture(scope="module")
def web(seeded: Seeded) -> Iterator[WebServer]:
    server, thread, url = serve(seeded.ws, dev=False)
    yield WebServer(url, seeded)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def dev_web(seeded: Seeded) -> Iterator[WebServer]:
    server, thread, url = serve(seeded.ws, dev=True)
    yield WebServer(url, seeded)
    server.should_exit = True
    thread.join(timeout=10)
