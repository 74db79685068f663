"""``ws.pipelines``: pipeline runs as records (the run, its steps, its DAG), resume, lineage, and running a
pipeline named by its import target (what a server does when a client submits one).

A server only imports pipelines from the module prefixes its admin lists (``TRIOPS_SERVER_PIPELINE_MODULES``):
a client names code that is installed on the server, it never ships code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from triops.errors import InvalidInputError, PermissionDeniedError

if TYPE_CHECKING:
    from triops.mlops.pipelines.authoring import Pipeline
    from triops.mlops.pipelines.hooks import Hook
    from triops.mlops.pipelines.lineage import LineageNode
    from triops.mlops.pipelines.runner import PipelineRunResult
    from triops.store.repositories.pipelines import StepRunRow
    from triops.workspace.local import Workspace


def check_module_target(target: str, allowed: Sequence[str]) -> str:
    """A ``package.module:name`` target inside one of the ``allowed`` module prefixes."""
    location, sep, attr = target.rpartition(":")
    if not sep or not location or not attr or "/" in location or "\\" in location or location.endswith(".py"):
        raise InvalidInputError(
            f"pipeline target {target!r} is not of the form package.module:name",
            hint="a server imports pipelines by module name, never from a file path",
            detail={"parameter": "target"},
        )
    if not any(location == p or location.startswith(p + ".") for p in allowed):
        raise PermissionDeniedError(
            f"this server does not run pipelines from module {location!r}",
            hint="its admin lists the modules it may import in TRIOPS_SERVER_PIPELINE_MODULES"
            + (f" (now: {', '.join(allowed)})" if allowed else " (now: none)"),
            detail={"setting": "server_pipeline_modules"},
        )
    return target


def run_dag(steps: Sequence[StepRunRow]) -> dict[str, Any]:
    """The DAG of a recorded run: its steps (in order) and the edges ``upstream → step``."""
    return {
        "nodes": [
            {"step": s.step, "function": s.function, "status": s.status, "position": s.position}
            for s in steps
        ],
        "edges": [[up, s.step] for s in steps for up in s.upstream],
    }


class PipelineService:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def run(self, run_id: str) -> PipelineRunResult:
        """The record of a pipeline run (status, steps) as ``ws.run_pipeline`` returned it, without outputs."""
        from triops.mlops.pipelines.runner import PipelineRunResult
        from triops.store.repositories import pipelines as repo
        from triops.workspace.guarded import readable

        self.mark_lost()  # a run whose process died shows as LOST, here and over the API
        run = self.ws.runs.get(run_id)
        readable(self.ws.principal, run.project, f"run {run_id!r}")
        with self.ws.store.connect() as conn:
            record = repo.get_pipeline_run(conn, run_id)
            steps = repo.list_step_runs(conn, run_id)
        return PipelineRunResult(
            run_id=run_id,
            pipeline=record.pipeline,
            project=run.project,
            status=run.status.value,
            error=run.error,
            executor=record.executor,
            steps=tuple(steps),
            resumed_from=record.resumed_from,
        )

    def steps(self, run_id: str) -> list[StepRunRow]:
        from triops.mlops.pipelines.runner import step_runs

        self.run(run_id)  # NotFound for a run that is not a pipeline run
        return step_runs(self.ws.store, run_id)

    def dag(self, run_id: str) -> dict[str, Any]:
        return run_dag(self.steps(run_id))

    def lineage(self, ref: str, *, direction: str = "up", depth: int = 3) -> LineageNode:
        """Where an artifact or a pipeline run came from (``up``) or what was made from it (``down``), in
        projects you can read (NotFound otherwise, as if absent)."""
        from triops.workspace.lineage_access import readable_lineage

        return readable_lineage(self.ws, ref, direction=direction, depth=depth)

    def resume(
        self,
        run_id: str,
        *,
        executor: str | None = None,
        hooks: Sequence[Hook] | None = None,
        allowed_modules: Sequence[str] | None = None,
    ) -> PipelineRunResult:
        """Re-run a FAILED, KILLED or LOST run from its failed step (the built-in hooks on)."""
        from triops.governance.rbac import Permission, require
        from triops.mlops.pipelines.runner import resume_run
        from triops.mlops.pipelines.targets import load_target
        from triops.store.repositories import pipelines as repo

        require(Permission.RUN_WRITE, self.ws.principal, self.run(run_id).project)
        pipeline = None
        if allowed_modules is not None:
            with self.ws.store.connect() as conn:
                target = repo.get_pipeline_run(conn, run_id).target
            pipeline = load_target(check_module_target(target, allowed_modules))
        return resume_run(
            self.ws.store,
            self.ws.artifacts,
            run_id,
            pipeline=pipeline,
            executor=executor,
            hooks=tuple(self.ws.pipeline_hooks()) if hooks is None else hooks,
            clock=self.ws.clock,
            heartbeat_s=self.ws.settings.run_heartbeat_s,
            trusted_types=self.ws.settings.trusted_model_types,
            lost_after_s=self.ws.settings.run_lost_after_s,
        )

    def mark_lost(self) -> list[str]:
        """Mark RUNNING pipeline runs whose process stopped sending heartbeats (``run_lost_after_s``) LOST;
        returns their ids. ``triops runs list/show`` and resume call it."""
        from triops.mlops.pipelines.runner import mark_lost_runs

        return mark_lost_runs(self.ws.store, self.ws.clock, self.ws.settings.run_lost_after_s)

    def submit(
        self,
        target: str,
        params: Mapping[str, Any] | None = None,
        *,
        allowed_modules: Sequence[str],
        **options: Any,
    ) -> PipelineRunResult:
        """Run the pipeline a client names by ``package.module:name`` (it must be installed here)."""
        from triops.mlops.pipelines.targets import load_target

        pipeline: Pipeline = load_target(check_module_target(target, allowed_modules))
        run: Callable[..., PipelineRunResult] = self.ws.run_pipeline
        return run(pipeline, params, **options)


__all__ = ["PipelineService", "check_module_target", "run_dag"]
