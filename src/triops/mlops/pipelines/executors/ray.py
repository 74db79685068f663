"""The Ray executor: each step is a Ray task that reserves the step's ``resources`` (cpu, memory_gb, gpu).

``ray.init()`` starts a local cluster unless Ray is already initialised; ``address=`` (``--ray-address``) or
``RAY_ADDRESS`` joins an existing cluster. Workers are handed the store URL and the artifact root (the
driver's, or ``store_url=`` / ``artifact_root=`` when nodes reach them by other names) and check both before
their first step (``executors/reach.py``). ``custom.<name>`` resources pin steps to the nodes that have them.
Metering happens inside the Ray worker, as it runs the same ``execute_task`` as the other executors.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from concurrent.futures import Future
from typing import Any

from triops.errors import ConfigError
from triops.mlops.pipelines.authoring import Step
from triops.mlops.pipelines.executors.task import StepTask, TaskOutcome, execute_task
from triops.mlops.pipelines.hooks import StepUsage

INSTALL_HINT = "pip install 'triops[ray]'"


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ConfigError(
            "executor='ray' needs Ray, which is not installed", hint=f"install it with: {INSTALL_HINT}"
        ) from exc
    return ray


def _run(task: StepTask) -> TaskOutcome:
    return execute_task(task)


class RayExecutor:
    name = "ray"
    remote = True

    checks_reach = True

    def __init__(
        self,
        address: str | None = None,
        num_cpus: int | None = None,
        *,
        store_url: str | None = None,
        artifact_root: str | None = None,
        **init_options: Any,
    ) -> None:
        # what the workers reach the store and the artifact root by, when not what the driver uses
        self.store_url, self.artifact_root = store_url, artifact_root
        self._ray = ray = _import_ray()
        if not ray.is_initialized():
            address = address or os.environ.get("RAY_ADDRESS")
            options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, **init_options}
            if address:
                options["address"] = address
            else:
                # "local" starts a cluster of our own even when another one runs on this machine (plain
                # ray.init() would attach to it and then refuse num_cpus)
                options["address"] = "local"
                options["num_cpus"] = num_cpus
                # local workers import steps by module name: give them this process's import path
                path = os.pathsep.join(os.path.abspath(p) for p in sys.path if p)
                options.setdefault("runtime_env", {"env_vars": {"PYTHONPATH": path}})
            ray.init(**options)
        self._remote = ray.remote(_run)
        self._lock = threading.Lock()
        self._refs: dict[str, tuple[Any, StepTask, Future[TaskOutcome]]] = {}
        self._cancel_reason: str | None = None

    def submit(self, task: StepTask, step: Step) -> Future[TaskOutcome]:
        res = step.resources
        options: dict[str, Any] = {"num_cpus": res.cpu, "num_gpus": res.gpu, "max_retries": 0}
        if res.memory_gb > 0:
            options["memory"] = int(res.memory_gb * 2**30)
        if res.custom:
            options["resources"] = dict(res.custom)
        ref = self._remote.options(**options).remote(task)
        outer: Future[TaskOutcome] = Future()
        with self._lock:
            self._refs[task.step_run_id] = (ref, task, outer)
        inner = ref.future()
        inner.add_done_callback(lambda f: self._done(task, outer, f))
        return outer

    def _done(self, task: StepTask, outer: Future[TaskOutcome], inner: Future[Any]) -> None:
        with self._lock:
            self._refs.pop(task.step_run_id, None)
        if outer.done():
            return
        exc = inner.exception()
        if exc is None:
            outer.set_result(inner.result())
            return
        exceptions = self._ray.exceptions
        now = time.time_ns() // 1_000_000
        if self._cancel_reason is not None or isinstance(exc, exceptions.TaskCancelledError):
            message = self._cancel_reason or f"step {task.node!r} was cancelled"
            outer.set_result(TaskOutcome(task.step_run_id, "KILLED", 1, now, now, error=message))
        elif isinstance(exc, exceptions.OutOfMemoryError | exceptions.WorkerCrashedError):
            # Ray's memory monitor kills a worker only when its node runs out of memory: that is the
            # evidence, and its message gives the worker's own memory ("memory used=…GB"), not the node's
            peak = step_memory_from(str(exc))
            if isinstance(exc, exceptions.OutOfMemoryError):
                message = (
                    f"step {task.node!r} was killed by Ray's memory monitor (out of memory on its node); "
                    f"its peak memory {peak / 2**30:.2f} GiB"
                    if peak
                    else f"step {task.node!r} was killed by Ray's memory monitor (out of memory on its node)"
                )
            else:
                message = f"step {task.node!r}: its Ray worker died (killed by a signal or crashed): {exc}"
            outer.set_result(
                TaskOutcome(
                    task.step_run_id,
                    "KILLED",
                    1,
                    now,
                    now,
                    usage=StepUsage(peak_rss_bytes=peak),
                    error=message,
                )
            )
        else:
            outer.set_result(
                TaskOutcome(task.step_run_id, "FAILED", 1, now, now, error=f"{type(exc).__name__}: {exc}")
            )

    def cancel_running(self, reason: str) -> None:
        self._cancel_reason = reason
        with self._lock:
            refs = list(self._refs.values())
        for ref, _task, _outer in refs:
            self._ray.cancel(ref, force=True)

    def close(self) -> None:
        return None  # the Ray cluster outlives one run; ray.shutdown() is the caller's choice


def step_memory_from(message: str) -> int:
    """The killed worker's own memory in bytes from a Ray out-of-memory message (``pid=…, actual memory
    used=0.52GB``), never the node's total ("3.6GB / 3.8GB"); 0 when the message does not say."""
    import re

    match = re.search(r"memory used\s*[=:]\s*([\d.]+)\s*(GiB|GB)", message, re.IGNORECASE)
    if match is None:
        return 0
    scale = 2**30 if match.group(2).lower() == "gib" else 10**9
    return int(float(match.group(1)) * scale)


__all__ = ["INSTALL_HINT", "RayExecutor", "step_memory_from"]
