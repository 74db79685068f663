"""Running a pipeline: the run row, step runs, hooks, cache hits, failures, Ctrl-C and resume.

``run_pipeline`` validates the parameters and builds the DAG before anything runs, records the run (a
``runs`` row of kind ``pipeline``) and one PENDING step run per step, then schedules steps as their inputs
become ready on the chosen executor. Step records are written in batches (every 500 changes or 0.25 s, and
at the end) so that orchestration costs well under a millisecond per step; the objects the process held
before the run are kept out of the collector's full passes while it runs (``gc.freeze``).
"""

from __future__ import annotations

import gc
from collections.abc import Mapping, Sequence
from typing import Any

from triops.artifacts import ArtifactStore
from triops.domain.clock import Clock, SystemClock, utc_ms
from triops.errors import ConflictError, InvalidInputError, PipelineError
from triops.mlops.pipelines.authoring import Pipeline
from triops.mlops.pipelines.executors import Executor, make_executor
from triops.mlops.pipelines.hooks import (
    Hook,
)
from triops.mlops.pipelines.materializers import MaterializedRef
from triops.mlops.pipelines.run_records import Listener, OnFailure, PipelineRunResult, check_importable
from triops.mlops.pipelines.run_state import RunState
from triops.mlops.pipelines.targets import load_target, target_of
from triops.store.engine import Store
from triops.store.repositories import pipelines as repo
from triops.store.repositories import runs as runs_repo
from triops.store.repositories.pipelines import StepRunRow


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
    heartbeat_s: float = 10.0,
    trusted_types: Sequence[str] = (),
) -> PipelineRunResult:
    """Run ``pipeline`` and return its record. A failed step or a hook's stop gives status FAILED (call
    ``.raise_for_status()`` to raise); Ctrl-C records the run KILLED and re-raises KeyboardInterrupt."""
    refuse_in_spawned_bootstrap()
    if on_failure not in ("stop", "continue"):
        raise InvalidInputError(f"on_failure={on_failure!r}", hint="choose 'stop' or 'continue'")
    frozen = _freeze_heap()
    try:
        return _run(
            store,
            artifacts,
            pipeline,
            params,
            project=project,
            executor=executor,
            executor_options=executor_options,
            hooks=hooks,
            use_cache=use_cache,
            on_failure=on_failure,
            name=name,
            user_name=user_name,
            tags=tags,
            listener=listener,
            clock=clock,
            target=target,
            resumed_from=resumed_from,
            reuse=reuse,
            heartbeat_s=heartbeat_s,
            trusted_types=trusted_types,
        )
    finally:
        if frozen:
            gc.unfreeze()


def _run(
    store: Store,
    artifacts: ArtifactStore,
    pipeline: Pipeline,
    params: Mapping[str, Any] | None,
    *,
    project: str,
    executor: str | Executor,
    executor_options: Mapping[str, Any] | None,
    hooks: Sequence[Hook],
    use_cache: bool,
    on_failure: OnFailure,
    name: str | None,
    user_name: str | None,
    tags: Mapping[str, str] | None,
    listener: Listener | None,
    clock: Clock | None,
    target: str | None,
    resumed_from: str | None,
    reuse: Mapping[str, tuple[str, dict[str, MaterializedRef]]] | None,
    heartbeat_s: float,
    trusted_types: Sequence[str],
) -> PipelineRunResult:
    dag, values = pipeline.build(params)
    owned = isinstance(executor, str)
    runner_executor = (
        make_executor(executor, **dict(executor_options or {})) if isinstance(executor, str) else executor
    )
    try:
        if runner_executor.remote:
            check_importable(dag)
        run = RunState(
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
            heartbeat_s=heartbeat_s,
            trusted_types=tuple(trusted_types),
        )
        try:
            run.create(target or target_of(pipeline), runner_executor.name, name, user_name, tags or {})
            run.execute()
        finally:
            run.heartbeat.stop()
        return run.result()
    finally:
        if owned:
            runner_executor.close()


def _freeze_heap() -> bool:
    """Keep what the process held before the run out of the collector's full passes while it runs (True
    if it did; ``gc.unfreeze()`` at the end puts it back). A run of many steps allocates enough to start
    full collections, and each would walk the whole heap (hundreds of thousands of objects once polars,
    SQLAlchemy and the step's own libraries are loaded) for a run's worth of garbage. Left alone when the
    collector is off or the process froze objects of its own (a pre-fork server, say)."""
    if not gc.isenabled() or gc.get_freeze_count():
        return False
    gc.freeze()
    return True


def refuse_in_spawned_bootstrap() -> None:
    """A worker process that is still importing the caller's script must not start a run of its own: that
    is a script without an ``if __name__ == "__main__"`` guard, re-run by every worker. Fail at once, before
    anything is recorded, so the parent sees the worker die and reports the missing guard."""
    import multiprocessing

    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise PipelineError(
            "a pipeline was started while a worker process was importing the script that runs it",
            hint='put the code that runs the pipeline under `if __name__ == "__main__":`',
        )


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
    heartbeat_s: float = 10.0,
    trusted_types: Sequence[str] = (),
    lost_after_s: float = 120.0,
) -> PipelineRunResult:
    """Re-run a FAILED, KILLED or LOST pipeline run as a new run, reusing the outputs of every step that
    finished (same step, same cache key), so it starts from the failed step. A RUNNING run whose heartbeat
    stopped more than ``lost_after_s`` ago is marked LOST first."""
    mark_lost_runs(store, clock or SystemClock(), lost_after_s)
    with store.connect() as conn:
        previous = runs_repo.get_run(conn, run_id)
        record = repo.get_pipeline_run(conn, run_id)
        steps = repo.list_step_runs(conn, run_id)
        edges = repo.edges_of(conn, [s.id for s in steps if s.status in ("DONE", "CACHED")])
    if previous.status.value not in ("FAILED", "KILLED", "LOST"):
        hint = "start a new run instead"
        if previous.status.value == "RUNNING":
            hint = (
                "if its process is gone, it is marked LOST once it has sent no heartbeat for "
                f"{lost_after_s:g} s (TRIOPS_RUN_LOST_AFTER_S); resume it then"
            )
        raise ConflictError(
            f"run {run_id} is {previous.status.value}; only FAILED, KILLED or LOST runs can be resumed",
            hint=hint,
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
        heartbeat_s=heartbeat_s,
        trusted_types=trusted_types,
    )


def mark_lost_runs(store: Store, clock: Clock, lost_after_s: float) -> list[str]:
    """Mark RUNNING pipeline runs whose process stopped sending heartbeats LOST; returns their ids. Reads
    first, so a store without stale runs takes no write lock."""
    from triops.store.repositories import liveness

    now = utc_ms(clock.now())
    lost_after_ms = round(lost_after_s * 1000)
    with store.connect() as conn:
        if not liveness.stale_runs(conn, now, lost_after_ms):
            return []
    return store.write(lambda conn: liveness.mark_lost(conn, now, lost_after_ms))


def step_runs(store: Store, run_id: str) -> list[StepRunRow]:
    with store.connect() as conn:
        return repo.list_step_runs(conn, run_id)


__all__ = ["PipelineRunResult", "mark_lost_runs", "resume_run", "run_pipeline", "step_runs"]
