"""Reading MLflow requests: GETs carry their fields in the query string, the rest in a JSON body.

Each request is validated against a pydantic model of its proto message; a field of the wrong type is an
``INVALID_PARAMETER_VALUE`` error naming it. Fields MLflow's own server ignores are ignored here too.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from triops.domain.validation import INT64_MAX, INT64_MIN
from triops.errors import InvalidInputError
from triops.server.auth import bearer_principal
from triops.server.authz import acting_view
from triops.workspace.mlflow import MlflowTracking

M = TypeVar("M", bound=BaseModel)
Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
MAX_RESULTS = 50_000


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")


class KeyValue(Message):
    key: str
    value: str = ""


class MetricIn(Message):
    key: str
    value: float | str
    timestamp: Int64 = 0
    step: Int64 = 0


async def _fields(request: Request) -> dict[str, Any]:
    if request.method == "GET":
        out: dict[str, Any] = {}
        for key, value in request.query_params.multi_items():
            if key in out:
                existing = out[key]
                out[key] = [*existing, value] if isinstance(existing, list) else [existing, value]
            else:
                out[key] = value
        return out
    body = await request.body()
    if not body.strip():
        return {}
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidInputError(
            "the request body is not JSON", hint="send the request message as a JSON object"
        ) from None
    if not isinstance(data, dict):
        raise InvalidInputError("the request body must be a JSON object")
    return data


async def parse(request: Request, model: type[M], lists: tuple[str, ...] = ()) -> M:
    """The request's fields as ``model``; ``lists`` names repeated fields a GET may give once."""
    data = await _fields(request)
    for name in lists:
        if name in data and not isinstance(data[name], list):
            data[name] = [data[name]]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise InvalidInputError(
            f"invalid value for field {where!r}: {first.get('msg', '')}", detail={"field": where}
        ) from None


def page_offset(token: str | None) -> int:
    if not token:
        return 0
    if not token.isdigit() or len(token) > 12:
        raise InvalidInputError(
            f"page_token {token[:40]!r} is not one this server gave", detail={"field": "page_token"}
        )
    return int(token)


def next_token(offset: int, returned: int, asked: int) -> dict[str, str]:
    return {"next_page_token": str(offset + returned)} if returned == asked and returned > 0 else {}


async def tracking(request: Request) -> MlflowTracking:
    """``async``: no hop to a worker thread and back (a plain ``def`` dependency takes one). The token is read
    here rather than through ``PrincipalDep``: FastAPI solving the nested dependencies cost more per request
    than the authentication itself."""
    return MlflowTracking(acting_view(request, bearer_principal(request)))


TrackingDep = Annotated[MlflowTracking, Depends(tracking)]

__all__ = [
    "MAX_RESULTS",
    "KeyValue",
    "Message",
    "MetricIn",
    "TrackingDep",
    "next_token",
    "page_offset",
    "parse",
    "tracking",
]
