"""A ``triops run`` killed with SIGKILL cannot record its end: its heartbeat stops, the run is marked LOST
after the (here short) timeout, and ``triops runs resume`` accepts it and reuses what had finished."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

TRIOPS = str(Path(sys.executable).parent / "triops")

FLOW = """
import time
from pathlib import Path

from triops import pipeline, step


@step
def first() -> int:
    return 21


@step
def slow(x: int, flag: str) -> int:
    delay = float(Path(flag).read_text())
    Path(flag + ".started").write_text("1")
    time.sleep(delay)
    return 2 * x


@pipeline
def flow(flag: str):
    slow(first(), flag)
"""


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIOPS_")}
    return {
        **env,
        "TRIOPS_HOME": str(home),
        "TRIOPS_RUN_HEARTBEAT_S": "0.2",
        "TRIOPS_RUN_LOST_AFTER_S": "3",
        "COLUMNS": "120",
    }


def _triops(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TRIOPS, *args], env=_env(home), capture_output=True, text=True, timeout=180, check=False
    )


def _json(done: subprocess.CompletedProcess[str]) -> Any:
    assert "Traceback" not in done.stderr, done.stderr
    return json.loads(done.stdout)


def _wait_for(predicate: Any, what: str, timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_a_killed_triops_run_is_marked_lost_and_can_be_resumed(tmp_path: Path) -> None:
    (tmp_path / "lostflow.py").write_text(FLOW)
    flag = tmp_path / "delay"
    flag.write_text("600")
    proc = subprocess.Popen(
        [TRIOPS, "run", f"{tmp_path / 'lostflow.py'}:flow", "-p", f"flag={flag}"],
        env=_env(tmp_path),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_for(lambda: Path(f"{flag}.started").exists() or proc.poll() is not None, "the slow step")
        assert proc.poll() is None, "triops run ended early"
        [run] = _json(_triops(tmp_path, "runs", "list", "--json"))
        assert run["status"] == "RUNNING"

        refused = _triops(tmp_path, "runs", "resume", run["id"])
        assert refused.returncode == 1 and "is RUNNING" in refused.stderr
        assert "LOST" in refused.stderr and "Traceback" not in refused.stderr
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def lost() -> Any:
        shown = _json(_triops(tmp_path, "runs", "show", run["id"], "--json"))
        return shown if shown["status"] == "LOST" else None

    shown = _wait_for(lost, "the run to be marked LOST", timeout=90)
    assert "no heartbeat" in shown["error"] and "triops runs resume" in shown["error"]
    assert {s["step"]: s["status"] for s in shown["steps"]} == {"first": "DONE", "slow": "KILLED"}

    flag.write_text("0")
    done = _triops(tmp_path, "runs", "resume", run["id"], "--json")
    assert done.returncode == 0, done.stderr
    resumed = _json(done)
    assert resumed["status"] == "FINISHED" and resumed["resumed_from"] == run["id"]
    assert {s["step"]: s["status"] for s in resumed["steps"]} == {"first": "CACHED", "slow": "DONE"}
    # the lost run stays LOST: it ended, another run finished its work
    assert _json(_triops(tmp_path, "runs", "show", run["id"], "--json"))["status"] == "LOST"
