"""A step killed by the kernel's out-of-memory killer is reported as out of memory, with that evidence.

``triops run`` runs in a memory cgroup of its own with a limit (as a container or a systemd slice would put
it); its step allocates past the limit and the kernel kills the worker. Creating a cgroup needs root and a
writable memory controller (cgroup v1 or v2); without them the test is skipped, saying so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

TRIOPS = str(Path(sys.executable).parent / "triops")
LIMIT = 700 * 2**20

FLOW = """
from triops import pipeline, step


@step
def allocate_until_killed() -> int:
    chunks = []
    for _ in range(200):  # up to 10 GB, 50 MB at a time, each page touched
        chunks.append(bytearray(50 * 2**20))
    return len(chunks)


@pipeline
def hungry():
    allocate_until_killed()
"""


def _memory_cgroup_root() -> Path | None:
    """Where this process's memory cgroup lives, if a child can be made there."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return Path("/sys/fs/cgroup/memory") / path.lstrip("/")
    unified = next(
        (ln for ln in Path("/proc/self/cgroup").read_text().splitlines() if ln.startswith("0::")), None
    )
    if unified is not None:
        base = Path("/sys/fs/cgroup") / unified[3:].lstrip("/")
        if "memory" in (base / "cgroup.subtree_control").read_text(errors="ignore").split():
            return base
    return None


@pytest.fixture
def limited_cgroup() -> Iterator[Path]:
    root = _memory_cgroup_root()
    if root is None or not os.access(root, os.W_OK):
        pytest.skip("needs root and a writable memory cgroup controller to create a limited cgroup")
    group = root / f"triops-oom-test-{os.getpid()}"
    group.mkdir()
    try:
        if (group / "memory.limit_in_bytes").exists():  # cgroup v1 (no swap here: limit memsw too if present)
            (group / "memory.limit_in_bytes").write_text(str(LIMIT))
            if (group / "memory.memsw.limit_in_bytes").exists():
                (group / "memory.memsw.limit_in_bytes").write_text(str(LIMIT))
        else:
            (group / "memory.max").write_text(str(LIMIT))
            (group / "memory.swap.max").write_text("0")
        yield group
    finally:
        _remove(group)


def _remove(group: Path) -> None:
    """Remove the cgroup once the last process born in it has exited (workers may outlive the run by moments)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            group.rmdir()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_a_worker_killed_by_the_kernel_oom_killer_is_reported_as_out_of_memory(
    limited_cgroup: Path, tmp_path: Path
) -> None:
    (tmp_path / "hungry.py").write_text(FLOW)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIOPS_")}
    procs = str(limited_cgroup / "cgroup.procs")
    done = subprocess.run(
        [TRIOPS, "run", f"{tmp_path / 'hungry.py'}:hungry", "--executor", "local", "--json"],
        env={**env, "TRIOPS_HOME": str(tmp_path)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        # the driver joins the limited cgroup before it starts; its workers are born there
        preexec_fn=lambda: Path(procs).write_text(str(os.getpid())),
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode == 1, (done.stdout[-2000:], done.stderr[-2000:])
    run = json.loads(done.stdout)
    [step] = run["steps"]
    assert step["status"] == "KILLED", step["error"]
    assert "out-of-memory killer" in step["error"], step["error"]
    assert step["peak_rss_bytes"] > 300 * 2**20  # the step's own peak, not the driver's
