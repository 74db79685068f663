"""``triops serve MODEL@ALIAS`` as a stranger runs it (the console script in a subprocess, on a real
loopback port): predictions answered and logged, durable on SIGTERM, at most one flush interval lost on
SIGKILL, and one-line errors for a bad reference."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.mlops.serving.helpers import register_served, row

from triops import Workspace
from triops.domain.clock import utc_ms
from triops.governance import roles
from triops.governance.rbac import Principal
from triops.settings import Settings, os_user
from triops.store.repositories.tokens import create_token

EXE = str(Path(sys.executable).parent / "triops")


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served_store(tmp_path: Path) -> tuple[str, str, dict[str, str]]:
    url = f"sqlite:///{tmp_path / 'triops.db'}"
    settings = Settings(home=tmp_path)
    ws = Workspace.open(url, artifact_root=tmp_path / "artifacts", settings=settings)
    register_served(ws.acting_as(Principal.owner("admin")))
    now = utc_ms(ws.clock.now())
    _, token = ws.store.write(lambda conn: create_token(conn, "alice", "test", now))
    roles.grant(ws.store, Principal.owner("admin"), "alice", "contributor", None)
    # who runs `triops serve` on the store: its OS user (on a local store TRIOPS_USER names no one)
    roles.grant(ws.store, Principal.owner("admin"), os_user(), "admin", None)
    ws.close()
    env = {
        **{k: v for k, v in os.environ.items() if k != "TRIOPS_USER"},
        "TRIOPS_HOME": str(tmp_path),
        "TRIOPS_ARTIFACT_ROOT": str(tmp_path / "artifacts"),
        "TRIOPS_FLUSH_INTERVAL_S": "0.2",
    }
    return url, token, env


def _start(url: str, env: dict[str, str], *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    proc = subprocess.Popen(
        [EXE, "--store", url, "serve", "claims@champion", "--port", str(port), *extra],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            httpx.get(f"{base}/healthz", timeout=2).raise_for_status()
            return proc, base
        except httpx.HTTPError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise
            time.sleep(0.2)


def _send(base: str, token: str, n: int) -> list[str]:
    ids = []
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        for i in range(n):
            answer = client.post(f"{base}/api/v1/models/claims@champion/predict", json={"inputs": row(i)})
            assert answer.status_code == 200, answer.text
            ids.append(answer.headers["X-Request-Id"])
    return ids


def _logged(url: str, tmp_path: Path) -> list[str]:
    ws = Workspace.open(url, artifact_root=tmp_path / "artifacts", settings=Settings(home=tmp_path))
    try:
        return [r.id for r in ws.acting_as(Principal.owner("admin")).serving.predictions("claims")]
    finally:
        ws.close()


def test_serve_answers_and_sigterm_makes_the_log_durable(
    served_store: tuple[str, str, dict[str, str]], tmp_path: Path
) -> None:
    url, token, env = served_store
    proc, base = _start(url, {**env, "TRIOPS_FLUSH_INTERVAL_S": "60"}, "--workers", "1")
    try:
        ids = _send(base, token, 25)
        other = httpx.post(
            f"{base}/api/v1/models/other@champion/predict",
            json={"inputs": row(0)},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert other.status_code == 404 and "claims@champion" in other.json()["detail"]
        assert httpx.post(f"{base}/api/v1/models/claims@champion/predict", json={}).status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    # a 60 s flush interval: only the shutdown on SIGTERM can have written these
    assert _logged(url, tmp_path) == ids


def test_sigkill_loses_at_most_one_flush_interval(
    served_store: tuple[str, str, dict[str, str]], tmp_path: Path
) -> None:
    url, token, env = served_store
    proc, base = _start(url, env)
    try:
        ids = _send(base, token, 25)
        time.sleep(3.0)  # many 0.2 s flush intervals, even on a loaded machine
    finally:
        proc.kill()
        proc.wait(timeout=60)
    assert _logged(url, tmp_path) == ids


def test_bad_references_are_one_line_errors(served_store: tuple[str, str, dict[str, str]]) -> None:
    url, _, env = served_store
    for ref, expected in (("claims", "MODEL@ALIAS"), ("claims@nope", "aliases: champion")):
        done = subprocess.run(
            [EXE, "--store", url, "serve", ref], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 1, done.stderr
        assert expected in done.stderr and "Traceback" not in done.stderr
