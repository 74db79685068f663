"""Running a pipeline: the run row, step runs, hooks, cache hits, failures, Ctrl-C and resume.

``run_pipeline`` validates the parameters and builds the DAG before anything runs, records the run (a
``runs`` row of kind ``pipeline``) and one PENDING step run per step, then schedules steps as their inputs
become ready on the chosen executor. Step records are written in batches (every 200 changes or 0.25 s, and
at the end) so that orchestration costs well under a millisecond per step.
"""

from __future__ import annotations

import heapq
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from sqlalchemy.engine import Connection

from triops.artifacts import ArtifactStore, StoredArtifact
from triops.domain.clock import Clock, SystemClock, utc_ms
from triops.domain.ids import new_id
from triops.domain.records import RunStatus
from triops.errors import ConflictError, InvalidInputError, PipelineError, RunStoppedError, StepFailedError
from triops.mlops import materializers
from triops.mlops.cache import cache_key, canonical_json, function_fingerprint
from triops.mlops.executors import Executor, make_executor
from triops.mlops.executors.task import StepTask, TaskOutcome
from triops.mlops.hooks import (
    ArtifactLink,
    Hook,
    RunContext,
    RunOutcome,
    StepContext,
    StepResult,
    StepUsage,
    hook_name,
)
from triops.mlops.materializers import MaterializedRef
from triops.mlops.pipelines import Dag, Pipeline, load_target, target_of
from triops.store.engine import Store
from triops.store.repositories import pipelines as repo
from triops.store.repositories import runs as runs_repo
from triops.store.repositories.pipelines import CacheEntry, LineageEdge, PipelineRunRow, StepRunRow

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


class _Recorder:
    """Batches step-run updates, lineage edges, cache entries and run artifacts into few transactions."""

    def __init__(
        self, store: Store, run_id: str, clock: Clock, every: int = 200, interval_s: float = 0.25
    ) -> None:
        self.store, self.run_id, self.clock = store, run_id, clock
        self.every, self.interval_s = every, interval_s
        self.rows: dict[str, StepRunRow] = {}
        self.edges: list[LineageEdge] = []
        self.cache: list[CacheEntry] = []
        self.artifacts: list[tuple[str, StoredArtifact]] = []
        self._last = time.monotonic()

    def step(self, row: StepRunRow) -> None:
        self.rows[row.id] = row
        self._maybe_flush()

    def add(
        self,
        edges: Sequence[LineageEdge],
        entry: CacheEntry | None,
        arts: Sequence[tuple[str, StoredArtifact]],
    ) -> None:
        self.edges.extend(edges)
        if entry is not None:
            self.cache.append(entry)
        self.artifacts.extend(arts)

    def _maybe_flush(self) -> None:
        if len(self.rows) + len(self.edges) >= self.every or time.monotonic() - self._last >= self.interval_s:
            self.flush()

    def flush(self, finish: Callable[[Connection], None] | None = None) -> None:
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
            bulk = getattr(runs_repo, "add_run_artifacts", None)  # one statement per batch where available
            if bulk is not None:
                bulk(conn, self.run_id, arts, now)
            else:
                for name, stored in arts:
                    runs_repo.add_run_artifact(conn, self.run_id, name, stored, now)
            if finish is not None:
                finish(conn)

        self.store.write(write)


def _param_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return canonical_json(value)
    except TypeError:
        return f"<{type(value).__name__}>"


def _split_literals(
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


def _check_importable(dag: Dag) -> None:
    for name, node in dag.nodes.items():
        fn = node.step.fn
        if "<locals>" in fn.__qualname__ or "<lambda>" in fn.__qualname__:
            raise PipelineError(
                f"step {name!r} ({fn.__qualname__}) is defined inside a function; the local and ray "
                "executors run steps in other processes and need importable module-level functions",
                hint="move the step to module level, or use executor='inline'",
            )


def _link(name: str, ref: MaterializedRef) -> ArtifactLink:
    return ArtifactLink(name, ref.sha256, ref.size, ref.media_type)


def _edges(
    row_id: str, inputs: Mapping[str, MaterializedRef], outputs: Mapping[str, MaterializedRef]
) -> list[LineageEdge]:
    return [
        LineageEdge(row_id, direction, name, r.sha256, r.size, r.media_type, r.materializer)
        for direction, refs in (("in", inputs), ("out", outputs))
        for name, r in refs.items()
    ]


class _Run:
    """The state of one pipeline run while it executes."""

    def __init__(
        self,
        *,
        store: Store,
        artifacts: ArtifactStore,
        pipeline: Pipeline,
        dag: Dag,
        values: dict[str, Any],
        project: str,
        executor: Executor,
        hooks: Sequence[Hook],
        use_cache: bool,
        on_failure: OnFailure,
        clock: Clock,
        listener: Listener | None,
        reuse: Mapping[str, tuple[str, dict[str, MaterializedRef]]],
        resumed_from: str | None,
    ) -> None:
        self.store, self.artifacts, self.pipeline, self.dag = store, artifacts, pipeline, dag
        self.values, self.project, self.executor, self.hooks = values, project, executor, hooks
        self.use_cache, self.on_failure, self.clock, self.listener = use_cache, on_failure, clock, listener
        self.reuse, self.resumed_from = reuse, resumed_from
        self.run_id = new_id(utc_ms(clock.now()))
        self.order = dag.order()
        self.position = {n: i for i, n in enumerate(self.order)}
        self.children: dict[str, list[str]] = {n: [] for n in dag.nodes}
        for n, node in dag.nodes.items():
            for u in node.upstream:
                self.children[u].append(n)
        self.waiting = {n: len(dag.nodes[n].upstream) for n in dag.nodes}
        self.rows: dict[str, StepRunRow] = {}
        self.outputs: dict[str, dict[str, MaterializedRef]] = {}
        self.inputs: dict[str, dict[str, MaterializedRef]] = {}
        self.contexts: dict[str, StepContext] = {}
        self.failure: str | None = None
        self.stop_reason: str | None = None
        self.stopping = False
        self.recorder = _Recorder(store, self.run_id, clock)

    # ---- recording ----
    def _set(self, node: str, **changes: Any) -> StepRunRow:
        row = replace(self.rows[node], **changes)
        self.rows[node] = row
        self.recorder.step(row)
        if self.listener is not None:
            self.listener(row)
        return row

    def _call_hooks(self, method: str, *args: Any) -> None:
        for hook in self.hooks:
            callback = getattr(hook, method, None)
            if callback is None:
                continue
            try:
                callback(*args)
            except Exception:  # noqa: S112 - only before_* hooks may stop a run
                continue

    def _gate(self, method: str, arg: Any, where: str) -> str | None:
        for hook in self.hooks:
            callback = getattr(hook, method, None)
            if callback is None:
                continue
            try:
                callback(arg)
            except Exception as exc:
                return f"stopped by {hook_name(hook)} {where}: {exc}"
        return None

    # ---- life cycle ----
    def create(
        self, target: str, executor_name: str, name: str | None, user: str | None, tags: Mapping[str, str]
    ) -> None:
        now = utc_ms(self.clock.now())
        self.json_literals, self.artifact_literals = _split_literals(self.dag, self.artifacts)
        params_json: dict[str, Any] = {}
        for key, value in self.values.items():
            try:
                canonical_json(value)
                params_json[key] = value
            except (TypeError, ValueError):
                continue
        for n in self.order:
            node = self.dag.nodes[n]
            self.rows[n] = StepRunRow(
                id=new_id(now),
                run_id=self.run_id,
                step=n,
                function=f"{node.step.fn.__module__}:{node.step.fn.__qualname__}",
                position=self.position[n],
                upstream=sorted(node.upstream, key=self.position.__getitem__),
                status="PENDING",
                resources=node.step.resources.to_dict(),
                executor=executor_name,
            )
        run_tags = {"triops.pipeline": self.pipeline.name, **dict(tags)}
        if self.resumed_from:
            run_tags["triops.resumed_from"] = self.resumed_from

        def write(conn: Connection) -> None:
            project_id = runs_repo.ensure_project(conn, self.project, now)
            runs_repo.create_run(
                conn,
                run_id=self.run_id,
                project_id=project_id,
                name=name or self.pipeline.name,
                kind="pipeline",
                start_ms=now,
                user_name=user,
                tags=run_tags,
            )
            runs_repo.log_params(conn, self.run_id, {k: _param_text(v) for k, v in self.values.items()})
            repo.create_pipeline_run(
                conn,
                PipelineRunRow(
                    self.run_id,
                    self.pipeline.name,
                    target,
                    params_json,
                    executor_name,
                    self.on_failure,
                    self.use_cache,
                    self.resumed_from,
                    now,
                ),
            )
            repo.insert_step_runs(conn, list(self.rows.values()))

        self.store.write(write)
        if self.listener is not None:
            for row in self.rows.values():
                self.listener(row)

    def execute(self) -> str:
        """Run every step; returns the run status. Ctrl-C propagates after the run is recorded KILLED."""
        self.run_ctx = RunContext(
            self.run_id,
            self.project,
            self.pipeline.name,
            dict(self.values),
            self.executor.name,
            tuple(self.order),
            self.resumed_from,
        )
        reason = self._gate("before_run", self.run_ctx, "before the run")
        if reason is not None:
            self.stop_reason = reason
            self.stopping = True
        ready = [(self.position[n], n) for n in self.order if self.waiting[n] == 0]
        heapq.heapify(ready)
        running: dict[Future[TaskOutcome], str] = {}
        try:
            while True:
                while ready and not self.stopping:
                    _, node = heapq.heappop(ready)
                    future = self._launch(node, ready)
                    if future is not None:
                        if future.done():
                            self._complete(node, future.result(), ready)
                        else:
                            running[future] = node
                if not running:
                    break
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in done:
                    self._complete(running.pop(future), future.result(), ready)
        except KeyboardInterrupt:
            self.executor.cancel_running("interrupted (Ctrl-C)")
            for node, row in self.rows.items():
                if row.status == "RUNNING":
                    now = utc_ms(self.clock.now())
                    self._set(node, status="KILLED", ended_ms=now, error="interrupted (Ctrl-C)")
            self._finish(RunStatus.KILLED, "interrupted (Ctrl-C)")
            raise
        if self.stop_reason is not None:
            status, error = RunStatus.FAILED, self.stop_reason
        elif self.failure is not None:
            status, error = RunStatus.FAILED, self.failure
        else:
            status, error = RunStatus.FINISHED, None
        self._finish(status, error)
        return status.value

    def _finish(self, status: RunStatus, error: str | None) -> None:
        now = utc_ms(self.clock.now())
        for node, row in self.rows.items():
            if row.status not in TERMINAL:
                self._set(
                    node, status="SKIPPED", error=row.error or self.stop_reason or self.failure or error
                )
        self.status, self.error = status.value, error
        self.recorder.flush(lambda conn: runs_repo.finish_run(conn, self.run_id, status.value, now, error))
        outcome = RunOutcome(self.run_id, status.value, error, {n: r.status for n, r in self.rows.items()})
        self._call_hooks("after_run", self.run_ctx, outcome)

    # ---- steps ----
    def _launch(self, node: str, ready: list[tuple[int, str]]) -> Future[TaskOutcome] | None:
        spec = self.dag.nodes[node]
        step_ = spec.step
        inputs = dict(self.artifact_literals[node])
        for arg, placeholder in spec.inputs.items():
            inputs[arg] = self.outputs[placeholder.node][placeholder.output]
        self.inputs[node] = inputs
        literals = self.json_literals[node]
        key = cache_key(function_fingerprint(step_.fn), literals, {a: r.sha256 for a, r in inputs.items()})
        row = self.rows[node]
        ctx = StepContext(
            self.run_id,
            self.project,
            self.pipeline.name,
            node,
            row.id,
            tuple(_link(a, r) for a, r in inputs.items()),
            literals,
            step_.resources.to_dict(),
            step_.contracts,
            self.executor.name,
            key,
        )
        self.contexts[node] = ctx
        reason = self._gate("before_step", ctx, f"before step {node!r}")
        if reason is not None:
            self.stop_reason, self.stopping = reason, True
            self._set(node, status="SKIPPED", cache_key=key, error=reason)
            return None
        hit = self._lookup(key, step_.cache)
        if hit is not None:
            source, outputs = hit
            now = utc_ms(self.clock.now())
            self._set(
                node,
                status="CACHED",
                cache_key=key,
                cached_from=source,
                started_ms=now,
                ended_ms=now,
                wall_s=0.0,
                cpu_s=0.0,
                peak_rss_bytes=0,
                bytes_read=0,
                bytes_written=0,
                gpu_s=0.0,
            )
            self._succeeded(node, outputs, None, ready, cached=True)
            return None
        now = utc_ms(self.clock.now())
        self._set(node, status="RUNNING", cache_key=key, started_ms=now)
        task = StepTask(
            step_run_id=row.id,
            node=node,
            module=step_.fn.__module__,
            qualname=step_.fn.__qualname__,
            module_file=getattr(sys.modules.get(step_.fn.__module__), "__file__", None),
            literals=literals,
            inputs=inputs,
            output_names=step_.output_names,
            multiple=step_.multiple_outputs,
            retries=step_.retries,
            retry_delay_s=step_.retry_delay_s,
            timeout_s=step_.timeout,
            gpus=step_.resources.gpu,
            artifact_root=self.artifacts.root,
        )
        return self.executor.submit(task, step_)

    def _lookup(self, key: str, step_cache: bool) -> tuple[str, dict[str, MaterializedRef]] | None:
        found = self.reuse.get(key)
        if found is None and step_cache and self.use_cache:
            with self.store.connect() as conn:
                entry = repo.get_cache_entry(conn, key)
            if entry is not None:
                found = (entry.step_run_id, {o["name"]: MaterializedRef.from_dict(o) for o in entry.outputs})
        if found is None:
            return None
        if not all(self.artifacts.exists(ref.sha256) for ref in found[1].values()):
            return None  # an artifact was removed by hand: run the step again
        return found

    def _succeeded(
        self,
        node: str,
        outputs: dict[str, MaterializedRef],
        row_id: str | None,
        ready: list[tuple[int, str]],
        *,
        cached: bool,
    ) -> None:
        row = self.rows[node]
        self.outputs[node] = outputs
        entry = None
        if row_id is not None and self.dag.nodes[node].step.cache and row.cache_key:
            entry = CacheEntry(
                row.cache_key,
                node,
                row_id,
                [{"name": n, **r.to_dict()} for n, r in outputs.items()],
                utc_ms(self.clock.now()),
            )
        arts = [(f"{node}/{n}", StoredArtifact(r.sha256, r.size, r.media_type)) for n, r in outputs.items()]
        self.recorder.add(_edges(row.id, self.inputs[node], outputs), entry, arts)
        self._call_hooks("after_step", self.contexts[node], self._result(row, outputs, cached))
        for child in self.children[node]:
            self.waiting[child] -= 1
            if self.waiting[child] == 0:
                heapq.heappush(ready, (self.position[child], child))

    def _result(self, row: StepRunRow, outputs: Mapping[str, MaterializedRef], cached: bool) -> StepResult:
        usage = StepUsage(
            row.wall_s or 0.0,
            row.cpu_s or 0.0,
            row.peak_rss_bytes or 0,
            row.bytes_read or 0,
            row.bytes_written or 0,
            row.gpu_s or 0.0,
            row.gpu_model,
        )
        return StepResult(
            row.step,
            row.id,
            row.status,
            row.attempt,
            row.started_ms or 0,
            row.ended_ms or 0,
            tuple(_link(n, r) for n, r in outputs.items()),
            usage,
            row.error,
            cached,
        )

    def _complete(self, node: str, outcome: TaskOutcome, ready: list[tuple[int, str]]) -> None:
        u = outcome.usage
        row = self._set(
            node,
            status=outcome.status,
            attempt=outcome.attempts,
            started_ms=outcome.started_ms,
            ended_ms=outcome.ended_ms,
            error=outcome.error,
            traceback=outcome.traceback,
            wall_s=u.wall_s,
            cpu_s=u.cpu_s,
            peak_rss_bytes=u.peak_rss_bytes,
            bytes_read=u.bytes_read,
            bytes_written=u.bytes_written,
            gpu_s=u.gpu_s,
            gpu_model=u.gpu_model,
        )
        if outcome.status == "DONE":
            self._succeeded(node, dict(outcome.outputs), row.id, ready, cached=False)
            return
        if self.stopping and outcome.status == "KILLED":
            return  # cancelled because another step failed or a hook stopped the run
        message = outcome.error or outcome.status
        if self.failure is None:
            self.failure = message if message.startswith("step ") else f"step {node!r} failed: {message}"
        self._call_hooks("on_failure", self.contexts[node], self._result(row, {}, False))
        for child in sorted(self.dag.downstream(node), key=self.position.__getitem__):
            if self.rows[child].status == "PENDING":
                self._set(child, status="SKIPPED", error=f"upstream step {node!r} did not finish")
        if self.on_failure == "stop":
            self.stopping = True
            self.executor.cancel_running(f"cancelled: step {node!r} failed")

    def result(self) -> PipelineRunResult:
        outputs = {f"{n}/{o}": ref for n, refs in self.outputs.items() for o, ref in refs.items()}
        return PipelineRunResult(
            self.run_id,
            self.pipeline.name,
            self.project,
            self.status,
            self.error,
            self.executor.name,
            tuple(self.rows[n] for n in self.order),
            outputs,
            self.resumed_from,
        )


def run_pipeline(
    store: Store,
    artifacts: ArtifactStore,
    pipeline: Pipeline,
    params: Mapping[str, Any] | None = None,
    *,
    project: str = "default",
    executor: str | Executor = "inline",
    executor_options: Mapping[str, Any] | None = None,
    hooks: Sequence[Hook] = (),
    use_cache: bool = True,
    on_failure: OnFailure = "stop",
    name: str | None = None,
    user_name: str | None = None,
    tags: Mapping[str, str] | None = None,
    listener: Listener | None = None,
    clock: Clock | None = None,
    target: str | None = None,
    resumed_from: str | None = None,
    reuse: Mapping[str, tuple[str, dict[str, MaterializedRef]]] | None = None,
) -> PipelineRunResult:
    """Run ``pipeline`` and return its record. A failed step or a hook's stop gives status FAILED (call
    ``.raise_for_status()`` to raise); Ctrl-C records the run KILLED and re-raises KeyboardInterrupt."""
    if on_failure not in ("stop", "continue"):
        raise InvalidInputError(f"on_failure={on_failure!r}", hint="choose 'stop' or 'continue'")
    dag, values = pipeline.build(params)
    owned = isinstance(executor, str)
    runner_executor = (
        make_executor(executor, **dict(executor_options or {})) if isinstance(executor, str) else executor
    )
    try:
        if runner_executor.remote:
            _check_importable(dag)
        run = _Run(
            store=store,
            artifacts=artifacts,
            pipeline=pipeline,
            dag=dag,
            values=values,
            project=project,
            executor=runner_executor,
            hooks=hooks,
            use_cache=use_cache,
            on_failure=on_failure,
            clock=clock or SystemClock(),
            listener=listener,
            reuse=reuse or {},
            resumed_from=resumed_from,
        )
        run.create(target or target_of(pipeline), runner_executor.name, name, user_name, tags or {})
        run.execute()
        return run.result()
    finally:
        if owned:
            runner_executor.close()


def resume_run(
    store: Store,
    artifacts: ArtifactStore,
    run_id: str,
    *,
    pipeline: Pipeline | None = None,
    executor: str | Executor | None = None,
    hooks: Sequence[Hook] = (),
    listener: Listener | None = None,
    clock: Clock | None = None,
) -> PipelineRunResult:
    """Re-run a FAILED or KILLED pipeline run as a new run, reusing the outputs of every step that finished
    (same step, same cache key), so it starts from the failed step."""
    with store.connect() as conn:
        previous = runs_repo.get_run(conn, run_id)
        record = repo.get_pipeline_run(conn, run_id)
        steps = repo.list_step_runs(conn, run_id)
        edges = repo.edges_of(conn, [s.id for s in steps if s.status in ("DONE", "CACHED")])
    if previous.status.value not in ("FAILED", "KILLED"):
        raise ConflictError(
            f"run {run_id} is {previous.status.value}; only FAILED or KILLED runs can be resumed",
            hint="start a new run instead",
        )
    outputs: dict[str, dict[str, MaterializedRef]] = {}
    for edge in edges:
        if edge.direction == "out":
            outputs.setdefault(edge.step_run_id, {})[edge.name] = MaterializedRef(
                edge.sha256, edge.size, edge.media_type, edge.materializer
            )
    reuse = {
        s.cache_key: (s.id, outputs.get(s.id, {}))
        for s in steps
        if s.status in ("DONE", "CACHED") and s.cache_key
    }
    pipe = pipeline or load_target(record.target)
    return run_pipeline(
        store,
        artifacts,
        pipe,
        record.params,
        project=previous.project,
        executor=executor or record.executor,
        hooks=hooks,
        use_cache=record.use_cache,
        on_failure="stop" if record.on_failure == "stop" else "continue",
        name=previous.name,
        user_name=None,
        listener=listener,
        clock=clock,
        target=record.target,
        resumed_from=run_id,
        reuse=reuse,
    )


def step_runs(store: Store, run_id: str) -> list[StepRunRow]:
    with store.connect() as conn:
        return repo.list_step_runs(conn, run_id)


__all__ = ["PipelineRunResult", "resume_run", "run_pipeline", "step_runs"]
