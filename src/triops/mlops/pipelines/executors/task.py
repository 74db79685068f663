"""What an executor runs: a picklable ``StepTask`` in, a ``TaskOutcome`` out.

``execute_task`` runs in the process where the step runs (the caller for ``inline``, a worker process for
``local``, a Ray worker for ``ray``): it loads the inputs, meters, retries with exponential backoff, enforces
the timeout, checks the return type against the annotation and materialises the outputs. The same code on
every executor is what makes their outputs, hashes and records the same.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import signal
import sys
import threading
import time
import traceback
import types
import typing
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from triops.artifacts import ArtifactStore
from triops.errors import MaterializerError, PipelineError
from triops.mlops.pipelines import materializers
from triops.mlops.pipelines.authoring import Step
from triops.mlops.pipelines.executors.reach import check_reach
from triops.mlops.pipelines.hooks import StepUsage
from triops.mlops.pipelines.materializers import MaterializedRef
from triops.mlops.pipelines.metering import Meter
from triops.mlops.pipelines.targets import import_location


@dataclass(frozen=True, slots=True)
class StepTask:
    step_run_id: str
    node: str
    module: str
    qualname: str
    module_file: str | None
    literals: dict[str, Any]
    inputs: dict[str, MaterializedRef]
    output_names: tuple[str, ...]
    multiple: bool
    retries: int
    retry_delay_s: float
    timeout_s: float | None
    gpus: float
    artifact_root: str
    pid_dir: str | None = None
    #: the step's declared ``memory_gb`` in bytes (0: none), the limit an RSS is judged against
    memory_bytes: int = 0
    #: set for workers on other machines (Ray): the store they must reach, checked with the artifact root
    store_url: str | None = None
    #: exact type names a model-file input may hold besides the built-in allow-list (never prefixes)
    trusted_types: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    step_run_id: str
    status: str  # DONE, FAILED or KILLED
    attempts: int
    started_ms: int
    ended_ms: int
    outputs: dict[str, MaterializedRef] = field(default_factory=dict)
    usage: StepUsage = field(default_factory=StepUsage)
    error: str | None = None
    traceback: str | None = None
    pid: int = 0


class StepTimeoutError(Exception):
    """A step ran past its ``timeout``."""


class _TypeMismatchError(Exception):
    pass


def _lookup(module: types.ModuleType, qualname: str) -> Any:
    obj: Any = module
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    return obj


def _load_main(path: str) -> types.ModuleType:
    """The caller's script, imported under another name so its ``if __name__ == "__main__"`` block stays idle."""
    name = "__triops_main__"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def resolve_step(task: StepTask) -> Callable[..., Any]:
    """Import the step's module and find the step by its qualified name (in a worker process)."""
    try:
        module = sys.modules.get(task.module)
        if (
            task.module == "__main__"
            and task.module_file
            and (module is None or _lookup(module, task.qualname) is None)
        ):
            module = _load_main(task.module_file)
        if module is None:
            module = import_location(task.module, task.module_file)
    except Exception as exc:
        raise PipelineError(
            f"step {task.node!r}: cannot import module {task.module!r} in the worker: {exc}",
            hint="the local and ray executors need module-level steps in importable modules",
        ) from exc
    obj = _lookup(module, task.qualname)
    if obj is None:
        raise PipelineError(
            f"step {task.node!r}: {task.module}.{task.qualname} is not a module-level name",
            hint="define steps at module level so worker processes can import them, or use executor='inline'",
        )
    return obj.fn if isinstance(obj, Step) else typing.cast(Callable[..., Any], obj)


def matches(value: Any, annotation: Any) -> bool:
    """Whether ``value`` fits ``annotation`` (shallow for generic containers)."""
    if annotation is Any or annotation is object:
        return True
    if annotation is None or annotation is type(None):
        return value is None
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return (isinstance(value, int | float) and not isinstance(value, bool)) or _numpy_float(value)
    if type(annotation) is type:
        return isinstance(value, annotation)  # a plain class (not a generic alias): the common case, at once
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return any(matches(value, a) for a in typing.get_args(annotation))
    if origin is typing.Literal:
        return value in typing.get_args(annotation)
    if origin is typing.Annotated:
        return matches(value, typing.get_args(annotation)[0])
    if origin is tuple:
        args = typing.get_args(annotation)
        if not isinstance(value, tuple):
            return False
        if args and Ellipsis not in args:
            return len(value) == len(args) and all(matches(v, a) for v, a in zip(value, args, strict=True))
        return True
    if origin is not None:
        return isinstance(value, origin) if isinstance(origin, type) else True
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True  # TypeVar, NewType, unresolved forward reference: not checked


def _numpy_float(value: Any) -> bool:
    return type(value).__module__ == "numpy" and hasattr(value, "dtype") and value.dtype.kind == "f"


def describe(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__ if annotation.__module__ == "builtins" else annotation.__qualname__
    return str(annotation).replace("typing.", "")


def _call(fn: Callable[..., Any], kwargs: dict[str, Any], timeout: float | None) -> Any:
    if timeout is None:
        return fn(**kwargs)
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):

        def alarm(_signum: int, _frame: Any) -> None:
            raise StepTimeoutError(f"timed out after {timeout:g} s")

        previous = signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            return fn(**kwargs)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn(**kwargs)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True, name="triops-step")
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise StepTimeoutError(f"timed out after {timeout:g} s (the step's thread was abandoned)")
    if "error" in box:
        raise box["error"]
    return box.get("value")


@functools.lru_cache(maxsize=16)
def _artifact_store(root: str) -> ArtifactStore:
    """One store object per root in this process (a worker runs many steps against the same root)."""
    return ArtifactStore(root)


def execute_task(
    task: StepTask,
    *,
    fn: Callable[..., Any] | None = None,
    return_type: Any = Any,
    memory: MutableMapping[str, Any] | None = None,
) -> TaskOutcome:
    """Run one step where this function is called. ``memory`` (inline executor) maps sha256 → value, so
    in-process runs skip reloading what they just produced."""
    meter = Meter()
    attempts = 0
    import_s = 0.0
    if task.pid_dir:
        Path(task.pid_dir, f"{task.step_run_id}.pid").write_text(str(os.getpid()))
    try:
        if task.store_url is not None:
            check_reach(task.node, task.store_url, task.artifact_root)
        if fn is None:
            # importing the step's module (numpy, sklearn, … in a fresh worker) is metered apart from the
            # step: it is the worker's start-up, not the step's work
            t0 = time.perf_counter()
            fn = resolve_step(task)
            return_type = typing.get_type_hints(fn).get("return", Any)
            import_s = time.perf_counter() - t0
        meter.start()
        artifacts = _artifact_store(task.artifact_root)
        kwargs = dict(task.literals)
        bytes_read = 0
        for arg, ref in task.inputs.items():
            bytes_read += ref.size
            if memory is not None and ref.sha256 in memory:
                kwargs[arg] = memory[ref.sha256]
            else:
                kwargs[arg] = materializers.load(ref, artifacts, trusted=task.trusted_types)
                if memory is not None:
                    memory[ref.sha256] = kwargs[arg]
        while True:
            attempts += 1
            try:
                value = _call(fn, kwargs, task.timeout_s)
                break
            except Exception:
                if attempts > task.retries:
                    raise
                time.sleep(task.retry_delay_s * 2 ** (attempts - 1))
        if not matches(value, return_type):
            raise _TypeMismatchError(
                f"step {task.node!r} returned {type(value).__module__}.{type(value).__qualname__}, "
                f"expected {describe(return_type)}"
            )
        values = value if task.multiple else (value,)
        if len(values) != len(task.output_names):
            raise _TypeMismatchError(
                f"step {task.node!r} returned {len(values)} values, expected {len(task.output_names)} "
                f"({', '.join(task.output_names)})"
            )
        outputs: dict[str, MaterializedRef] = {}
        for name, obj in zip(task.output_names, values, strict=True):
            ref = materializers.materialize(obj, artifacts, step=task.node)
            outputs[name] = ref
            if memory is not None:
                memory[ref.sha256] = obj
        usage = meter.stop(
            bytes_read=bytes_read,
            bytes_written=sum(r.size for r in outputs.values()),
            gpus=task.gpus,
            import_s=import_s,
        )
        return TaskOutcome(
            task.step_run_id,
            "DONE",
            attempts,
            meter.started_ms,
            meter.started_ms + round(usage.wall_s * 1000),
            outputs,
            usage,
            pid=os.getpid(),
        )
    except Exception as exc:
        if not meter.started_ms:
            meter.start()  # failed while importing the step: nothing of the step ran
        usage = meter.stop(gpus=task.gpus, import_s=import_s)
        if isinstance(exc, _TypeMismatchError | MaterializerError | StepTimeoutError | PipelineError):
            message = str(exc)
        else:
            message = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, StepTimeoutError):
            message = f"step {task.node!r} {exc}"
        return TaskOutcome(
            task.step_run_id,
            "FAILED",
            max(attempts, 1),
            meter.started_ms,
            meter.started_ms + round(usage.wall_s * 1000),
            {},
            usage,
            message,
            traceback.format_exc(),
            os.getpid(),
        )


__all__ = [
    "StepTask",
    "StepTimeoutError",
    "TaskOutcome",
    "describe",
    "execute_task",
    "matches",
    "resolve_step",
]
