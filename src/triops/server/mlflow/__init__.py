"""The MLflow-compatible endpoint: MLflow's REST API on triops runs and projects.

``mount_mlflow(app)`` mounts one sub-application at ``/api/2.0`` and ``/ajax-api/2.0`` (the paths the
``mlflow`` client and UI call). It authenticates like the rest of the server (``MLFLOW_TRACKING_TOKEN`` is
sent as a Bearer token: a triops token) and answers errors as MLflow does (``error_code``, ``message``).
An MLflow endpoint triops does not implement answers ``NOT_IMPLEMENTED`` (501) naming it; a path MLflow
does not know answers ``ENDPOINT_NOT_FOUND`` — never a silent success.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from triops.errors import TriopsError
from triops.server.http import SafeJSONResponse
from triops.server.mlflow.wire import code_of, mlflow_error

MOUNTS = ("/api/2.0", "/ajax-api/2.0")

# MLflow endpoints (service.proto, model_registry.proto, mlflow_artifacts.proto) triops does not implement
UNSUPPORTED = {
    "mlflow/experiments/delete": "deleting an experiment (a triops project is never deleted)",
    "mlflow/experiments/restore": "restoring an experiment",
    "mlflow/experiments/update": "renaming an experiment (a triops project keeps its name)",
    "mlflow/experiments/set-experiment-tag": "experiment tags",
    "mlflow/experiments/delete-experiment-tag": "experiment tags",
    "mlflow/runs/log-model": "the MLflow 1 log-model call",
    "mlflow/metrics/get-history-bulk-interval": "bulk metric history",
    "mlflow/logged-models": "this logged-model call",
    "mlflow/registered-models/delete": "deleting a registered model (triops keeps every version; archive it)",
    "mlflow/model-versions/delete": "deleting a model version (triops keeps every version; archive it)",
    "mlflow/traces": "traces",
    "mlflow/artifacts/presigned-upload-url": "presigned artifact URLs",
    "mlflow/artifacts/presigned-download-url": "presigned artifact URLs",
    "mlflow-artifacts/mpu": "multipart artifact uploads (uploads stream in one request)",
    "mlflow-artifacts/presigned": "presigned artifact URLs",
}


def create_mlflow_app(workspace: object, *, dev: bool) -> FastAPI:
    from triops.server.mlflow import artifacts, models, registry, tracking

    sub = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, default_response_class=SafeJSONResponse)
    sub.state.workspace = workspace
    sub.state.dev = dev

    @sub.exception_handler(TriopsError)
    async def _triops_error(request: Request, exc: TriopsError) -> JSONResponse:
        code = code_of(exc)
        message = "authentication required" if code == "UNAUTHENTICATED" else str(exc)
        return mlflow_error(code, message)

    @sub.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return mlflow_error("INVALID_PARAMETER_VALUE", f"invalid value for {where!r}: {first.get('msg', '')}")

    @sub.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        path = request.url.path
        if exc.status_code in (404, 405):
            tail = path.split("/2.0/", 1)[-1]
            for prefix, what in UNSUPPORTED.items():
                if tail.startswith(prefix):
                    return mlflow_error(
                        "NOT_IMPLEMENTED", f"{request.method} {path}: {what} is not supported by triops"
                    )
            return mlflow_error("ENDPOINT_NOT_FOUND", f"{request.method} {path} is not an MLflow endpoint")
        return mlflow_error("BAD_REQUEST", str(exc.detail))

    @sub.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return mlflow_error("INTERNAL_ERROR", "the server failed on this request")

    sub.include_router(tracking.router)
    sub.include_router(artifacts.router)
    sub.include_router(models.router)
    sub.include_router(registry.router)
    return sub


def mount_mlflow(app: FastAPI, workspace: object, *, dev: bool) -> None:
    sub = create_mlflow_app(workspace, dev=dev)
    for prefix in MOUNTS:
        app.mount(prefix, sub)
    # First in the route list: a request is matched against each route in turn, and the ~190 routes of the
    # main app before these mounts were a tenth of a LogBatch request's time. No other route lies under them.
    mounts = app.router.routes[-len(MOUNTS) :]
    del app.router.routes[-len(MOUNTS) :]
    app.router.routes[:0] = mounts


__all__ = ["MOUNTS", "UNSUPPORTED", "create_mlflow_app", "mount_mlflow"]
