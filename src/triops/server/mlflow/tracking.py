"""MLflow tracking routes (``service.proto``): experiments, runs, params, tags, metrics and run search.

Thin: each route reads its proto message, calls ``MlflowTracking`` (which checks permissions) and answers
the proto's JSON. Paths are relative to the mount (``/api/2.0`` and ``/ajax-api/2.0``).
"""

from __future__ import annotations

import operator
from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field

from triops.domain.records import Run
from triops.domain.validation import INT64_MAX, INT64_MIN, MAX_METRIC_BATCH, MAX_VALUES_BATCH
from triops.domain.wire import float_from_wire, float_to_wire
from triops.errors import ConflictError, InvalidInputError
from triops.server.mlflow.batch import LogBatchStruct, decode_log_batch, struct_rows
from triops.server.mlflow.requests import (
    MAX_RESULTS,
    Int64,
    KeyValue,
    Message,
    MetricIn,
    TrackingDep,
    next_token,
    page_offset,
    parse,
    tracking,
)
from triops.server.mlflow.wire import experiment_to_wire, run_info_to_wire, run_to_wire
from triops.workspace.mlflow import MlflowTracking

router = APIRouter()
P = "/mlflow"


class ExperimentCreate(Message):
    name: str = Field(min_length=1)
    artifact_location: str = ""
    tags: list[KeyValue] = Field(default_factory=list)


class ExperimentRef(Message):
    experiment_id: str = ""
    experiment_name: str = ""


class ExperimentSearch(Message):
    max_results: int = Field(default=1000, ge=1, le=MAX_RESULTS)
    page_token: str | None = None
    filter: str = ""
    order_by: list[str] = Field(default_factory=list)
    view_type: str = ""


class RunCreate(Message):
    experiment_id: str = "0"
    user_id: str = ""
    start_time: Int64 | None = None
    tags: list[KeyValue] = Field(default_factory=list, max_length=MAX_VALUES_BATCH)
    run_name: str = ""


class RunRef(Message):
    run_id: str = ""
    run_uuid: str = ""

    @property
    def id(self) -> str:
        return self.run_id or self.run_uuid


class RunUpdate(RunRef):
    status: str = ""
    end_time: Int64 | None = None
    run_name: str = ""


class LogMetric(RunRef, MetricIn):
    pass


class LogKeyValue(RunRef, KeyValue):
    pass


class DeleteTag(RunRef):
    key: str


class LogBatch(RunRef):
    # entries checked by metric_rows: a pydantic model (or even a dict check) per metric costs more than
    # storing it; profiled, validating list[dict[str, Any]] was an eighth of a LogBatch request's time
    metrics: list[Any] = Field(default_factory=list, max_length=MAX_METRIC_BATCH)
    params: list[KeyValue] = Field(default_factory=list, max_length=MAX_VALUES_BATCH)
    tags: list[KeyValue] = Field(default_factory=list, max_length=MAX_VALUES_BATCH)


class RunSearch(Message):
    experiment_ids: list[str] = Field(default_factory=list, max_length=1000)
    filter: str = ""
    run_view_type: str = ""
    max_results: int = Field(default=1000, ge=1, le=MAX_RESULTS)
    order_by: list[str] = Field(default_factory=list)
    page_token: str | None = None


class HistoryRequest(RunRef):
    metric_key: str
    page_token: str | None = None
    max_results: int | None = Field(default=None, ge=1, le=1_000_000)


def _int64(value: Any, where: str) -> int:
    if type(value) is int and INT64_MIN <= value <= INT64_MAX:
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit() and len(value) <= 20:
        return _int64(int(value), where)
    raise InvalidInputError(f"{where} must be a 64-bit integer, got {value!r:.40}", detail={"field": where})


_METRIC_FIELDS = operator.itemgetter("key", "value", "step", "timestamp")


def metric_rows(items: list[Any]) -> list[tuple[str, float, int, int]]:
    """LogBatch metrics (``key``, ``value``, ``timestamp``, ``step``) as rows; a bad entry is an error naming
    its index and field."""
    # Fast path for what the MLflow client sends (every field, float values, int steps and stamps): rows and
    # whole-column type checks in C instead of per-entry checks in Python, which were about a tenth of a
    # LogBatch request. Anything else (a string int64, "NaN", a missing field …) takes the per-entry path,
    # which names the field.
    try:
        rows: list[tuple[str, float, int, int]] = list(map(_METRIC_FIELDS, items))
    except (KeyError, TypeError):
        return _checked_metric_rows(items)
    if not rows:
        return rows
    keys, values, steps, stamps = zip(*rows, strict=True)
    if (
        set(map(type, keys)) == {str}
        and set(map(type, values)) == {float}
        and set(map(type, steps)) == {int}
        and set(map(type, stamps)) == {int}
        and min(steps) >= INT64_MIN
        and max(steps) <= INT64_MAX
        and min(stamps) >= INT64_MIN
        and max(stamps) <= INT64_MAX
    ):
        return rows
    return _checked_metric_rows(items)


def _checked_metric_rows(items: list[Any]) -> list[tuple[str, float, int, int]]:
    rows = []
    for i, m in enumerate(items):
        if type(m) is not dict:
            raise InvalidInputError(
                f"metrics[{i}] must be a Metric object", detail={"field": f"metrics[{i}]"}
            )
        key = m.get("key")
        if not isinstance(key, str):
            raise InvalidInputError(
                f"metrics[{i}].key must be a string", detail={"field": f"metrics[{i}].key"}
            )
        if "value" not in m:
            raise InvalidInputError(
                f"metrics[{i}].value is required ({key!r})", detail={"field": f"metrics[{i}].value"}
            )
        value = m["value"]
        number = value if type(value) is float else float_from_wire(value, f"metrics[{i}].value ({key!r})")
        stamp = m.get("timestamp", 0)
        step = m.get("step", 0)
        rows.append(
            (key, number, _int64(step, f"metrics[{i}].step"), _int64(stamp, f"metrics[{i}].timestamp"))
        )
    return rows


def _run_json(mt: MlflowTracking, run: Run) -> dict[str, Any]:
    metrics = mt.latest_metrics([run])[run.id]
    return run_to_wire(run, mt.experiment_of_run(run), metrics)


# -- the hot path first: FastAPI tries the routes in order, each one before the match costs ~8 µs ------------
@router.post(f"{P}/runs/log-batch")
async def log_batch(request: Request) -> dict[str, Any]:
    mt = await tracking(request)  # first, as a dependency would be; called directly, FastAPI solves none
    fast = decode_log_batch(await request.body())
    b: LogBatch | LogBatchStruct
    if fast is not None:
        b, rows = fast, struct_rows(fast)
    else:
        b = await parse(request, LogBatch)
        rows = metric_rows(b.metrics)
    params: dict[str, str] = {}
    for p in b.params:
        if p.key in params and params[p.key] != p.value:
            raise ConflictError(
                f"param {p.key!r} appears twice in the batch with different values",
                detail={"mlflow_error_code": "INVALID_PARAMETER_VALUE"},
            )
        params[p.key] = p.value
    mt.log_batch(b.id, rows, params, {t.key: t.value for t in b.tags})
    return {}


# -- experiments ---------------------------------------------------------------------------------------------
@router.post(f"{P}/experiments/create")
async def create_experiment(request: Request, mt: TrackingDep) -> dict[str, Any]:
    body = await parse(request, ExperimentCreate)
    project = mt.create_experiment(body.name)
    return {"experiment_id": experiment_to_wire(project)["experiment_id"]}


@router.get(f"{P}/experiments/get")
async def get_experiment(request: Request, mt: TrackingDep) -> dict[str, Any]:
    body = await parse(request, ExperimentRef)
    return {"experiment": experiment_to_wire(mt.experiment(body.experiment_id))}


@router.get(f"{P}/experiments/get-by-name")
async def get_experiment_by_name(request: Request, mt: TrackingDep) -> dict[str, Any]:
    body = await parse(request, ExperimentRef)
    return {"experiment": experiment_to_wire(mt.experiment_by_name(body.experiment_name))}


@router.api_route(f"{P}/experiments/search", methods=["GET", "POST"])
async def search_experiments(request: Request, mt: TrackingDep) -> dict[str, Any]:
    body = await parse(request, ExperimentSearch, lists=("order_by",))
    offset = page_offset(body.page_token)
    found = mt.search_experiments(body.filter, body.view_type)
    page = found[offset : offset + body.max_results]
    return {
        "experiments": [experiment_to_wire(p) for p in page],
        **next_token(offset, len(page), body.max_results),
    }


# -- runs ------------------------------------------------------------------------------------------------------
@router.post(f"{P}/runs/create")
async def create_run(request: Request, mt: TrackingDep) -> dict[str, Any]:
    body = await parse(request, RunCreate)
    run = mt.create_run(body.experiment_id, body.run_name, {t.key: t.value for t in body.tags})
    return {"run": _run_json(mt, run)}


@router.get(f"{P}/runs/get")
async def get_run(request: Request, mt: TrackingDep) -> dict[str, Any]:
    body = await parse(request, RunRef)
    return {"run": _run_json(mt, mt.get_run(body.id))}


@router.post(f"{P}/runs/update")
async def update_run(request: Request, mt: TrackingDep) -> dict[str, Any]:
    body = await parse(request, RunUpdate)
    run = mt.update_run(body.id, body.status, body.run_name)
    return {"run_info": run_info_to_wire(run, mt.experiment_of_run(run))}


@router.post(f"{P}/runs/delete")
async def delete_run(request: Request, mt: TrackingDep) -> dict[str, Any]:
    mt.set_deleted((await parse(request, RunRef)).id, True)
    return {}


@router.post(f"{P}/runs/restore")
async def restore_run(request: Request, mt: TrackingDep) -> dict[str, Any]:
    mt.set_deleted((await parse(request, RunRef)).id, False)
    return {}


@router.post(f"{P}/runs/log-metric")
async def log_metric(request: Request, mt: TrackingDep) -> dict[str, Any]:
    b = await parse(request, LogMetric)
    mt.log_batch(b.id, [(b.key, float_from_wire(b.value, f"metric {b.key!r}"), b.step, b.timestamp)], {}, {})
    return {}


@router.post(f"{P}/runs/log-parameter")
async def log_param(request: Request, mt: TrackingDep) -> dict[str, Any]:
    b = await parse(request, LogKeyValue)
    mt.log_batch(b.id, [], {b.key: b.value}, {})
    return {}


@router.post(f"{P}/runs/set-tag")
async def set_tag(request: Request, mt: TrackingDep) -> dict[str, Any]:
    b = await parse(request, LogKeyValue)
    mt.log_batch(b.id, [], {}, {b.key: b.value})
    return {}


@router.post(f"{P}/runs/delete-tag")
async def delete_tag(request: Request, mt: TrackingDep) -> dict[str, Any]:
    b = await parse(request, DeleteTag)
    mt.delete_tag(b.id, b.key)
    return {}


@router.get(f"{P}/metrics/get-history")
async def metric_history(request: Request, mt: TrackingDep) -> dict[str, Any]:
    b = await parse(request, HistoryRequest)
    history = mt.metric_history(b.id, b.metric_key)
    offset = page_offset(b.page_token)
    end = len(history) if b.max_results is None else offset + b.max_results
    page = history[offset:end]
    out: dict[str, Any] = {
        "metrics": [
            {"key": m.key, "value": float_to_wire(m.value), "timestamp": m.timestamp_ms, "step": m.step}
            for m in page
        ]
    }
    if end < len(history):
        out["next_page_token"] = str(end)
    return out


@router.api_route(f"{P}/runs/search", methods=["GET", "POST"])
async def search_runs(request: Request, mt: TrackingDep) -> dict[str, Any]:
    b = await parse(request, RunSearch, lists=("experiment_ids", "order_by"))
    offset = page_offset(b.page_token)
    found = mt.search_runs(b.experiment_ids, b.filter, b.run_view_type, b.order_by, b.max_results, offset)
    metrics = mt.latest_metrics(found)
    runs = [run_to_wire(r, mt.experiment_of_run(r), metrics[r.id]) for r in found]
    return {"runs": runs, **next_token(offset, len(found), b.max_results)}


class LogInputs(RunRef):
    datasets: list[dict[str, Any]] = Field(default_factory=list, max_length=1000)
    models: list[dict[str, Any]] = Field(default_factory=list, max_length=1000)


@router.post(f"{P}/runs/log-inputs")
async def log_inputs(request: Request, mt: TrackingDep) -> dict[str, Any]:
    b = await parse(request, LogInputs)
    if b.models:
        raise InvalidInputError(
            "model inputs of a run are not supported by triops",
            detail={"mlflow_error_code": "NOT_IMPLEMENTED", "field": "models"},
        )
    mt.log_inputs(b.id, b.datasets)
    return {}
