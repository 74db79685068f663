"""The state of one pipeline run while it executes: scheduling steps as their inputs become ready, cache
hits, hooks, failures (stop or continue), Ctrl-C, and recording every change."""

from __future__ import annotations

import heapq
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import replace
from typing import Any

from sqlalchemy.engine import Connection

from triops.artifacts import ArtifactStore, StoredArtifact
from triops.domain.clock import Clock, utc_ms
from triops.domain.ids import new_id
from triops.domain.records import RunStatus
from triops.mlops.cache import cache_key, canonical_json, function_fingerprint
from triops.mlops.executors import Executor
from triops.mlops.executors.task import StepTask, TaskOutcome
from triops.mlops.hooks import (
    Hook,
    RunContext,
    RunOutcome,
    StepContext,
    StepResult,
    StepUsage,
    hook_name,
)
from triops.mlops.materializers import MaterializedRef
from triops.mlops.pipelines import Dag, Pipeline
from triops.mlops.run_records import (
    TERMINAL,
    Listener,
    OnFailure,
    PipelineRunResult,
    Recorder,
    edges,
    link,
    param_text,
    split_literals,
)
from triops.store.engine import Store
from triops.store.repositories import pipelines as repo
from triops.store.repositories import runs as runs_repo
from triops.store.repositories.pipelines import CacheEntry, PipelineRunRow, StepRunRow


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
        self.recorder = Recorder(store, self.run_id, clock)

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
        self.json_literals, self.artifact_literals = split_literals(self.dag, self.artifacts)
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
            tuple(link(a, r) for a, r in inputs.items()),
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
        self.recorder.add(edges(row.id, self.inputs[node], outputs), entry, arts)
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
            tuple(link(n, r) for n, r in outputs.items()),
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


__all__ = ["RunState"]
