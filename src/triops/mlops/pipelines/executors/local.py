"""The local executor: independent branches run at once in worker processes (``spawn``, or ``forkserver``).

Steps cross a process boundary by reference, so they must be module-level functions of an importable module.
A worker killed by the OS (out of memory, SIGKILL) breaks the pool: the step that was in that worker is
reported KILLED with the peak memory of its worker sampled while it ran, and "out of memory" only with
evidence (the kernel's OOM killer acted in our cgroup, or the RSS went over the step's ``memory_gb``); the
other steps in flight are resubmitted to a new pool, a bounded number of times.
"""

from __future__ import annotations

import ast
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import psutil

from triops.mlops.pipelines.authoring import Step
from triops.mlops.pipelines.executors.task import StepTask, TaskOutcome, execute_task
from triops.mlops.pipelines.metering import oom_kills, reset_peak_rss

#: times a step is resubmitted after its worker died before starting it (no pid file), before it fails
MAX_LOST_WORKERS = 3


def _worker_init() -> None:
    # Ctrl-C is the parent's to handle: it records the run as KILLED and stops the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    reset_peak_rss()


def _format_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"  # pragma: no cover


class LocalExecutor:
    name = "local"
    remote = True

    def __init__(self, max_workers: int | None = None, start_method: str = "spawn") -> None:
        self.max_workers = max_workers or max(1, os.cpu_count() or 1)
        self._context = multiprocessing.get_context(start_method)
        self._lock = threading.RLock()
        self._pool: ProcessPoolExecutor | None = None
        self._inflight: dict[str, tuple[StepTask, Future[TaskOutcome]]] = {}
        self._peaks: dict[str, int] = {}
        self._lost: dict[str, int] = {}
        self._oom_before: dict[str, int | None] = {}
        self._cancel_reason: str | None = None
        self._pid_dir = tempfile.mkdtemp(prefix="triops-pids-")
        self._stop = threading.Event()
        self._monitor = threading.Thread(target=self._sample, daemon=True, name="triops-rss-monitor")
        self._monitor.start()

    def _get_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._cancel_reason = None
                self._pool = ProcessPoolExecutor(
                    self.max_workers, mp_context=self._context, initializer=_worker_init
                )
            return self._pool

    def _pid_of(self, step_run_id: str) -> int | None:
        try:
            return int(Path(self._pid_dir, f"{step_run_id}.pid").read_text())
        except (OSError, ValueError):
            return None

    def _sample(self) -> None:
        """Sample the RSS of each in-flight step's worker, so a step the OS kills still has a peak figure."""
        while not self._stop.wait(0.05):
            with self._lock:
                ids = list(self._inflight)
            for step_run_id in ids:
                pid = self._pid_of(step_run_id)
                if pid is None:
                    continue
                try:
                    rss = psutil.Process(pid).memory_info().rss
                except (psutil.Error, OSError):
                    continue
                self._peaks[step_run_id] = max(self._peaks.get(step_run_id, 0), rss)

    def submit(self, task: StepTask, step: Step) -> Future[TaskOutcome]:
        task = _with_pid_dir(task, self._pid_dir)
        outer: Future[TaskOutcome] = Future()
        with self._lock:
            self._inflight[task.step_run_id] = (task, outer)
            self._oom_before[task.step_run_id] = oom_kills()
        self._start(task, outer)
        return outer

    def _start(self, task: StepTask, outer: Future[TaskOutcome]) -> None:
        pool = self._get_pool()
        try:
            inner = pool.submit(execute_task, task)
        except (BrokenProcessPool, RuntimeError):
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            pool = self._get_pool()
            inner = pool.submit(execute_task, task)
        inner.add_done_callback(lambda f: self._done(task, outer, f, pool))

    def _done(
        self,
        task: StepTask,
        outer: Future[TaskOutcome],
        inner: Future[TaskOutcome],
        pool: ProcessPoolExecutor,
    ) -> None:
        if outer.done():
            return
        exc = inner.exception()
        if exc is None:
            self._finish(task, outer, inner.result())
            return
        if self._cancel_reason is not None:
            self._finish(task, outer, _killed(task, self._cancel_reason, 0))
            return
        if isinstance(exc, BrokenProcessPool):
            pid = self._pid_of(task.step_run_id)
            code = _exit_code(pool, pid)
            if pid is not None and code is not None:
                peak = self._peaks.get(task.step_run_id, 0)
                reason = _signal_reason(code, self._memory_evidence(task, peak))
                message = (
                    f"step {task.node!r} was killed by the OS ({reason}) in worker pid {pid}; "
                    f"its peak memory {_format_bytes(peak)}"
                )
                self._finish(task, outer, _killed(task, message, peak))
                return
            # lost before it started (no pid file): an innocent bystander of a broken pool, or a worker that
            # cannot start at all; run it again on a fresh pool, a bounded number of times
            with self._lock:
                if self._pool is pool:
                    self._pool = None
                lost = self._lost[task.step_run_id] = self._lost.get(task.step_run_id, 0) + 1
            # a script without the __main__ guard cannot work on spawned workers: say so at the first loss
            if lost > MAX_LOST_WORKERS or missing_main_guard() is not None:
                self._finish(task, outer, _failed(task, _lost_message(task, lost)))
                return
            Path(self._pid_dir, f"{task.step_run_id}.pid").unlink(missing_ok=True)
            self._start(task, outer)
            return
        self._finish(task, outer, _failed(task, f"{type(exc).__name__}: {exc}"))

    def _memory_evidence(self, task: StepTask, peak: int) -> str | None:
        """Why a killed step ran out of memory, if there is evidence: the kernel's OOM killer acted in our
        cgroup while it ran, or its worker's RSS went over the step's ``memory_gb``. None otherwise."""
        before, after = self._oom_before.get(task.step_run_id), oom_kills()
        if before is not None and after is not None and after > before:
            return "the kernel's out-of-memory killer (its cgroup's oom_kill count rose)"
        if task.memory_bytes and peak > task.memory_bytes:
            return f"out of memory: over the step's memory_gb={task.memory_bytes / 2**30:g}"
        return None

    def _finish(self, task: StepTask, outer: Future[TaskOutcome], outcome: TaskOutcome) -> None:
        with self._lock:
            self._inflight.pop(task.step_run_id, None)
            self._oom_before.pop(task.step_run_id, None)
            self._lost.pop(task.step_run_id, None)
        self._peaks.pop(task.step_run_id, None)
        if not outer.done():
            outer.set_result(outcome)

    def cancel_running(self, reason: str) -> None:
        with self._lock:
            self._cancel_reason = reason
            pool, self._pool = self._pool, None
            inflight = list(self._inflight.values())
        if pool is not None:
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
        for task, outer in inflight:
            self._finish(task, outer, _killed(task, reason, self._peaks.get(task.step_run_id, 0)))

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        for path in Path(self._pid_dir).glob("*.pid"):
            path.unlink(missing_ok=True)
        Path(self._pid_dir).rmdir()


def _lost_message(task: StepTask, lost: int) -> str:
    script = missing_main_guard()
    if script is not None:
        return (
            f"step {task.node!r}: the worker process exited before it could start it: "
            f'{script} has no `if __name__ == "__main__":` guard, so every worker that imports it starts the '
            "pipeline again instead of running the step; put the code that runs the pipeline under that guard "
            "(or use executor='inline')"
        )
    return (
        f"step {task.node!r}: the worker processes exited before they could start it ({lost} times); "
        "their error is printed above (stderr); check that the step's module imports cleanly on its own"
    )


def missing_main_guard() -> str | None:
    """The path of the running script if it has no ``if __name__ == "__main__"`` block, else None.

    Spawned workers import the script as ``__mp_main__``: without the guard its top-level code runs again in
    every worker, which then cannot start processes of its own and dies before it runs a step."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not path or not str(path).endswith(".py"):
        return None
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, ast.If) and _is_main_test(node.test):
            return None
    return str(path)


def _is_main_test(test: ast.expr) -> bool:
    if not isinstance(test, ast.Compare) or len(test.comparators) != 1:
        return False
    sides = [test.left, test.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    consts = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return bool(names and consts)


def _with_pid_dir(task: StepTask, pid_dir: str) -> StepTask:
    from dataclasses import replace

    return replace(task, pid_dir=pid_dir)


def _exit_code(pool: ProcessPoolExecutor, pid: int | None) -> int | None:
    """The exit status of a dead worker (negative: killed by that signal), or None if it still runs."""
    if pid is None:
        return None
    process = getattr(pool, "_processes", {}).get(pid)
    code = getattr(process, "exitcode", None)
    if code is not None:
        return int(code)
    # The pool notices a dead worker when its pipe closes, which happens early in the kernel's exit path: on
    # a loaded machine the process may not be a zombie yet. Wait a moment for that; a bystander that still
    # runs after it is alive (the pool resubmits its step).
    deadline = time.monotonic() + 1.0
    try:
        proc = psutil.Process(pid)
        while proc.status() not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD):
            if time.monotonic() > deadline:
                return None
            time.sleep(0.02)
        return -signal.SIGKILL
    except psutil.NoSuchProcess:
        return -signal.SIGKILL


def _signal_reason(code: int, memory_evidence: str | None) -> str:
    """The signal or exit status; "out of memory" only with evidence (never for any SIGKILL)."""
    what = signal.Signals(-code).name if code < 0 else f"exit status {code}"
    return f"{what}; {memory_evidence}" if memory_evidence else what


def _killed(task: StepTask, message: str, peak: int) -> TaskOutcome:
    from triops.mlops.pipelines.hooks import StepUsage

    now = _now_ms()
    return TaskOutcome(task.step_run_id, "KILLED", 1, now, now, {}, StepUsage(peak_rss_bytes=peak), message)


def _failed(task: StepTask, message: str) -> TaskOutcome:
    now = _now_ms()
    return TaskOutcome(task.step_run_id, "FAILED", 1, now, now, error=message)


def _now_ms() -> int:
    import time

    return time.time_ns() // 1_000_000


__all__ = ["LocalExecutor"]
