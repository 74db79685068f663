"""Durability under real processes: SIGKILL loses at most the last flush interval and leaves the store
readable; SIGTERM flushes; eight processes writing to one store at once lose nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from triops import Workspace
from triops.domain.records import RunStatus
from triops.settings import Settings

LOGGER = textwrap.dedent(
    """
    import sys, time
    from triops import Workspace
    from triops.settings import Settings
    url, home, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    ws = Workspace.open(url, settings=Settings(home=home, flush_interval_s=0.2, flush_every=100_000))
    run = ws.start_run("durability", name=mode)
    print("RUN", run.id, flush=True)
    if mode == "burst":
        for i in range(int(sys.argv[4])):
            run.log_metric("x", float(i), step=i)
        run.end()
        sys.exit(0)
    i = 0
    while True:
        run.log_metric("x", float(i), step=i)
        i += 1
        if i == 5000:
            run.flush()
            print("FLUSHED", flush=True)
        if i % 1000 == 0:
            time.sleep(0.01)
    """
)


def _spawn(tmp_path: Path, url: str, mode: str, *extra: str) -> subprocess.Popen[str]:
    script = tmp_path / "logger.py"
    if not script.exists():  # rewriting it while another logger starts would hand that one an empty file
        script.write_text(LOGGER)
    return subprocess.Popen(
        [sys.executable, str(script), url, str(tmp_path), mode, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(proc: subprocess.Popen[str], marker: str) -> str:
    """The rest of the first stdout line starting with ``marker`` (other output is skipped)."""
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(marker):
            return line[len(marker) :].strip()
    raise AssertionError(
        f"the logger exited before printing {marker!r}: {proc.wait()} {proc.stderr.read() if proc.stderr else ''}"
    )


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_process_loses_at_most_the_last_flush_interval(
    store_url: str, tmp_path: Path, sig: signal.Signals
) -> None:
    proc = _spawn(tmp_path, store_url, "forever")
    run_id = _wait_for(proc, "RUN ")
    _wait_for(proc, "FLUSHED")
    time.sleep(1.0)
    killed_at_ms = time.time() * 1000
    os.kill(proc.pid, sig)
    proc.wait(timeout=30)
    with Workspace.open(store_url, settings=Settings(home=tmp_path)) as ws:
        run = ws.runs.get(run_id)  # the store is readable
        history = ws.runs.metric_history(run_id, "x")
    steps = [m.step for m in history]
    assert steps == list(range(len(steps))), "a gap or duplicate in what was written"
    assert len(steps) >= 5000
    newest = max(m.timestamp_ms for m in history)
    if sig == signal.SIGKILL:
        assert run.status is RunStatus.RUNNING
        assert newest >= killed_at_ms - 200 - 800  # one flush interval plus scheduling slack
    else:
        assert run.status is RunStatus.KILLED and "SIGTERM" in (run.error or "")
        assert newest >= killed_at_ms - 300


def test_eight_processes_logging_at_once_lose_nothing(store_url: str, tmp_path: Path) -> None:
    per_process = 3000
    procs = [_spawn(tmp_path, store_url, "burst", str(per_process)) for _ in range(8)]
    run_ids = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-2000:]
        ids = [line[4:].strip() for line in out.splitlines() if line.startswith("RUN ")]
        assert len(ids) == 1, f"stdout: {out[-2000:]!r} stderr: {err[-2000:]!r}"
        run_ids.append(ids[0])
    with Workspace.open(store_url, settings=Settings(home=tmp_path)) as ws:
        for run_id in run_ids:
            assert ws.runs.get(run_id).status is RunStatus.FINISHED
            assert len(ws.runs.metric_history(run_id, "x")) == per_process
