"""Serving API: ``POST /models/{name}@{alias}/predict`` (JSON or Parquet bodies, one row or a batch), the
served endpoints (``POST /serving/endpoints`` serves one now, through the ``deployment`` gate), and the
prediction log of a model.

The predict route is the hot path, so it is thin and async: it authenticates the bearer token through a
short-lived cache (``TOKEN_TTL_S``: a revoked token or a changed role takes effect on predict within that
time), then hands the parsed body to the process's ``ServingSession``, which checks ``model.predict``,
predicts, logs and meters. Every answer carries ``X-Request-Id`` and ``X-Model-Version``.
"""

from __future__ import annotations

import io
import threading
import time
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from triops.errors import AuthError, InvalidInputError, NotFoundError
from triops.governance.rbac import Principal
from triops.server.authz import ActingDep, roles_of
from triops.server.http import PROBLEMS
from triops.store.repositories.tokens import Principal as TokenPrincipal
from triops.store.repositories.tokens import authenticate

router = APIRouter(tags=["serving"], responses=PROBLEMS)
TOKEN_TTL_S = 5.0
PARQUET_TYPES = ("application/vnd.apache.parquet", "application/x-parquet", "application/parquet")
MAX_LOG_PAGE = 10_000
_DEV = TokenPrincipal(user_id="dev", user_name="dev", kind="user", token_id=None)
_LOCK = threading.Lock()


def session(app: Any) -> Any:
    """The app's serving session, opened on first use (closed by ``close``, at the app's shutdown)."""
    found = getattr(app.state, "serving_session", None)
    if found is None:
        with _LOCK:
            found = getattr(app.state, "serving_session", None)
            if found is None:
                found = app.state.serving_session = app.state.workspace.serving.open_session()
    return found


def close(app: Any) -> None:
    found = getattr(app.state, "serving_session", None)
    if found is not None:
        app.state.serving_session = None
        found.close()


def _principal(request: Request) -> Principal:
    app = request.app
    if app.state.dev:
        return roles_of(request, _DEV)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise AuthError("authentication required")
    cache: dict[str, tuple[float, Principal]] | None = getattr(app.state, "predict_tokens", None)
    if cache is None:
        cache = app.state.predict_tokens = {}
    now = time.monotonic()
    hit = cache.get(token)
    if hit is not None and hit[0] > now:
        return hit[1]
    ws = app.state.workspace
    with ws.store.connect() as conn:
        who = authenticate(conn, token, int(ws.clock.now().timestamp() * 1000))
    if who is None:
        cache.pop(token, None)
        raise AuthError("authentication required")
    principal = roles_of(request, who)
    if len(cache) > 10_000:
        cache.clear()
    cache[token] = (now + TOKEN_TTL_S, principal)
    return principal


@router.post(
    "/models/{name}@{alias}/predict",
    summary="Predict with the version MODEL@ALIAS points at",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "description": '{"inputs": {row}} | {"inputs": [rows]} | {"columns": {name: [values]}}',
                    }
                },
                "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def predict(request: Request, name: str, alias: str) -> Response:
    """One row or a batch, as JSON or Parquet. The answer names the model version that predicted
    (``version``; header ``X-Model-Version``) and the request id (``request_id``; ``X-Request-Id``); the
    prediction ids delayed labels join on are the request id (one row) or ``<request id>/<row>``."""
    started = time.perf_counter()
    principal = _principal(request)
    only = getattr(request.app.state, "serving_only", None)
    if only is not None and only != (name, alias):
        raise NotFoundError(f"this server serves {only[0]}@{only[1]} only, not {name}@{alias}")
    raw = await request.body()
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    serving = session(request.app)
    if kind in PARQUET_TYPES:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(io.BytesIO(raw))
        except (pa.ArrowException, OSError) as exc:
            raise InvalidInputError(f"body: not a readable Parquet file ({exc})"[:300]) from None
        served = serving.predict(principal, name, alias, table=table, started=started)
    elif kind in ("application/json", ""):
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise InvalidInputError(f"body: not valid JSON ({exc})"[:300]) from None
        served = serving.predict(principal, name, alias, body=body, started=started)
    else:
        raise InvalidInputError(
            f"content-type: {kind!r} is not accepted",
            hint="send application/json or application/vnd.apache.parquet",
        )
    return Response(
        orjson.dumps(served.to_dict(), option=orjson.OPT_SERIALIZE_NUMPY),
        media_type="application/json",
        headers={"X-Request-Id": served.request_id, "X-Model-Version": f"{served.model}/{served.version}"},
    )


class EndpointOpen(BaseModel):
    endpoint: str = Field(max_length=250, description="MODEL@ALIAS, e.g. benefits@champion")


def _endpoint_out(endpoint: Any) -> dict[str, Any]:
    current = endpoint.current()
    return {
        "endpoint": endpoint.ref,
        "version": current.version.version,
        "engine": current.engine,
        "swaps": endpoint.swaps,
        "last_error": endpoint.last_error,
    }


@router.post("/serving/endpoints", status_code=201, summary="Serve MODEL@ALIAS on this server")
def open_endpoint(request: Request, ws: ActingDep, body: EndpointOpen) -> dict[str, Any]:
    """Load the version ``MODEL@ALIAS`` points at into this server's serving session now (needs
    ``deployment.write``). It passes the ``deployment`` gate first: a blocked version is 409 naming the policy
    and the reason, and nothing is served."""
    model, alias = ws.serving.deployable(body.endpoint)
    only = getattr(request.app.state, "serving_only", None)
    if only is not None and only != (model, alias):
        raise NotFoundError(f"this server serves {only[0]}@{only[1]} only, not {model}@{alias}")
    return _endpoint_out(session(request.app).endpoint(model, alias))


@router.get("/serving/endpoints", summary="The endpoints this server has loaded")
def endpoints(request: Request, ws: ActingDep) -> list[dict[str, Any]]:
    """Each loaded ``MODEL@ALIAS`` with the version serving it, its engine (onnx or skops), how many times
    it switched versions, and the last error loading a new version (the old one kept serving)."""
    found = getattr(request.app.state, "serving_session", None)
    out = []
    for endpoint in found.endpoints() if found is not None else []:
        try:
            ws.serving.counts(endpoint.model)  # 404 for a model the caller cannot read
        except NotFoundError:
            continue
        out.append(_endpoint_out(endpoint))
    return out


@router.get("/models/{name}/predictions", summary="The prediction log of a model")
def predictions(
    name: str,
    ws: ActingDep,
    version: Annotated[int | None, Query(ge=1)] = None,
    since_ms: Annotated[int | None, Query(ge=0)] = None,
    until_ms: Annotated[int | None, Query(ge=0)] = None,
    after_ms: Annotated[int | None, Query(ge=0, description="cursor: time_ms of the last row seen")] = None,
    after_id: Annotated[
        str | None, Query(max_length=64, description="cursor: id of the last row seen")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LOG_PAGE)] = 1000,
) -> dict[str, Any]:
    """Logged predictions in (time, id) order; pass the last row's ``time_ms`` and ``id`` as
    ``after_ms``/``after_id`` for the next page."""
    if (after_ms is None) != (after_id is None):
        raise InvalidInputError("after_ms, after_id: give both or neither")
    after = (after_ms, after_id) if after_ms is not None and after_id is not None else None
    rows = [
        r.to_dict()
        for r in ws.serving.predictions(
            name, version, since_ms=since_ms, until_ms=until_ms, after=after, limit=limit
        )
    ]
    return {
        "items": rows,
        "next": {"after_ms": rows[-1]["time_ms"], "after_id": rows[-1]["id"]} if len(rows) == limit else None,
    }


@router.get("/serving/costs", summary="Serving cost per 1,000 predictions per model version")
def costs(ws: ActingDep, model: Annotated[str | None, Query(max_length=100)] = None) -> list[dict[str, Any]]:
    return ws.serving.costs(model)
