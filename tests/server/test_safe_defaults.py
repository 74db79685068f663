"""Safe defaults of the server: --dev answers loopback Host names only; artifact uploads stream past the JSON
body limit up to their own configured limit."""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.server.conftest import start_server

from triops import Workspace
from triops.domain.clock import utc_ms
from triops.errors import InvalidInputError
from triops.governance import roles
from triops.governance.rbac import Principal
from triops.server.hosts import host_name, is_loopback_host
from triops.settings import Settings
from triops.store.repositories.tokens import create_token

MIB = 1024 * 1024


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        ("localhost", True),
        ("localhost:8765", True),
        ("LOCALHOST.", True),
        ("app.localhost:1", True),
        ("127.0.0.1:8765", True),
        ("127.8.9.10", True),
        ("[::1]:8765", True),
        ("evil.example", False),
        ("evil.example:8765", False),
        ("localhost.evil.example", False),
        ("192.168.1.10:8765", False),
        ("[::ffff:8.8.8.8]", False),
        ("", False),
    ],
)
def test_loopback_host_names(header: str, ok: bool) -> None:
    assert is_loopback_host(header) is ok


def test_host_name_strips_the_port() -> None:
    assert host_name("[::1]:80") == "::1" and host_name("Example.org:443") == "example.org"


@pytest.fixture
def dev_server(sqlite_store_url: str, tmp_path: Path) -> Iterator[str]:
    ws = Workspace.open(sqlite_store_url, settings=Settings(home=tmp_path))
    server, thread, url = start_server(ws, dev=True)
    yield url
    server.should_exit = True
    thread.join(timeout=10)
    ws.close()


def test_dev_mode_refuses_a_rebound_host_name(dev_server: str) -> None:
    port = dev_server.rsplit(":", 1)[1]
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", "localhost"):
        assert httpx.get(f"{dev_server}/api/v1/projects", headers={"Host": host}).status_code == 200
    for host in (f"attacker.example:{port}", "attacker.example", f"10.0.0.1:{port}"):
        answer = httpx.get(f"{dev_server}/api/v1/projects", headers={"Host": host})
        assert answer.status_code == 421, host
        assert answer.headers["content-type"].startswith("application/problem+json")
        answer = httpx.post(f"{dev_server}/api/v1/runs", json={"project": "x"}, headers={"Host": host})
        assert answer.status_code == 421


def test_dev_mode_refuses_a_request_without_host(dev_server: str) -> None:
    host, port = dev_server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET /api/v1/projects HTTP/1.0\r\n\r\n")
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 400")


@pytest.fixture
def upload_server(sqlite_store_url: str, tmp_path: Path) -> Iterator[tuple[str, str, Workspace]]:
    settings = Settings(home=tmp_path, max_artifact_bytes=6 * MIB)
    ws = Workspace.open(sqlite_store_url, settings=settings, artifact_root=tmp_path / "artifacts")
    now = utc_ms(ws.clock.now())
    _, token = ws.store.write(lambda conn: create_token(conn, "alice", "t", now))
    roles.grant(ws.store, Principal.owner("admin"), "alice", "contributor", None)
    server, thread, url = start_server(ws, max_request_bytes=1 * MIB)
    yield url, token, ws.acting_as(Principal.owner("admin"))  # reads every project, as the checks need
    server.should_exit = True
    thread.join(timeout=10)
    ws.close()


def _file(path: Path, size: int) -> Path:
    with path.open("wb") as fh:
        for i in range(size // MIB):
            fh.write(bytes([i % 251]) * MIB)
        fh.write(os.urandom(size % MIB))
    return path


def _leftovers(ws: Workspace) -> list[Path]:
    return list(Path(ws.artifacts.root).glob(".upload-*"))


def test_an_artifact_larger_than_the_body_limit_streams_through(
    upload_server: tuple[str, str, Workspace], tmp_path: Path
) -> None:
    url, token, ws = upload_server
    source = _file(tmp_path / "big.bin", 5 * MIB + 17)
    remote = Workspace.open(url, token=token, settings=Settings(home=tmp_path))
    with remote.start_run("uploads") as run:
        stored = run.log_artifact(source)
    assert stored.size == source.stat().st_size
    assert stored.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert ws.artifacts.get_bytes(stored.sha256) == source.read_bytes()
    downloaded = httpx.get(
        f"{url}/api/v1/runs/{run.id}/artifacts/big.bin", headers={"Authorization": f"Bearer {token}"}
    )
    assert downloaded.content == source.read_bytes()
    remote.close()
    assert _leftovers(ws) == []


def test_an_artifact_over_its_own_limit_is_413_and_leaves_nothing(
    upload_server: tuple[str, str, Workspace], tmp_path: Path
) -> None:
    url, token, ws = upload_server
    source = _file(tmp_path / "huge.bin", 7 * MIB)
    remote = Workspace.open(url, token=token, settings=Settings(home=tmp_path))
    with remote.start_run("uploads") as run, pytest.raises(InvalidInputError, match="limit"):
        run.log_artifact(source)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/octet-stream"}

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while streaming
        for _ in range(7):
            yield b"x" * MIB

    answer = httpx.put(f"{url}/api/v1/runs/{run.id}/artifacts/chunked.bin", content=chunks(), headers=headers)
    assert answer.status_code == 413 and "6,291,456" in answer.json()["detail"]
    assert ws.runs.get(run.id).artifacts == ()
    assert _leftovers(ws) == []
    remote.close()


@pytest.mark.slow
def test_a_65_mib_artifact_uploads_with_the_default_limits(sqlite_store_url: str, tmp_path: Path) -> None:
    ws = Workspace.open(sqlite_store_url, settings=Settings(home=tmp_path), artifact_root=tmp_path / "art")
    now = utc_ms(ws.clock.now())
    _, token = ws.store.write(lambda conn: create_token(conn, "alice", "t", now))
    roles.grant(ws.store, Principal.owner("admin"), "alice", "contributor", None)
    server, thread, url = start_server(ws)
    try:
        source = _file(tmp_path / "65mib.bin", 65 * MIB)
        remote = Workspace.open(url, token=token, settings=Settings(home=tmp_path))
        with remote.start_run("uploads") as run:
            stored = run.log_artifact(source)
        remote.close()
        assert stored.size == 65 * MIB
        assert ws.acting_as(Principal.owner("admin")).runs.get(run.id).artifacts[0].sha256 == stored.sha256
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        ws.close()


def test_an_unexpected_error_is_problem_json_without_a_trace(sqlite_store_url: str, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from triops.server.app import create_app

    with Workspace.open(sqlite_store_url, settings=Settings(home=tmp_path)) as ws:
        app = create_app(ws)

        @app.get("/boom")
        def boom() -> None:
            raise RuntimeError("secret internals")

        answer = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert answer.status_code == 500
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "secret" not in answer.text and "Traceback" not in answer.text
