"""Usage records: the measured resources of one step run (or one ad-hoc run), as the pipeline runner
writes them. FinOps prices them; nothing here knows about prices or storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from triops.errors import InvalidInputError

#: Tags that allocate a cost to an owner; ``project`` and ``environment`` are columns of their own.
ALLOCATION_TAGS = ("team", "cost_centre")
#: Tags that attribute a cost to an ML object (read by rollups ``by="model"`` and ``by="dataset"``).
ATTRIBUTION_TAGS = ("model_version", "dataset")


_NUMBER = frozenset({int, float})


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """Resources one step run used. Times are unix milliseconds; sizes are bytes; durations seconds.

    ``requested_cpu`` (cores) and ``requested_memory_gb`` (GiB) are what the step asked for; pricing
    charges the larger of requested and used, as a scheduler reserves what was requested.
    """

    id: str
    run_id: str
    step_run_id: str | None
    project: str
    pipeline: str | None
    step: str | None
    started_ms: int
    ended_ms: int
    wall_s: float
    cpu_s: float
    peak_rss_bytes: int
    bytes_read: int
    bytes_written: int
    gpu_s: float
    gpu_model: str | None
    requested_cpu: float
    requested_memory_gb: float
    environment: str
    tags: dict[str, str] = field(default_factory=dict)
    #: predictions served in this record (serving usage); 0 for pipeline steps
    predictions: int = 0
    #: the step's own peak memory (its process's peak RSS while it ran minus the RSS when it started),
    #: which memory is priced on; None where it was not measured (serving, older records): then
    #: ``peak_rss_bytes`` is
    step_memory_bytes: int | None = None

    def __post_init__(self) -> None:
        # the metered record of every step comes here: plain ints and floats in range pass with one
        # expression; anything else goes through the checks below, which name the field at fault
        memory = self.step_memory_bytes
        if (
            type(self.wall_s) in _NUMBER
            and type(self.cpu_s) in _NUMBER
            and type(self.gpu_s) in _NUMBER
            and type(self.requested_cpu) in _NUMBER
            and type(self.requested_memory_gb) in _NUMBER
            and type(self.peak_rss_bytes) is int
            and type(self.bytes_read) is int
            and type(self.bytes_written) is int
            and type(self.started_ms) is int
            and type(self.ended_ms) is int
            and type(self.predictions) is int
            and (memory is None or (type(memory) is int and memory >= 0))
            and self.wall_s >= 0  # each compared (not min()): a NaN must fail, wherever it is
            and self.cpu_s >= 0
            and self.requested_cpu >= 0
            and self.requested_memory_gb >= 0
            and self.peak_rss_bytes >= 0
            and self.bytes_read >= 0
            and self.bytes_written >= 0
            and self.predictions >= 0
            and 0 <= self.started_ms <= self.ended_ms
            and (self.gpu_s == 0 or (self.gpu_s > 0 and self.gpu_model))
        ):
            return
        self._check()

    def _check(self) -> None:
        for name in ("wall_s", "cpu_s", "gpu_s", "requested_cpu", "requested_memory_gb"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise InvalidInputError(
                    f"usage record {self.id}: {name} is {value!r}; it must be a number ≥ 0",
                    hint="the meter reports non-negative seconds, cores and GiB",
                )
        for name in (
            "peak_rss_bytes",
            "bytes_read",
            "bytes_written",
            "started_ms",
            "ended_ms",
            "predictions",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidInputError(
                    f"usage record {self.id}: {name} is {value!r}; it must be an integer ≥ 0",
                    hint="bytes and unix-millisecond times are non-negative integers",
                )
        memory = self.step_memory_bytes
        if memory is not None and (isinstance(memory, bool) or not isinstance(memory, int) or memory < 0):
            raise InvalidInputError(
                f"usage record {self.id}: step_memory_bytes is {memory!r}; it must be an integer ≥ 0",
                hint="bytes are non-negative integers (or leave it out where it was not measured)",
            )
        if self.ended_ms < self.started_ms:
            raise InvalidInputError(
                f"usage record {self.id} ends ({self.ended_ms}) before it starts ({self.started_ms})",
                hint="ended_ms must be ≥ started_ms",
            )
        if self.gpu_s > 0 and not self.gpu_model:
            raise InvalidInputError(
                f"usage record {self.id} has {self.gpu_s} GPU-seconds but no gpu_model",
                hint="set gpu_model (e.g. 'A100') so the GPU-hour can be priced",
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "run_id": self.run_id,
            "step_run_id": self.step_run_id,
            "project": self.project,
            "pipeline": self.pipeline,
            "step": self.step,
            "started_ms": self.started_ms,
            "ended_ms": self.ended_ms,
            "wall_s": self.wall_s,
            "cpu_s": self.cpu_s,
            "peak_rss_bytes": self.peak_rss_bytes,
            "bytes_read": self.bytes_read,
            "bytes_written": self.bytes_written,
            "gpu_s": self.gpu_s,
            "gpu_model": self.gpu_model,
            "requested_cpu": self.requested_cpu,
            "requested_memory_gb": self.requested_memory_gb,
            "environment": self.environment,
            "tags": dict(self.tags),
            "predictions": self.predictions,
            "step_memory_bytes": self.step_memory_bytes,
        }

    @property
    def memory_bytes(self) -> int:
        """The memory this record is priced on: the step's own peak where measured, else peak RSS."""
        return self.peak_rss_bytes if self.step_memory_bytes is None else self.step_memory_bytes

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UsageRecord:
        return cls(
            **{**data, "tags": dict(data.get("tags") or {}), "predictions": int(data.get("predictions") or 0)}
        )
