"""``create_app``: the FastAPI application, its error handling (RFC 9457 problem JSON) and request limits."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from triops.errors import AuthError, TriopsError
from triops.workspace import Workspace

PROBLEM = "application/problem+json"
_MAX_REPORTED_ERRORS = 20
API_PREFIX = "/api/v1"


def _problem(status: int, title: str, detail: str, instance: str, **extra: Any) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


# Routes that stream their body to disk under a limit of their own (the artifact upload).
STREAMED_UPLOADS = re.compile(
    rf"^({API_PREFIX}/runs/[^/]+/artifacts/.+|/(ajax-)?api/2\.0/mlflow-artifacts/artifacts/.+)"
)


class BodySizeLimit:
    """Refuses request bodies over ``max_bytes`` with 413, by Content-Length or while streaming; PUTs to
    ``streamed`` paths are left to their route's own limit."""

    def __init__(self, app: ASGIApp, max_bytes: int, streamed: re.Pattern[str] = STREAMED_UPLOADS) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.streamed = streamed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (
            scope.get("method") == "PUT" and self.streamed.match(scope.get("path", ""))
        ):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = _problem(
            413,
            "Payload Too Large",
            f"request body exceeds {self.max_bytes} bytes",
            scope.get("path", ""),
        )
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


def create_app(
    workspace: Workspace, *, dev: bool = False, max_request_bytes: int | None = None, scheduler: bool = False
) -> FastAPI:
    """The app on ``workspace``; ``scheduler`` runs scheduled monitors in a background thread from startup
    to shutdown (``triops server`` turns it on; see ``triops.workspace.monitoring_schedule``)."""
    from triops.server.api import (
        artifacts,
        audit,
        datasets,
        evaluations,
        finops,
        governance,
        models,
        monitoring,
        pipelines,
        run_pages,
        runs,
        serving,
        strategy,
        system,
    )
    from triops.server.api import (
        workspace as workspace_api,
    )
    from triops.server.audit_seal import AuditCheckpoint
    from triops.server.docs import add_docs
    from triops.server.http import SafeJSONResponse, SecurityHeaders

    app = FastAPI(
        title="triops",
        version="1",
        description="The triops REST API: every pillar (tracking, models, datasets and contracts, FinOps, "
        "governance, pipelines, strategy). Authenticate with `Authorization: Bearer <token>`.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        # orjson writes a non-finite float (a profile's mean of an empty column …) as null, never a 500
        default_response_class=SafeJSONResponse,
    )
    app.state.workspace = workspace
    app.state.dev = dev

    @app.exception_handler(TriopsError)
    async def _triops_error(request: Request, exc: TriopsError) -> JSONResponse:
        if isinstance(exc, AuthError):
            return _problem(401, "Unauthorized", "authentication required", request.url.path)
        return JSONResponse(exc.to_problem(request.url.path), status_code=exc.status, media_type=PROBLEM)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        found = exc.errors()
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in found[:_MAX_REPORTED_ERRORS]
        ]
        # the detail names the fields, so a client that shows one line shows what to fix
        named = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:3])
        more = f" (and {len(found) - 3} more)" if len(found) > 3 else ""
        return _problem(
            422,
            "Unprocessable Content",
            f"the request does not match the schema: {named}{more}"[:2000],
            request.url.path,
            errors=errors,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # a bug still answers problem JSON, never a plain-text 500 or a stack trace (uvicorn logs it)
        return _problem(500, "Internal Server Error", "the server failed on this request", request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _problem(exc.status_code, str(exc.detail), str(exc.detail), request.url.path)

    app.include_router(system.router)
    for module in (
        workspace_api,
        runs,
        run_pages,
        artifacts,
        serving,
        models,
        evaluations,
        datasets,
        finops,
        governance,
        audit,
        pipelines,
        strategy,
        monitoring,
    ):
        app.include_router(module.router, prefix=API_PREFIX)
    app.router.add_event_handler("shutdown", lambda: serving.close(app))
    if scheduler:
        _schedule_monitors(app, workspace)
    add_docs(app, API_PREFIX)
    from triops.server.web import mount as mount_web

    mount_web(app)  # the web app's pages at / (docs/web.md)
    from triops.server.mlflow import mount_mlflow

    mount_mlflow(app, workspace, dev=dev)  # MLflow's REST API at /api/2.0 and /ajax-api/2.0 (docs/mlflow.md)
    limit = max_request_bytes or workspace.settings.max_request_bytes
    app.add_middleware(BodySizeLimit, max_bytes=limit)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AuditCheckpoint, workspace=workspace)
    if dev:  # no authentication: answer only requests addressed to this machine (DNS rebinding)
        from triops.server.hosts import LoopbackHostOnly

        app.add_middleware(LoopbackHostOnly)
    return app


def _schedule_monitors(app: FastAPI, workspace: Workspace) -> None:
    from triops.workspace.monitoring_schedule import MonitorScheduler

    def start() -> None:
        app.state.monitor_scheduler = MonitorScheduler(workspace).start()

    def stop() -> None:  # on SIGTERM too: uvicorn shuts the app down, the run in progress finishes first
        found = getattr(app.state, "monitor_scheduler", None)
        if found is not None:
            found.stop()

    app.router.add_event_handler("startup", start)
    app.router.add_event_handler("shutdown", stop)


def app_from_environment() -> FastAPI:
    """The app for ``uvicorn triops.server.app:app_from_environment --factory``: the workspace comes from the
    settings (TRIOPS_STORE_URL, TRIOPS_HOME …), ``TRIOPS_SERVER_DEV=1`` turns authentication off and
    ``TRIOPS_SERVER_SCHEDULER=0`` the monitor scheduler."""
    import os

    dev = os.environ.get("TRIOPS_SERVER_DEV") == "1"
    scheduler = os.environ.get("TRIOPS_SERVER_SCHEDULER", "1") != "0"
    app = create_app(Workspace.open(), dev=dev, scheduler=scheduler)
    app.router.add_event_handler("startup", _freeze_startup_objects)
    return app


def _freeze_startup_objects() -> None:
    """Move what the server holds for its whole life (modules, the app, its routes and models) out of the
    garbage collector's sight. A request allocates thousands of containers (a LogBatch's 1,000 metric
    dicts …), so the collector runs often, and its full passes over those long-lived objects were a third
    of the server's CPU in the MLflow log-batch benchmark. Only the server process does this: tests that
    build many apps in one process would keep the frozen ones forever."""
    import gc

    gc.collect()
    gc.freeze()
