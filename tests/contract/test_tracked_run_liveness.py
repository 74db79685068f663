"""Tracked runs (``ws.start_run``) carry a heartbeat: a process killed with SIGKILL leaves a run that is marked
LOST after the timeout, and a process that was only stopped (a laptop asleep) revives its run marked LOST
meanwhile with its next heartbeat and finishes it with nothing lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from triops import Workspace
from triops.domain.records import RunStatus
from triops.settings import Settings

LOGGER = textwrap.dedent(
    """
    import sys, time
    from triops import Workspace
    from triops.settings import Settings
    ws = Workspace.open(sys.argv[1], settings=Settings(home=sys.argv[2], run_heartbeat_s=0.1, flush_interval_s=0.1))
    with ws.start_run("liveness", name="sleepy") as run:
        print("RUN", run.id, flush=True)
        for i in range(int(sys.argv[3])):
            run.log_metric("x", float(i), step=i)
            if i % 100 == 0:
                time.sleep(0.01)
    print("ENDED", flush=True)
    """
)


def _spawn(tmp_path: Path, url: str, count: int) -> tuple[subprocess.Popen[str], str]:
    script = tmp_path / "logger.py"
    script.write_text(LOGGER)
    proc = subprocess.Popen(
        [sys.executable, str(script), url, str(tmp_path), str(count)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("RUN "), (line, proc.stderr.read() if proc.stderr else "")
    return proc, line[4:].strip()


def _status(ws: Workspace, run_id: str, lost_after_s: float) -> RunStatus:
    from triops.mlops.pipelines.runner import mark_lost_runs

    mark_lost_runs(ws.store, ws.clock, lost_after_s)  # what `triops runs list/show` does first
    return ws.runs.get(run_id).status


def test_a_killed_tracked_run_is_marked_lost(sqlite_store_url: str, tmp_path: Path) -> None:
    proc, run_id = _spawn(tmp_path, sqlite_store_url, 10_000_000)
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    with Workspace.open(sqlite_store_url, settings=Settings(home=tmp_path)) as ws:
        assert _status(ws, run_id, 60) is RunStatus.RUNNING  # within the timeout it may still be alive
        time.sleep(1.2)
        assert _status(ws, run_id, 1.0) is RunStatus.LOST
        run = ws.runs.get(run_id)
        assert "no heartbeat" in (run.error or "") and "next heartbeat" in (run.error or "")


def test_a_live_process_revives_its_run_marked_lost_and_finishes_it(
    sqlite_store_url: str, tmp_path: Path
) -> None:
    # What a laptop that slept past the timeout sees on waking: its run was marked LOST meanwhile. (Marked here
    # with a tiny timeout while the process runs: a SIGSTOP could freeze it holding the write lock.)
    proc, run_id = _spawn(tmp_path, sqlite_store_url, 5000)
    with Workspace.open(sqlite_store_url, settings=Settings(home=tmp_path)) as ws:
        time.sleep(0.15)
        assert _status(ws, run_id, 0.001) is RunStatus.LOST
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "ENDED" in out, err[-2000:]
    with Workspace.open(sqlite_store_url, settings=Settings(home=tmp_path)) as ws:
        run = ws.runs.get(run_id)
        assert run.status is RunStatus.FINISHED and run.error is None
        steps = [m.step for m in ws.runs.metric_history(run_id, "x")]
    assert steps == list(range(5000)), "metrics were lost around the revival"
