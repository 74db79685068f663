"""Pipelines API: pipeline runs (list, submit, get), their steps and DAG, resume, and lineage.

Submitting runs a pipeline on the server, where the store, the artifact root, metering, budgets, contract
gates and the audit log live, so a client cannot skip them. The server imports the pipeline by its
``package.module:name`` target from the modules its admin allows (``TRIOPS_SERVER_PIPELINE_MODULES``);
clients never send code. The run is synchronous: the answer is the finished run's record.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field, StringConstraints

from triops.governance.rbac import Permission
from triops.server.api.run_pages import runs_page
from triops.server.authz import ActingDep, readable, require_in
from triops.server.http import PROBLEMS
from triops.server.pagination import CursorQuery, LimitQuery, Listing, PageOut, paginate
from triops.server.schemas import MAX_NAME, Depth, Justification, Name, ProjectName
from triops.workspace import Workspace

router = APIRouter(tags=["pipelines"], responses=PROBLEMS)
Target = Annotated[
    str, StringConstraints(min_length=3, max_length=500, pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
]
Executor = Literal["inline", "local", "ray"]
RunId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z\-]+$")]
Ref = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z\-]+$")]


class PipelineSubmit(BaseModel):
    target: Target = Field(description="package.module:pipeline, installed on the server")
    params: dict[Name, Any] = Field(default_factory=dict, max_length=200)
    project: ProjectName = "default"
    executor: Executor = "inline"
    use_cache: bool = True
    on_failure: Literal["stop", "continue"] = "stop"
    name: Name | None = None
    tags: dict[Name, Annotated[str, StringConstraints(max_length=MAX_NAME)]] = Field(
        default_factory=dict, max_length=100
    )
    override_reason: Justification | None = None
    environment: Name = Field(default="local", description="price-catalog environment the run is priced in")


class ResumeIn(BaseModel):
    executor: Executor | None = None


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def result_out(result: Any) -> dict[str, Any]:
    out: dict[str, Any] = _clean(result.to_dict())
    return out


def _run_project(ws: Workspace, run_id: str) -> str:
    project = ws.runs.get(run_id).project
    readable(ws, project, f"run {run_id!r}")
    return project


@router.get("/pipelines/runs", response_model=PageOut)
def list_pipeline_runs(
    ws: ActingDep, project: ProjectName | None = None, limit: LimitQuery = 100, cursor: CursorQuery = None
) -> dict[str, Any]:
    """Pipeline runs, newest first (in projects you can read)."""
    if project is not None:
        readable(ws, project, f"project {project!r}")
    listing = Listing.of("pipeline-runs", project=project)
    return runs_page(ws, listing, project, "attributes.kind = 'pipeline'", limit, cursor)


@router.post("/pipelines/runs", status_code=201)
def submit(ws: ActingDep, body: PipelineSubmit) -> dict[str, Any]:
    """Run a pipeline installed on the server with the built-in hooks; returns the finished run's record
    (``status`` FAILED with the error when a step failed or a hook stopped it)."""
    readable(ws, body.project, f"project {body.project!r}")
    require_in(ws, Permission.RUN_WRITE, body.project)
    result = ws.pipelines.submit(
        body.target,
        body.params,
        allowed_modules=ws.settings.server_pipeline_modules,
        project=body.project,
        executor=body.executor,
        use_cache=body.use_cache,
        on_failure=body.on_failure,
        name=body.name,
        tags=body.tags,
        override_reason=body.override_reason,
        environment=body.environment,
    )
    return result_out(result)


@router.get("/pipelines/runs/{run_id}")
def get_pipeline_run(ws: ActingDep, run_id: RunId) -> dict[str, Any]:
    _run_project(ws, run_id)
    return result_out(ws.pipelines.run(run_id))


@router.get("/pipelines/runs/{run_id}/steps", response_model=PageOut)
def steps(
    ws: ActingDep, run_id: RunId, limit: LimitQuery = 100, cursor: CursorQuery = None
) -> dict[str, Any]:
    _run_project(ws, run_id)
    rows = ws.pipelines.steps(run_id)
    listing = Listing.of("pipeline-steps", run_id=run_id)
    return paginate(rows, lambda s: (s.position, s.id), listing, cursor, limit).out(
        lambda s: _clean(s.to_dict())
    )


@router.get("/pipelines/runs/{run_id}/dag")
def dag(ws: ActingDep, run_id: RunId) -> dict[str, Any]:
    """The run's steps (in order) and the edges upstream → step."""
    _run_project(ws, run_id)
    return ws.pipelines.dag(run_id)


@router.post("/pipelines/runs/{run_id}/resume", status_code=201)
def resume(ws: ActingDep, run_id: RunId, body: ResumeIn) -> dict[str, Any]:
    """Re-run a FAILED or KILLED run from its failed step, as a new run (409 for other states)."""
    project = _run_project(ws, run_id)
    require_in(ws, Permission.RUN_WRITE, project)
    result = ws.pipelines.resume(
        run_id, executor=body.executor, allowed_modules=ws.settings.server_pipeline_modules
    )
    return result_out(result)


@router.get("/lineage/{ref}")
def lineage(
    ws: ActingDep, ref: Ref, direction: Literal["up", "down"] = "up", depth: Depth = 3
) -> dict[str, Any]:
    """Where an artifact (sha256 or a prefix of ≥ 8 hex digits) or a pipeline run came from, or what was
    made from it, in projects you can read (404 otherwise, as if absent: the service checks)."""
    data: dict[str, Any] = ws.pipelines.lineage(ref, direction=direction, depth=depth).to_dict()
    return data
