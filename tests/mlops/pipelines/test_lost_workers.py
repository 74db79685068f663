"""Workers lost before they start a step are retried a bounded number of times, then the step fails with
an error naming the cause; a script without the ``__main__`` guard finishes quickly with that error."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from triops.mlops.pipelines.executors.local import MAX_LOST_WORKERS

SCRIPT = """
import multiprocessing

import triops
from triops import pipeline, step


@step
def one() -> int:
    return 1


@step
def double(x: int) -> int:
    return 2 * x


@pipeline
def numbers():
    double(one())


{head}
ws = triops.Workspace.open({store!r}, artifact_root={root!r}, settings=triops.Settings(home={home!r}))
result = ws.run_pipeline(numbers, executor="local")
print("STATUS", result.status)
print("ERROR", result.error)
"""

# a guarded script whose top-level code fails in every worker: workers die before they start a step
BROKEN_IN_WORKERS = """
if getattr(multiprocessing.current_process(), "_inheriting", False):  # a worker importing this script
    raise SystemExit(3)
if __name__ == "__main__":
"""


def _script(tmp_path: Path, head: str = "") -> Path:
    text = textwrap.dedent(
        SCRIPT.format(
            store=f"sqlite:///{tmp_path / 'triops.db'}",
            root=str(tmp_path / "artifacts"),
            home=str(tmp_path),
            head=head,
        )
    )
    if head:  # the lines after the head go under its `if __name__ == "__main__":`
        before, after = text.split(head, 1)
        text = before + head + textwrap.indent(after, "    ")
    path = tmp_path / "train.py"
    path.write_text(text)
    return path


@pytest.mark.slow
def test_a_script_without_the_main_guard_fails_with_an_error_naming_it(tmp_path: Path) -> None:
    script = _script(tmp_path)
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "STATUS FAILED" in done.stdout
    error = done.stdout.split("ERROR", 1)[1]
    assert 'if __name__ == "__main__":' in error and str(script) in error
    # it fails at the first lost worker (the cause is known): each worker printed its error once, a few
    # tracebacks, not thousands
    assert done.stderr.count("Traceback") <= 4
    # the workers that re-ran the script recorded nothing: only the parent's run is in the store
    import triops

    ws = triops.Workspace.open(f"sqlite:///{tmp_path / 'triops.db'}", settings=triops.Settings(home=tmp_path))
    try:
        runs = ws.runs.search()
        assert [r.status.value for r in runs] == ["FAILED"]
    finally:
        ws.close()


@pytest.mark.slow
def test_workers_lost_before_they_start_are_retried_a_bounded_number_of_times(tmp_path: Path) -> None:
    script = _script(tmp_path, BROKEN_IN_WORKERS)
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "STATUS FAILED" in done.stdout
    error = done.stdout.split("ERROR", 1)[1]
    assert f"exited before they could start it ({MAX_LOST_WORKERS + 1} times)" in error
    assert "__main__" not in error  # the guard is there: another cause, not blamed on it


def test_ray_out_of_memory_reports_the_workers_own_memory_not_the_nodes() -> None:
    from triops.mlops.pipelines.executors.ray import step_memory_from

    # the message Ray 2.x's memory monitor gives a killed task (raylet: "... pid=%d, actual memory used=%sGB")
    message = (
        "Task was killed due to the node running low on memory.\n"
        "Memory on the node (IP: 10.0.0.7, ID: 6f1d) where the lease (lease ID: 01, name=_run, "
        "pid=4242, actual memory used=0.52GB, worker ID=ab12) was running was 3.62GB / 3.80GB (0.952), "
        "which exceeds the memory usage threshold of 0.95."
    )
    assert step_memory_from(message) == int(0.52e9)
    assert step_memory_from("Memory on the node was 3.62GB / 3.80GB") == 0
