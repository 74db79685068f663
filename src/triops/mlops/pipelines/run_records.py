"""The record of a pipeline run as returned to callers, and the batched writer of step records.

Step records are written in batches (every 500 changes or 0.25 s, and at the end of the run) so that
orchestration costs well under a millisecond per step.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.engine import Connection

from triops.artifacts import ArtifactStore, StoredArtifact
from triops.domain.clock import Clock, utc_ms
from triops.domain.records import RunStatus
from triops.errors import PipelineError, RunStoppedError, StepFailedError
from triops.mlops.pipelines import materializers
from triops.mlops.pipelines.authoring import Dag
from triops.mlops.pipelines.cache import canonical_json
from triops.mlops.pipelines.hooks import (
    ArtifactLink,
)
from triops.mlops.pipelines.materializers import MaterializedRef
from triops.store.engine import Store
from triops.store.repositories import liveness
from triops.store.repositories import pipelines as repo
from triops.store.repositories import runs as runs_repo
from triops.store.repositories.pipelines import CacheEntry, LineageEdge, StepRunRow

OnFailure = Literal["stop", "continue"]
TERMINAL = frozenset({"CACHED", "DONE", "FAILED", "SKIPPED", "KILLED"})
Listener = Callable[[StepRunRow], None]


@dataclass(frozen=True, slots=True)
class PipelineRunResult:
    run_id: str
    pipeline: str
    project: str
    status: str
    error: str | None
    executor: str
    steps: tuple[StepRunRow, ...]
    outputs: Mapping[str, MaterializedRef] = field(default_factory=dict)
    resumed_from: str | None = None

    def step(self, name: str) -> StepRunRow:
        for row in self.steps:
            if row.step == name:
                return row
        raise KeyError(name)

    @property
    def statuses(self) -> dict[str, str]:
        return {row.step: row.status for row in self.steps}

    def raise_for_status(self) -> PipelineRunResult:
        if self.status == RunStatus.FINISHED.value:
            return self
        if self.error and self.error.startswith("stopped by"):
            raise RunStoppedError(self.error, hint=f"see `triops runs show {self.run_id}`")
        raise StepFailedError(
            self.error or f"run {self.run_id} {self.status}", hint=f"resume: triops runs resume {self.run_id}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "project": self.project,
            "status": self.status,
            "error": self.error,
            "executor": self.executor,
            "resumed_from": self.resumed_from,
            "steps": [row.to_dict() for row in self.steps],
            "outputs": {name: ref.to_dict() for name, ref in self.outputs.items()},
        }


class Recorder:
    """Batches step-run updates, lineage edges, cache entries and run artifacts into few transactions."""

    def __init__(
        self, store: Store, run_id: str, clock: Clock, every: int = 500, interval_s: float = 0.25
    ) -> None:
        self.store, self.run_id, self.clock = store, run_id, clock
        self.every, self.interval_s = every, interval_s
        self.rows: dict[str, StepRunRow] = {}
        self.edges: list[LineageEdge] = []
        self.cache: list[CacheEntry] = []
        self.artifacts: list[tuple[str, StoredArtifact]] = []
        self._last = time.monotonic()
        # the heartbeat thread flushes too: a step that runs for minutes must not keep the ones before it
        # unrecorded (a run killed meanwhile would show them PENDING)
        self._lock = threading.RLock()

    def step(self, row: StepRunRow) -> None:
        with self._lock:
            self.rows[row.id] = row
            self._maybe_flush()

    def add(
        self,
        edges: Sequence[LineageEdge],
        entry: CacheEntry | None,
        arts: Sequence[tuple[str, StoredArtifact]],
    ) -> None:
        with self._lock:
            self.edges.extend(edges)
            if entry is not None:
                self.cache.append(entry)
            self.artifacts.extend(arts)

    def _maybe_flush(self) -> None:
        if len(self.rows) + len(self.edges) >= self.every or time.monotonic() - self._last >= self.interval_s:
            self.flush()

    def flush(self, finish: Callable[[Connection], None] | None = None) -> None:
        with self._lock:
            self._flush(finish)

    def _flush(self, finish: Callable[[Connection], None] | None) -> None:
        rows, edges, cache, arts = list(self.rows.values()), self.edges, self.cache, self.artifacts
        self.rows, self.edges, self.cache, self.artifacts = {}, [], [], []
        self._last = time.monotonic()
        if not (rows or edges or cache or arts or finish):
            return
        now = utc_ms(self.clock.now())

        def write(conn: Connection) -> None:
            repo.update_step_runs(conn, rows)
            repo.insert_edges(conn, edges)
            repo.put_cache_entries(conn, cache)
            runs_repo.add_run_artifacts(conn, self.run_id, arts, now)
            if finish is not None:
                finish(conn)

        self.store.write(write)


class Heartbeat:
    """A daemon thread that records every ``interval_s`` that this process still runs the run, so that a
    run whose process was killed is marked LOST after the timeout instead of staying RUNNING forever."""

    def __init__(
        self, store: Store, run_id: str, clock: Clock, interval_s: float, recorder: Recorder | None = None
    ) -> None:
        self.store, self.run_id, self.clock, self.interval_s = store, run_id, clock, interval_s
        self.recorder = recorder
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, daemon=True, name=f"triops-heartbeat-{run_id[-8:]}"
        )

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                if self.recorder is not None:
                    self.recorder.flush()
                self.store.write(self._beat)
            except Exception:  # noqa: S112 - a store hiccup: the next beat tries again
                continue

    def _beat(self, conn: Connection) -> bool:
        return liveness.beat(conn, self.run_id, utc_ms(self.clock.now()))

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=max(5.0, self.interval_s))


def param_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return canonical_json(value)
    except TypeError:
        return f"<{type(value).__name__}>"


def split_literals(
    dag: Dag, artifacts: ArtifactStore
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, MaterializedRef]]]:
    """JSON-able literal arguments stay parameters; others (frames, arrays …) become input artifacts."""
    json_literals: dict[str, dict[str, Any]] = {}
    artifact_literals: dict[str, dict[str, MaterializedRef]] = {}
    for name, node in dag.nodes.items():
        plain: dict[str, Any] = {}
        stored: dict[str, MaterializedRef] = {}
        for arg, value in node.literals.items():
            if value is None or isinstance(value, str | int | float | bool):
                plain[arg] = value
                continue
            try:
                canonical_json(value)
                plain[arg] = value
            except (TypeError, ValueError):
                stored[arg] = materializers.materialize(value, artifacts, step=f"{name} (argument {arg!r})")
        json_literals[name] = plain
        artifact_literals[name] = stored
    return json_literals, artifact_literals


def check_importable(dag: Dag) -> None:
    for name, node in dag.nodes.items():
        fn = node.step.fn
        if "<locals>" in fn.__qualname__ or "<lambda>" in fn.__qualname__:
            raise PipelineError(
                f"step {name!r} ({fn.__qualname__}) is defined inside a function; the local and ray "
                "executors run steps in other processes and need importable module-level functions",
                hint="move the step to module level, or use executor='inline'",
            )


def link(name: str, ref: MaterializedRef) -> ArtifactLink:
    return ArtifactLink(name, ref.sha256, ref.size, ref.media_type)


def edges(
    row_id: str, inputs: Mapping[str, MaterializedRef], outputs: Mapping[str, MaterializedRef]
) -> list[LineageEdge]:
    return [
        LineageEdge(row_id, direction, name, r.sha256, r.size, r.media_type, r.materializer)
        for direction, refs in (("in", inputs), ("out", outputs))
        for name, r in refs.items()
    ]


__all__ = [
    "TERMINAL",
    "Heartbeat",
    "Listener",
    "OnFailure",
    "PipelineRunResult",
    "Recorder",
    "check_importable",
    "edges",
    "link",
    "param_text",
    "split_literals",
]
