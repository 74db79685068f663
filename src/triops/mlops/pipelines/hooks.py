"""Hooks: how the other pillars take part in a pipeline run without the runner knowing them.

The runner calls ``before_run``, ``before_step``, ``after_step``, ``after_run`` and ``on_failure`` on every
registered hook, with small frozen contexts. A hook that raises in ``before_run`` or ``before_step`` stops the
run cleanly: no further step starts, the run is marked FAILED with the hook's message (this is how budgets
and data gates stop runs). Errors raised in the other callbacks are recorded and do not change the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class ArtifactLink:
    """An input or output of a step run: argument/output name plus its content address."""

    name: str
    sha256: str
    size: int
    media_type: str


@dataclass(frozen=True, slots=True)
class RunContext:
    run_id: str
    project: str
    pipeline: str
    params: Mapping[str, Any]
    executor: str
    steps: tuple[str, ...]
    resumed_from: str | None = None


@dataclass(frozen=True, slots=True)
class StepContext:
    run_id: str
    project: str
    pipeline: str
    step: str
    step_run_id: str
    inputs: tuple[ArtifactLink, ...]
    params: Mapping[str, Any]
    resources: Mapping[str, float]
    contracts: Mapping[str, str]
    executor: str
    cache_key: str | None


@dataclass(frozen=True, slots=True)
class StepUsage:
    """What one step run used, measured where it ran."""

    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_bytes: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    gpu_s: float = 0.0
    gpu_model: str | None = None
    #: wall seconds spent importing the step's module in a fresh worker, before the step (not in wall_s)
    import_s: float = 0.0
    #: the step's own peak memory: the peak resident size of its process while it ran, minus the resident
    #: size when it started (``peak_rss_bytes`` is the process's whole peak); None where not measured
    step_memory_bytes: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "wall_s": self.wall_s,
            "cpu_s": self.cpu_s,
            "peak_rss_bytes": self.peak_rss_bytes,
            "bytes_read": self.bytes_read,
            "bytes_written": self.bytes_written,
            "gpu_s": self.gpu_s,
            "gpu_model": self.gpu_model,
            "step_memory_bytes": self.step_memory_bytes,
        }


@dataclass(frozen=True, slots=True)
class StepResult:
    step: str
    step_run_id: str
    status: str
    attempts: int
    started_ms: int
    ended_ms: int
    outputs: tuple[ArtifactLink, ...] = ()
    usage: StepUsage = field(default_factory=StepUsage)
    error: str | None = None
    cached: bool = False


@dataclass(frozen=True, slots=True)
class RunOutcome:
    run_id: str
    status: str
    error: str | None
    steps: Mapping[str, str]


@runtime_checkable
class Hook(Protocol):
    """Implement any subset; ``BaseHook`` gives no-op defaults to subclass."""

    def before_run(self, ctx: RunContext) -> None: ...

    def before_step(self, ctx: StepContext) -> None: ...

    def after_step(self, ctx: StepContext, result: StepResult) -> None: ...

    def after_run(self, ctx: RunContext, outcome: RunOutcome) -> None: ...

    def on_failure(self, ctx: StepContext, result: StepResult) -> None: ...


class BaseHook:
    """A hook that does nothing; subclass it and override what you need."""

    def before_run(self, ctx: RunContext) -> None:
        return None

    def before_step(self, ctx: StepContext) -> None:
        return None

    def after_step(self, ctx: StepContext, result: StepResult) -> None:
        return None

    def after_run(self, ctx: RunContext, outcome: RunOutcome) -> None:
        return None

    def on_failure(self, ctx: StepContext, result: StepResult) -> None:
        return None


def hook_name(hook: object) -> str:
    return str(getattr(hook, "name", None) or type(hook).__name__)


__all__ = [
    "ArtifactLink",
    "BaseHook",
    "Hook",
    "RunContext",
    "RunOutcome",
    "StepContext",
    "StepResult",
    "StepUsage",
    "hook_name",
]
