"""Monitors on a schedule: the run lease keeps a monitor to one run at a time, a
due monitor runs as its runner and is audited, ``next_due`` moves on, a failing run is recorded; and a real
``triops server`` runs due monitors in the background while another process competes for them, without
evaluating a window twice, then stops cleanly on SIGTERM."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.mlops.serving.helpers import claimants, register_served
from tests.server.conftest import free_port

from triops import Workspace
from triops.errors import ConflictError, InvalidInputError
from triops.governance import roles
from triops.governance.rbac import Principal
from triops.settings import Settings
from triops.store.repositories import monitoring as repo
from triops.store.tables_monitoring import monitors
from triops.workspace.monitoring_schedule import leased, next_due

BIN = Path(sys.executable).parent


@pytest.fixture
def ws(sqlite_store_url: str, tmp_path: Path) -> Iterator[Workspace]:
    # SQLite only: the contract suite runs the same leased runs on PostgreSQL and through a server
    root = Workspace.open(sqlite_store_url, artifact_root=tmp_path / "a", settings=Settings(home=tmp_path))
    roles.grant(root.store, Principal.owner("admin"), "olivia", "contributor", None)
    owner = root.acting_as(Principal.owner("olivia"))
    yield owner
    owner.serving.close()
    root.close()


def _monitor(ws: Workspace) -> dict[str, object]:
    with ws.store.connect() as conn:
        found = repo.monitor(conn, "claims", 1)
    assert found is not None
    return found


def test_the_lease_admits_one_run_and_a_due_monitor_runs_as_its_runner(ws: Workspace) -> None:
    register_served(ws)
    made = ws.monitoring.create("claims@champion", window="100", every="1h")
    assert made["every_s"] == 3600 and made["next_due_ms"] > made["created_ms"]
    ws.serving.predict("claims@champion", claimants(100, seed=1)[["age", "tenure", "income"]])
    with leased(ws, _monitor(ws), "other-process") as lease:  # another process is running it
        assert lease is not None
        with pytest.raises(ConflictError, match="being run by other-process"):
            ws.monitoring.run("claims@champion")
        with leased(ws, _monitor(ws), "third-process") as none:
            assert none is None
    assert _monitor(ws)["lease_owner"] is None
    assert ws.monitoring.run_due() == []  # not due yet (the server test below waits for real seconds)
    ws.store.write(lambda conn: conn.execute(sa.update(monitors).values(next_due_ms=1)))
    ws.serving.flush()
    [outcome] = ws.monitoring.run_due()
    assert (outcome["status"], outcome["runner"], outcome["windows"], outcome["trigger"]) == (
        "ok",
        "olivia",
        1,
        "due",
    )
    mon = _monitor(ws)
    assert mon["lease_owner"] is None and mon["next_due_ms"] > mon["last_run_ms"]
    assert ws.monitoring.run_due() == []  # ran: due again one interval later, not now
    [event] = [e for e in ws.governance.audit_events(limit=1000) if e["action"] == "monitor.run"]
    assert event["actor"] == "olivia" and event["after"]["trigger"] == "due"
    # a runner who lost the role: the run fails, is recorded, and the schedule goes on
    roles.revoke(ws.store, Principal.owner("admin"), "olivia", "contributor", None)
    ws.store.write(lambda conn: conn.execute(sa.update(monitors).values(next_due_ms=0)))
    [failed] = ws.monitoring.run_due()
    assert failed["status"] == "failed" and "does not exist" in failed["error"]
    assert _monitor(ws)["last_run"]["status"] == "failed"  # type: ignore[index]
    with pytest.raises(InvalidInputError, match="every"):
        ws.monitoring.create("claims@champion", every="100")


def test_next_due_skips_missed_runs() -> None:
    assert next_due(10_000, 5, 9_000) == 10_000
    assert next_due(10_000, 5, 10_000) == 15_000
    assert next_due(10_000, 5, 31_000) == 35_000


def _windows_evaluated(ws: Workspace) -> int:
    events = ws.acting_as(Principal.owner("admin")).governance.audit_events(limit=1000)
    return sum(e["after"].get("windows", 0) for e in events if e["action"] == "monitor.run")


def test_a_server_runs_due_monitors_beside_another_process_and_stops_on_sigterm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    ws = Workspace.open(url, artifact_root=tmp_path / "a", settings=Settings(home=tmp_path))
    roles.grant(ws.store, Principal.owner("admin"), "olivia", "contributor", None)
    olivia = ws.acting_as(Principal.owner("olivia"))
    register_served(olivia)
    olivia.monitoring.create("claims@champion", window="100", every="1s")  # scheduled before the server
    olivia.serving.predict("claims@champion", claimants(300, seed=1)[["age", "tenure", "income"]])
    olivia.serving.flush()
    env = {**os.environ, "TRIOPS_HOME": str(tmp_path), "TRIOPS_MONITOR_POLL_S": "0.1",
           "TRIOPS_ARTIFACT_ROOT": str(tmp_path / "a")}  # fmt: skip
    server = subprocess.Popen(
        [str(BIN / "triops"), "--store", url, "server", "--dev", "--port", str(free_port())],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 240  # a server's start-up takes minutes on a machine loaded 8×
        while len(olivia.monitoring.show("claims@champion")["windows"]) < 3:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "the server's scheduler did not run the monitor"
            time.sleep(0.1)
        events = olivia.governance.audit_events(limit=1000)
        scheduled = [e for e in events if e["action"] == "monitor.run"]
        assert scheduled[0]["actor"] == "olivia" and scheduled[0]["after"]["trigger"] == "schedule"
        # more traffic, and this process runs the monitor as fast as it can beside the server's scheduler
        olivia.serving.predict("claims@champion", claimants(300, seed=2)[["age", "tenure", "income"]])
        olivia.serving.flush()
        while len(olivia.monitoring.show("claims@champion")["windows"]) < 6:
            assert time.monotonic() < deadline
            with contextlib.suppress(ConflictError):  # refused while the server's scheduler holds the lease
                olivia.monitoring.run("claims@champion")
            time.sleep(0.05)
        time.sleep(1.2)  # the scheduler's next run (every second) finds nothing new
        assert _windows_evaluated(ws) == 6  # every window evaluated exactly once by one of the two
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=30)
    # uvicorn shuts the app down (the scheduler stops, its lease is let go), then re-raises the signal
    assert code in (0, -signal.SIGTERM), server.stderr.read() if server.stderr else ""
    assert _monitor(ws)["lease_owner"] is None  # the scheduler let its lease go on the way out
    olivia.serving.close()
    ws.close()
