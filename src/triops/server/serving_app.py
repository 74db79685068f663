"""The app ``triops serve MODEL@ALIAS`` runs: only the serving routes (predict, endpoints, the prediction
log, serving costs) and ``/healthz``, with the same token authentication, problem JSON, body limit and
security headers as ``triops server``. It answers predictions for its one endpoint only (others are 404
naming it), loads that endpoint at startup, and writes the prediction log and prices the last usage at
shutdown (SIGTERM included: uvicorn turns it into a graceful shutdown). Like ``triops server``, the
process moves what it holds for its whole life (modules, app, model) out of the garbage collector's sight
once started.
"""

from __future__ import annotations

import os

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from triops.errors import AuthError, TriopsError
from triops.server.app import API_PREFIX, PROBLEM, BodySizeLimit, _freeze_startup_objects, _problem
from triops.workspace import Workspace

ENV_REF = "TRIOPS_SERVE_REF"


def create_serving_app(workspace: Workspace, model: str, alias: str, *, dev: bool = False) -> FastAPI:
    from triops.server.api import serving, system
    from triops.server.http import SafeJSONResponse, SecurityHeaders

    app = FastAPI(
        title=f"triops serve {model}@{alias}",
        version="1",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        default_response_class=SafeJSONResponse,
    )
    app.state.workspace = workspace
    app.state.dev = dev
    app.state.serving_only = (model, alias)

    @app.exception_handler(TriopsError)
    async def _triops_error(request: Request, exc: TriopsError) -> JSONResponse:
        if isinstance(exc, AuthError):
            return _problem(401, "Unauthorized", "authentication required", request.url.path)
        return JSONResponse(exc.to_problem(request.url.path), status_code=exc.status, media_type=PROBLEM)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        named = "; ".join(
            f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg', '')}" for e in exc.errors()[:3]
        )
        return _problem(
            422, "Unprocessable Content", f"the request does not match the schema: {named}", request.url.path
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return _problem(500, "Internal Server Error", "the server failed on this request", request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _problem(exc.status_code, str(exc.detail), str(exc.detail), request.url.path)

    def _startup() -> None:
        serving.session(app).endpoint(model, alias)
        # The meter prices the usage through polars every serving_meter_interval_s. Imported here, before
        # the first request, not by the meter's first tick: that import held the GIL for ~0.8 s of CPU
        # (more on a loaded machine) while requests waited, 10 s after the start.
        import polars  # noqa: F401

    app.router.add_event_handler("startup", _startup)
    app.router.add_event_handler("shutdown", lambda: serving.close(app))
    app.include_router(system.router)
    app.include_router(serving.router, prefix=API_PREFIX)
    app.add_middleware(BodySizeLimit, max_bytes=workspace.settings.max_request_bytes)
    app.add_middleware(SecurityHeaders)
    if dev:
        from triops.server.hosts import LoopbackHostOnly

        app.add_middleware(LoopbackHostOnly)
    return app


def app_from_environment() -> FastAPI:
    """For uvicorn's ``--factory``: the store from the settings, the endpoint from ``TRIOPS_SERVE_REF``."""
    model, _, alias = os.environ[ENV_REF].partition("@")
    app = create_serving_app(Workspace.open(), model, alias, dev=os.environ.get("TRIOPS_SERVER_DEV") == "1")
    app.router.add_event_handler("startup", _freeze_startup_objects)  # after the endpoint's model is loaded
    return app
