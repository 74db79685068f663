"""HTTP details every router shares: security headers, safe downloads, ETags, names in paths.

Every response carries a Content-Security-Policy that allows only this server (the API docs load their
scripts and styles from triops itself), ``Referrer-Policy: no-referrer``, frame denial and ``nosniff``.
Downloads are always ``application/octet-stream`` with ``Content-Disposition: attachment`` whatever media
type the uploader claimed (that stays in the metadata), so a browser never renders stored bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote

import orjson
from fastapi import Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from triops.errors import InvalidInputError

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
OCTET = "application/octet-stream"
MAX_NAME_LENGTH = 255
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class Problem(BaseModel):
    """RFC 9457 problem details: every error answer has this shape."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: Any = None


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "model": Problem,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: _problem_response("bad request (e.g. a cursor of another listing)"),
    401: _problem_response("missing or wrong token"),
    402: _problem_response("a budget hard stop refused the run"),
    403: _problem_response("the token's user lacks the permission named in the problem"),
    404: _problem_response("no such object, or one in a project the token's user cannot read"),
    409: _problem_response("conflicts with stored state, or a gate blocked the change"),
    413: _problem_response("the request body is over the server's limit"),
    422: _problem_response("the request breaks a rule or a limit, named in the problem"),
}


class SafeJSONResponse(JSONResponse):
    """JSON through orjson: a non-finite float (a profile's mean of an empty column …) becomes null instead of
    failing the response with a 500."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


class SecurityHeaders:
    """Adds the security headers to every HTTP response (errors and docs included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


def check_download_name(name: str, what: str = "name") -> str:
    """Names that travel in paths and Content-Disposition: no ``..``, no control characters, bounded."""
    if not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidInputError(
            f"{what} must be 1-{MAX_NAME_LENGTH} characters", detail={"parameter": what, "limit": 255}
        )
    if ".." in name or _CONTROL.search(name) or name.startswith("/") or "\\" in name:
        raise InvalidInputError(
            f"{what} {name[:80]!r} contains '..', a backslash, a leading '/' or a control character",
            hint="use plain names such as model.skops or data/train.parquet",
            detail={"parameter": what},
        )
    return name


def disposition(filename: str) -> str:
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", filename.rsplit("/", 1)[-1]) or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename.rsplit('/', 1)[-1])}"


def etag_of(sha256: str) -> str:
    return f'"{sha256}"'


def not_modified(request: Request, etag: str) -> bool:
    given = request.headers.get("if-none-match")
    if not given:
        return False
    return given.strip() == "*" or etag in [t.strip().removeprefix("W/") for t in given.split(",")]


def download(request: Request, data: bytes, filename: str, sha256: str) -> Response:
    """Immutable bytes as an attachment, with an ETag (their sha256) and 304 on a matching If-None-Match."""
    etag = etag_of(sha256)
    headers = {
        "ETag": etag,
        "Cache-Control": "private, max-age=31536000, immutable",
        "Content-Disposition": disposition(filename),
        "X-Content-Type-Options": "nosniff",
    }
    if not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=OCTET, headers=headers)


def stream_download(chunks: Iterable[bytes], filename: str, media_type: str = OCTET) -> StreamingResponse:
    headers = {"Content-Disposition": disposition(filename), "X-Content-Type-Options": "nosniff"}
    return StreamingResponse(iter(chunks), media_type=media_type, headers=headers)


def immutable_json(request: Request, body: bytes, sha: str) -> Response:
    """JSON of an immutable object (a dataset version, a card of a version) with its ETag."""
    etag = etag_of(sha)
    headers = {"ETag": etag, "Cache-Control": "private, max-age=0, must-revalidate"}
    if not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def chunked(data: bytes, size: int = 1 << 16) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


__all__ = [
    "CSP",
    "OCTET",
    "PROBLEMS",
    "Problem",
    "SafeJSONResponse",
    "SecurityHeaders",
    "check_download_name",
    "disposition",
    "download",
    "etag_of",
    "immutable_json",
    "not_modified",
    "stream_download",
]
