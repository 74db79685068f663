"""The state of one pipeline run while it executes: scheduling steps as their inputs become ready, cache
hits, hooks, failures (stop or continue), Ctrl-C, and recording every change. The rows, contexts, tasks
and results it builds per step come from ``mlops/pipelines/run_steps.py``."""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any

from sqlalchemy.engine import Connection

from triops.artifacts import ArtifactStore
from triops.domain.clock import Clock, utc_ms
from triops.domain.ids import new_id
from triops.domain.records import RunStatus
from triops.mlops.pipelines.authoring import Dag, Pipeline
from triops.mlops.pipelines.executors import Executor
from triops.mlops.pipelines.executors.task import TaskOutcome
from triops.mlops.pipelines.hooks import Hook, RunContext, RunOutcome, StepContext, hook_name
from triops.mlops.pipelines.materializers import MaterializedRef
from triops.mlops.pipelines.run_records import (
    TERMINAL,
    Heartbeat,
    Listener,
    OnFailure,
    PipelineRunResult,
    Recorder,
    edges,
    param_text,
    split_literals,
)
from triops.mlops.pipelines.run_steps import (
    cache_entry,
    cached_changes,
    evolve_row,
    json_params,
    lookup_cache,
    outcome_changes,
    step_cache_key,
    step_context,
    step_inputs,
    step_result,
    step_rows,
    step_task,
    stored_artifacts,
    worker_settings,
)
from triops.store.engine import Store
from triops.store.repositories import liveness
from triops.store.repositories import pipelines as repo
from triops.store.repositories import runs as runs_repo
from triops.store.repositories.pipelines import PipelineRunRow, StepRunRow


class RunState:
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
        heartbeat_s: float = 10.0,
        trusted_types: Sequence[str] = (),
    ) -> None:
        self.store, self.artifacts, self.pipeline, self.dag = store, artifacts, pipeline, dag
        self.values, self.project, self.executor, self.hooks = values, project, executor, hooks
        self.use_cache, self.on_failure, self.clock, self.listener = use_cache, on_failure, clock, listener
        self.reuse, self.resumed_from = reuse, resumed_from
        # extra exact type names a step input that is a model file may hold (the trusted_model_types setting)
        self.trusted_types = tuple(trusted_types)
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
        self.recorder = Recorder(store, self.run_id, clock)
        self.heartbeat = Heartbeat(store, self.run_id, clock, heartbeat_s, self.recorder)
        # what workers on other machines are handed (the executor may name what they reach it by)
        self.worker_root, self.worker_store = worker_settings(executor, store, artifacts)
        # an executor that runs a step where it is called (inline) is asked directly, without a Future
        self.run_now = getattr(executor, "run_now", None) if not executor.remote else None
        self.resources = {n: node.step.resources.to_dict() for n, node in dag.nodes.items()}
        self.fingerprints: dict[Any, str] = {}  # step function → its code fingerprint, once per run
        self._bound: dict[str, list[tuple[Hook, Any]]] = {}

    # ---- recording ----
    def _set(self, node: str, **changes: Any) -> StepRunRow:
        row = evolve_row(self.rows[node], changes)
        self.rows[node] = row
        self.recorder.step(row)
        if self.listener is not None:
            self.listener(row)
        return row

    def _callbacks(self, method: str) -> list[tuple[Hook, Any]]:
        """The hooks' bound ``method``s, looked up once per run (each is called once or twice per step)."""
        found = self._bound.get(method)
        if found is None:
            found = [(h, cb) for h in self.hooks if (cb := getattr(h, method, None)) is not None]
            self._bound[method] = found
        return found

    def _call_hooks(self, method: str, *args: Any) -> None:
        for _, callback in self._callbacks(method):
            try:
                callback(*args)
            except Exception:  # noqa: S112 - only before_* hooks may stop a run
                continue

    def _gate(self, method: str, arg: Any, where: str) -> str | None:
        for hook, callback in self._callbacks(method):
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
        self.json_literals, self.artifact_literals = split_literals(self.dag, self.artifacts)
        params_json = json_params(self.values)
        self.rows.update(step_rows(self.dag, self.order, self.position, self.run_id, executor_name, now))
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
            runs_repo.log_params(conn, self.run_id, {k: param_text(v) for k, v in self.values.items()})
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
            liveness.beat(conn, self.run_id, now)

        self.store.write(write)
        self.heartbeat.start()
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
                    if isinstance(future, TaskOutcome):
                        self._complete(node, future, ready)
                    elif future is not None:
                        if future.done() and not self.executor.remote:  # inline: in call order
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
        except Exception as exc:  # a bug or a store outage: record the run as failed, then re-raise
            self.executor.cancel_running(f"run failed: {exc}")
            for node, row in self.rows.items():
                if row.status == "RUNNING":
                    self._set(node, status="KILLED", error=f"run failed: {exc}")
            self._finish(RunStatus.FAILED, f"{type(exc).__name__}: {exc}")
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
        self.heartbeat.stop()
        self.recorder.flush(lambda conn: runs_repo.finish_run(conn, self.run_id, status.value, now, error))
        outcome = RunOutcome(self.run_id, status.value, error, {n: r.status for n, r in self.rows.items()})
        self._call_hooks("after_run", self.run_ctx, outcome)

    # ---- steps ----
    def _launch(self, node: str, ready: list[tuple[int, str]]) -> Future[TaskOutcome] | TaskOutcome | None:
        spec = self.dag.nodes[node]
        step_ = spec.step
        inputs = step_inputs(spec, self.artifact_literals[node], self.outputs)
        self.inputs[node] = inputs
        literals = self.json_literals[node]
        key = step_cache_key(step_, literals, inputs, self.fingerprints)
        row = self.rows[node]
        ctx = step_context(
            run_id=self.run_id,
            project=self.project,
            pipeline=self.pipeline.name,
            executor=self.executor.name,
            node=node,
            step_run_id=row.id,
            step=step_,
            inputs=inputs,
            literals=literals,
            key=key,
            resources=self.resources[node],
        )
        self.contexts[node] = ctx
        reason = self._gate("before_step", ctx, f"before step {node!r}")
        if reason is not None:
            self.stop_reason, self.stopping = reason, True
            self._set(node, status="SKIPPED", cache_key=key, error=reason)
            return None
        use_cache = step_.cache and self.use_cache
        hit = lookup_cache(self.store, self.artifacts, self.reuse, key, use_cache=use_cache)
        if hit is not None:
            source, outputs = hit
            self._set(node, **cached_changes(key, source, utc_ms(self.clock.now())))
            self._succeeded(node, outputs, None, ready, cached=True)
            return None
        now = utc_ms(self.clock.now())
        self._set(node, status="RUNNING", cache_key=key, started_ms=now)
        task = step_task(
            node, row.id, step_, literals, inputs, self.worker_root, self.worker_store, self.trusted_types
        )
        if self.run_now is not None:
            outcome: TaskOutcome = self.run_now(task, step_)
            return outcome
        return self.executor.submit(task, step_)

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
        cacheable = self.dag.nodes[node].step.cache
        entry = cache_entry(row, node, row_id, outputs, self.clock, cacheable=cacheable)
        arts = stored_artifacts(node, outputs)
        self.recorder.add(edges(row.id, self.inputs[node], outputs), entry, arts)
        self._call_hooks("after_step", self.contexts[node], step_result(row, outputs, cached))
        for child in self.children[node]:
            self.waiting[child] -= 1
            if self.waiting[child] == 0:
                heapq.heappush(ready, (self.position[child], child))

    def _complete(self, node: str, outcome: TaskOutcome, ready: list[tuple[int, str]]) -> None:
        row = self._set(node, **outcome_changes(outcome))
        if outcome.status == "DONE":
            self._succeeded(node, dict(outcome.outputs), row.id, ready, cached=False)
            return
        if self.stopping and outcome.status == "KILLED":
            return  # cancelled because another step failed or a hook stopped the run
        message = outcome.error or outcome.status
        if self.failure is None:
            self.failure = message if message.startswith("step ") else f"step {node!r} failed: {message}"
        self._call_hooks("on_failure", self.contexts[node], step_result(row, {}, False))
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


__all__ = ["RunState"]
