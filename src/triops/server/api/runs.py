"""Runs API: create, read, finish, params, tags, metric batches, metric history and search."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from pydantic import BaseModel, Field, StrictFloat, StrictInt, StrictStr

from triops.domain.filters import MAX_FILTER_LENGTH, MAX_ORDER_KEYS
from triops.domain.records import RunStatus
from triops.domain.validation import (
    INT64_MAX,
    INT64_MIN,
    MAX_METRIC_BATCH,
    MAX_NAME_LENGTH,
    MAX_SEARCH_LIMIT,
    MAX_TEXT_LENGTH,
    MAX_VALUES_BATCH,
    check_key,
    check_name,
    check_project_name,
    param_text,
    tag_text,
)
from triops.domain.wire import float_from_wire, float_to_wire, run_to_wire
from triops.errors import InvalidInputError
from triops.governance.rbac import Permission
from triops.mlops.tracking.active_run import StoreTrackingSink
from triops.mlops.tracking.queries import PARENT_FIELD, parent_id_of, readable_parent
from triops.server.auth import PrincipalDep
from triops.server.authz import ActingDep, authorize, authorize_run, readable, roles_of
from triops.server.http import PROBLEMS
from triops.store.repositories.runs import project_names

router = APIRouter(tags=["runs"], responses=PROBLEMS)


def _sink(request: Request, user: str | None = None) -> StoreTrackingSink:
    ws = request.app.state.workspace
    return StoreTrackingSink(ws.store, ws.artifacts, ws.clock, user)


Int64 = Annotated[StrictInt, Field(ge=INT64_MIN, le=INT64_MAX)]
# a metric value is a JSON number or one of "NaN", "Infinity", "-Infinity"; never true/false
MetricValue = StrictFloat | StrictInt | StrictStr


class RunCreate(BaseModel):
    project: str = "default"
    name: str = Field(default="", max_length=MAX_NAME_LENGTH)
    tags: dict[str, str] = Field(default_factory=dict, max_length=MAX_VALUES_BATCH)
    kind: str = Field(default="tracked", max_length=20)
    parent_id: str | None = Field(default=None, max_length=MAX_NAME_LENGTH)


class RunFinish(BaseModel):
    status: RunStatus
    error: str | None = Field(default=None, max_length=MAX_TEXT_LENGTH)


class KeyValues(BaseModel):
    values: dict[str, str] = Field(max_length=MAX_VALUES_BATCH)


class MetricBatch(BaseModel):
    """Columnar batch: four lists of equal length. Non-finite values as "NaN", "Infinity", "-Infinity"."""

    keys: list[str] = Field(max_length=MAX_METRIC_BATCH)
    values: list[MetricValue] = Field(max_length=MAX_METRIC_BATCH)
    steps: list[Int64] = Field(max_length=MAX_METRIC_BATCH)
    timestamps: list[Int64] = Field(max_length=MAX_METRIC_BATCH)


class SearchRequest(BaseModel):
    project: str | None = None
    filter: str = Field(default="", max_length=MAX_FILTER_LENGTH)
    order_by: list[str] = Field(default_factory=list, max_length=MAX_ORDER_KEYS)
    limit: StrictInt = Field(default=1000, ge=1, le=MAX_SEARCH_LIMIT)
    offset: StrictInt = Field(default=0, ge=0, le=INT64_MAX)


@router.get("/projects")
def list_projects(request: Request, who: PrincipalDep) -> dict[str, list[str]]:
    principal = roles_of(request, who)
    with request.app.state.workspace.store.connect() as conn:
        names = project_names(conn)
    return {"projects": [n for n in names if principal.can(Permission.PROJECT_READ, n)]}


@router.post("/runs", status_code=201)
def create_run(request: Request, principal: PrincipalDep, body: RunCreate) -> dict[str, Any]:
    check_project_name(body.project)
    check_name(body.name, "run name", allow_empty=True)
    check_name(body.kind, "run kind")
    roles = authorize(request, principal, Permission.RUN_WRITE, body.project)
    tags = {check_key(k, "tag key"): tag_text(k, v) for k, v in body.tags.items()}
    sink = _sink(request, principal.user_name)
    if body.parent_id is not None:  # any run the caller can read (404 otherwise), as MLflow nests runs
        readable_parent(
            lambda p: roles.can(Permission.PROJECT_READ, p),
            sink.get_run,
            parent_id_of(body.parent_id),
            PARENT_FIELD,
        )
    run = sink.create_run(body.project, body.name, tags, body.kind, parent_id=body.parent_id)
    return run_to_wire(run.to_dict())


@router.get("/runs/{run_id}")
def get_run(request: Request, who: PrincipalDep, run_id: str) -> dict[str, Any]:
    authorize_run(request, who, Permission.PROJECT_READ, run_id)
    return run_to_wire(_sink(request).get_run(run_id).to_dict())


@router.post("/runs/{run_id}/finish")
def finish_run(request: Request, who: PrincipalDep, run_id: str, body: RunFinish) -> dict[str, Any]:
    authorize_run(request, who, Permission.RUN_WRITE, run_id)
    sink = _sink(request)
    sink.finish_run(run_id, body.status, body.error)
    return run_to_wire(sink.get_run(run_id).to_dict())


@router.post("/runs/{run_id}/heartbeat")
def heartbeat(request: Request, who: PrincipalDep, run_id: str) -> dict[str, bool]:
    """A tracked run's process is alive; ``alive`` is false once the run has ended (see liveness.py)."""
    authorize_run(request, who, Permission.RUN_WRITE, run_id)
    return {"alive": _sink(request).beat(run_id)}


@router.post("/runs/{run_id}/params", status_code=204, response_model=None, response_class=Response)
def log_params(request: Request, who: PrincipalDep, run_id: str, body: KeyValues) -> None:
    authorize_run(request, who, Permission.RUN_WRITE, run_id)
    values = {check_key(k, "param key"): param_text(k, v) for k, v in body.values.items()}
    _sink(request).log_params(run_id, values)


@router.post("/runs/{run_id}/tags", status_code=204, response_model=None, response_class=Response)
def set_tags(request: Request, who: PrincipalDep, run_id: str, body: KeyValues) -> None:
    authorize_run(request, who, Permission.RUN_WRITE, run_id)
    values = {check_key(k, "tag key"): tag_text(k, v) for k, v in body.values.items()}
    _sink(request).set_tags(run_id, values)


@router.post("/runs/{run_id}/metrics", status_code=204, response_model=None, response_class=Response)
def log_metrics(request: Request, who: PrincipalDep, run_id: str, body: MetricBatch) -> None:
    authorize_run(request, who, Permission.RUN_WRITE, run_id)
    n = len(body.keys)
    if not (len(body.values) == len(body.steps) == len(body.timestamps) == n):
        raise InvalidInputError(
            "metric batch lists have different lengths",
            hint="send keys, values, steps and timestamps with one entry per metric each",
        )
    seen: set[str] = set()
    for key in body.keys:
        if key not in seen:
            check_key(key, "metric key")
            seen.add(key)
    rows = [
        (k, float_from_wire(v, f"metric {k!r}"), s, t)
        for k, v, s, t in zip(body.keys, body.values, body.steps, body.timestamps, strict=True)
    ]
    _sink(request).log_metrics(run_id, rows)


@router.get("/runs/{run_id}/metrics/{key:path}")
def metric_history(request: Request, who: PrincipalDep, run_id: str, key: str) -> dict[str, Any]:
    authorize_run(request, who, Permission.PROJECT_READ, run_id)
    history = _sink(request).metric_history(run_id, key)
    return {
        "key": key,
        "steps": [m.step for m in history],
        "values": [float_to_wire(m.value) for m in history],
        "timestamps": [m.timestamp_ms for m in history],
    }


@router.post("/runs/search")
def search_runs(ws: ActingDep, body: Annotated[SearchRequest, Body()]) -> dict[str, list[dict[str, Any]]]:
    """Runs matching the filter in the projects you can read: the readable projects are part of the query,
    so ``limit``/``offset`` count only runs you may see (a page never hints at a hidden match)."""
    if body.project is not None:
        readable(ws, body.project, f"project {body.project!r}")
    runs = ws.runs.search(
        project=body.project, filter=body.filter, order_by=body.order_by, limit=body.limit, offset=body.offset
    )
    return {"runs": [run_to_wire(r.to_dict()) for r in runs]}
