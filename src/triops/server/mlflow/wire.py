"""MLflow's JSON shapes (the proto3 JSON of ``service.proto``) for triops records, and MLflow's error JSON.

Errors are ``{"error_code": "...", "message": "..."}`` with the HTTP status MLflow gives each code, so the
unmodified client raises the ``MlflowException`` it would raise against MLflow's own server.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse

from triops.domain.clock import utc_ms
from triops.domain.records import Run
from triops.domain.wire import float_to_wire
from triops.errors import (
    AuthError,
    BudgetExceededError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    PolicyError,
    TriopsError,
)
from triops.store.repositories.mlflow import ProjectRow
from triops.workspace.mlflow import (
    INPUT_TAG_PREFIX,
    LIFECYCLE_TAG,
    PARENT_TAG,
    experiment_id_of,
    experiment_name_of,
    lifecycle_of,
)

# records kept as tags of their run (logged models, dataset inputs), shown in their own fields
HIDDEN_TAG_PREFIXES = ("triops.mlflow.logged_model.", INPUT_TAG_PREFIX)
MLFLOW_STATUS = {"LOST": "KILLED"}
STATUS_OF_CODE = {
    "INVALID_PARAMETER_VALUE": 400,
    "RESOURCE_ALREADY_EXISTS": 400,
    "INVALID_STATE": 400,
    "BAD_REQUEST": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "REQUEST_LIMIT_EXCEEDED": 429,
    "RESOURCE_EXHAUSTED": 429,
    "INTERNAL_ERROR": 500,
    "NOT_IMPLEMENTED": 501,
}


def mlflow_error(code: str, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if code == "UNAUTHENTICATED" else None
    return JSONResponse(
        {"error_code": code, "message": message}, status_code=STATUS_OF_CODE[code], headers=headers
    )


def code_of(exc: TriopsError) -> str:
    explicit = exc.detail.get("mlflow_error_code") if isinstance(exc.detail, dict) else None
    if isinstance(explicit, str) and explicit in STATUS_OF_CODE:
        return explicit
    if isinstance(exc, AuthError):
        return "UNAUTHENTICATED"
    if isinstance(exc, PermissionDeniedError):
        return "PERMISSION_DENIED"
    if isinstance(exc, NotFoundError):
        return "RESOURCE_DOES_NOT_EXIST"
    if isinstance(exc, InvalidInputError):
        return "INVALID_PARAMETER_VALUE"
    if isinstance(exc, BudgetExceededError):
        return "RESOURCE_EXHAUSTED"
    if isinstance(exc, ConflictError | PolicyError):
        return "INVALID_STATE"
    return "INTERNAL_ERROR" if exc.status >= 500 else "BAD_REQUEST"


def experiment_to_wire(project: ProjectRow, last_update_ms: int | None = None) -> dict[str, Any]:
    exp_id = experiment_id_of(project)
    return {
        "experiment_id": exp_id,
        "name": experiment_name_of(project),
        "artifact_location": f"mlflow-artifacts:/{exp_id}",
        "lifecycle_stage": "active",
        "creation_time": project.created_ms,
        "last_update_time": last_update_ms or project.created_ms,
        "tags": [{"key": "triops.project", "value": project.name}],
    }


def run_info_to_wire(run: Run, experiment_id: str) -> dict[str, Any]:
    info: dict[str, Any] = {
        "run_id": run.id,
        "run_uuid": run.id,
        "run_name": run.name,
        "experiment_id": experiment_id,
        "user_id": run.user or "",
        # MLflow has no LOST (a run whose process stopped heartbeating): it is KILLED there
        "status": MLFLOW_STATUS.get(run.status.value, run.status.value),
        "start_time": utc_ms(run.start_time),
        "artifact_uri": f"mlflow-artifacts:/{experiment_id}/{run.id}/artifacts",
        "lifecycle_stage": lifecycle_of(run),
    }
    if run.end_time is not None:
        info["end_time"] = utc_ms(run.end_time)
    return info


def _mlflow_tags(run: Run) -> dict[str, str]:
    """The run's tags as MLflow shows them: a child run started through triops (no MLflow tag) carries
    ``mlflow.parentRunId`` too, so MLflow clients and UIs nest it."""
    if run.parent_id is None or PARENT_TAG in run.tags:
        return run.tags
    return {**run.tags, PARENT_TAG: run.parent_id}


def run_to_wire(run: Run, experiment_id: str, metrics: list[tuple[str, float, int, int]]) -> dict[str, Any]:
    return {
        "info": run_info_to_wire(run, experiment_id),
        "data": {
            "metrics": [
                {"key": k, "value": float_to_wire(v), "timestamp": t, "step": s} for k, v, s, t in metrics
            ],
            "params": [{"key": k, "value": v} for k, v in run.params.items()],
            "tags": [
                {"key": k, "value": v}
                for k, v in _mlflow_tags(run).items()
                if k != LIFECYCLE_TAG and not k.startswith(HIDDEN_TAG_PREFIXES)
            ],
        },
        "inputs": {
            "dataset_inputs": [
                orjson.loads(v) for k, v in sorted(run.tags.items()) if k.startswith(INPUT_TAG_PREFIX)
            ]
        },
    }


__all__ = [
    "code_of",
    "experiment_to_wire",
    "mlflow_error",
    "run_info_to_wire",
    "run_to_wire",
]
