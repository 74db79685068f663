"""Processes share one store safely: a real `triops server`, CLI processes and SDK writers at once.

Marked ``shared_store`` (run just these with ``pytest -m shared_store``). Each backend runs for a bounded
time (TRIOPS_SHARED_STORE_SECONDS, default 10 s; set it higher for a soak run) and then checks that every write that was acknowledged is
in the store, that every revocation and role change took effect on the very next request, and (SQLite)
that ``PRAGMA integrity_check`` is ok.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from tests.contract.processes import cli, cli_ok, create_token, process_env, start_server

from triops import Workspace
from triops.governance import roles
from triops.governance.rbac import Principal
from triops.settings import Settings, os_user
from triops.store.engine import create_store

pytestmark = pytest.mark.shared_store

# 10 s gives every kind of work several rounds even on a loaded 2-core machine (each also runs at least
# twice, see _loop); it was 20 s, which doubled the test's time without checking anything more
DURATION_S = float(os.environ.get("TRIOPS_SHARED_STORE_SECONDS", "10"))
PROJECT = "shared"

SDK_WRITER = textwrap.dedent(
    """
    import sys, time
    from triops import Workspace
    url, until, prefix = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    token = sys.argv[4] if len(sys.argv) > 4 else None
    ws = Workspace.open(url, token=token)
    i = 0
    while time.time() < until or i < 10:  # a loaded machine may start this late: write some all the same
        with ws.start_run("shared", name=f"{prefix}-{i}") as run:
            run.log_param("i", i)
            run.log_metric("m", float(i))
        print(run.id, i, flush=True)  # printed only once the run is finished: acknowledged
        i += 1
    ws.close()
    """
)


class Recorder:
    """What the workers saw: acknowledged run ids (with the param they carry) and broken promises."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acknowledged: dict[str, int] = {}
        self.violations: list[str] = []
        self.counts: dict[str, int] = {}

    def ack(self, run_id: str, i: int) -> None:
        with self.lock:
            self.acknowledged[run_id] = i

    def fail(self, what: str) -> None:
        with self.lock:
            self.violations.append(what)

    def count(self, what: str) -> None:
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + 1


def _loop(deadline: float, recorder: Recorder, body: Callable[[int], None], at_least: int = 2) -> None:
    """Run ``body`` until the deadline, and at least ``at_least`` times (a loaded machine starts processes
    slowly), but never past the deadline by more than a few minutes."""
    i = 0
    while time.monotonic() < deadline or (i < at_least and time.monotonic() < deadline + 240):
        try:
            body(i)
        except Exception as exc:  # a worker's crash is a finding, not a hang
            recorder.fail(f"{body.__name__}: {exc!r}")
            return
        i += 1


def _prepare(store_url: str, home: Path) -> tuple[str, str]:
    """The OS user as admin for the CLI, alice (contributor) and bob (no role yet); returns their tokens."""
    with Workspace.open(store_url, settings=Settings(home=home)) as ws:
        roles.bootstrap_owner(ws.store, os_user())  # the CLI's OS user (conftest made it PostgreSQL's admin)
        roles.grant(ws.store, Principal.owner("setup"), "alice", "contributor", PROJECT)
    _, alice = create_token(store_url, home, "alice", "writer")
    _, bob = create_token(store_url, home, "bob", "roles")
    return alice, bob


@pytest.mark.timeout(1200)  # ~20 s on an idle machine; generous for a loaded one
def test_server_cli_and_sdk_processes_share_one_store(store_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    alice, bob = _prepare(store_url, home)
    server = start_server(store_url, home)
    recorder = Recorder()
    script = tmp_path / "sdk_writer.py"
    script.write_text(SDK_WRITER)
    writers: list[subprocess.Popen[str]] = []
    http = httpx.Client(timeout=120)  # shared by the worker threads; patient on a loaded machine
    try:
        until = time.time() + DURATION_S
        deadline = time.monotonic() + DURATION_S
        for args in ([store_url, str(until), "sdk-local"], [server.url, str(until), "sdk-http", alice]):
            writers.append(
                subprocess.Popen(
                    [sys.executable, str(script), *args],
                    env=process_env(home),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        api = f"{server.url}/api/v1"

        def http_writes(i: int) -> None:
            headers = {"Authorization": f"Bearer {alice}"}
            answer = http.post(f"{api}/runs", json={"project": PROJECT, "name": f"http-{i}"}, headers=headers)
            if answer.status_code != 201:
                recorder.fail(f"POST /runs answered {answer.status_code}: {answer.text}")
                return
            run_id = answer.json()["id"]
            logged = http.post(f"{api}/runs/{run_id}/params", json={"values": {"i": str(i)}}, headers=headers)
            if logged.status_code != 204:
                recorder.fail(f"POST params answered {logged.status_code}: {logged.text}")
                return
            recorder.ack(run_id, i)

        def cli_reads(i: int) -> None:
            done = cli(store_url, home, "runs", "list", "--project", PROJECT, "--limit", "50", "--json")
            if done.returncode != 0:
                recorder.fail(f"runs list exited {done.returncode}: {done.stderr}")
            else:
                json.loads(done.stdout)
                recorder.count("cli reads")

        def revocations(i: int) -> None:
            token_id, token = create_token(store_url, home, "carol", f"short-{i}")
            headers = {"Authorization": f"Bearer {token}"}
            status = http.get(f"{api}/projects", headers=headers).status_code
            if status != 200:
                recorder.fail(f"a token created while the server runs answered {status}")
            cli_ok(store_url, home, "token", "revoke", token_id)
            status = http.get(f"{api}/projects", headers=headers).status_code
            if status != 401:
                recorder.fail(f"a revoked token answered {status} on the next request")
            recorder.count("revocations")

        def role_changes(i: int) -> None:
            headers = {"Authorization": f"Bearer {bob}"}
            cli_ok(store_url, home, "role", "grant", "bob", "contributor", "--project", PROJECT)
            answer = http.post(f"{api}/runs", json={"project": PROJECT, "name": f"bob-{i}"}, headers=headers)
            if answer.status_code != 201:
                recorder.fail(f"bob's write after a grant answered {answer.status_code}")
            else:
                recorder.ack(answer.json()["id"], -1)
            cli_ok(store_url, home, "role", "revoke", "bob", "contributor", "--project", PROJECT)
            answer = http.post(f"{api}/runs", json={"project": PROJECT, "name": f"bob-x{i}"}, headers=headers)
            if answer.status_code != 403:
                recorder.fail(f"bob's write after a revoke answered {answer.status_code}")
            recorder.count("role changes")

        threads = [
            threading.Thread(target=_loop, args=(deadline, recorder, body))
            for body in (http_writes, cli_reads, revocations, role_changes)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=DURATION_S + 600)
        for writer in writers:
            out, err = writer.communicate(timeout=600)
            assert writer.returncode == 0, err
            for line in out.splitlines():
                run_id, i = line.split()
                recorder.ack(run_id, int(i))
                recorder.count("sdk runs")
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
        http.close()
        server.stop()

    assert recorder.violations == []
    # each kind of work ran (twice unless the machine was too loaded to fit a second round in)
    assert recorder.counts.get("revocations", 0) >= 1 and recorder.counts.get("role changes", 0) >= 1
    assert recorder.counts.get("cli reads", 0) >= 1 and recorder.counts.get("sdk runs", 0) >= 10
    with Workspace.open(store_url, settings=Settings(home=home)) as ws:
        with ws.store.connect() as conn:
            if ws.store.dialect == "sqlite":
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        missing = []
        reader = ws.acting_as(Principal.owner("checker"))  # reads every project
        for run_id, i in recorder.acknowledged.items():
            try:
                run = reader.runs.get(run_id)
            except Exception:
                missing.append(run_id)
                continue
            if i >= 0 and run.params.get("i") != str(i):
                missing.append(f"{run_id} without its param")
        assert missing == [], f"{len(missing)} of {len(recorder.acknowledged)} acknowledged writes lost"
    assert len(recorder.acknowledged) > 20


@pytest.mark.timeout(900)
def test_confirmed_writes_survive_a_cli_reading_the_store_the_server_serves(
    sqlite_store_url: str, tmp_path: Path
) -> None:
    """The issue's reproduction: r1 over the API, `triops runs list` in another process, r2 and r3; all
    three are in the database once the server stops. Tokens made or revoked meanwhile work at once."""
    home = tmp_path / "home"
    alice, _ = _prepare(sqlite_store_url, home)
    server = start_server(sqlite_store_url, home)
    headers = {"Authorization": f"Bearer {alice}"}
    ids = []
    http = httpx.Client(timeout=120)
    try:

        def create(name: str) -> None:
            answer = http.post(
                f"{server.url}/api/v1/runs", json={"project": PROJECT, "name": name}, headers=headers
            )
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["id"])

        create("r1")
        cli_ok(sqlite_store_url, home, "runs", "list")
        create("r2")
        create("r3")
        token_id, late = create_token(sqlite_store_url, home, "dave", "late")
        late_headers = {"Authorization": f"Bearer {late}"}
        assert http.get(f"{server.url}/api/v1/projects", headers=late_headers).status_code == 200
        cli_ok(sqlite_store_url, home, "token", "revoke", token_id)
        assert http.get(f"{server.url}/api/v1/projects", headers=late_headers).status_code == 401
    finally:
        http.close()
        server.stop()
    store = create_store(sqlite_store_url)
    try:
        with store.connect() as conn:
            names = conn.execute(sa.text("SELECT name FROM runs ORDER BY name")).scalars().all()
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    finally:
        store.dispose()
    assert names == ["r1", "r2", "r3"]
