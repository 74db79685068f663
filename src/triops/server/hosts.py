"""``--dev`` answers only requests addressed to this machine by a loopback name or address.

Dev mode serves without authentication on a loopback interface. A web page from another site can still
reach it through DNS rebinding (its own host name re-pointed at 127.0.0.1): the browser then sends that
name in the ``Host`` header. So a request whose Host is not ``localhost``, a ``*.localhost`` name or a
loopback address is refused with 421 (400 when there is no Host at all).
"""

from __future__ import annotations

import ipaddress

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send


def host_name(header: str) -> str:
    """The host part of a Host header: without the port, IPv6 without its brackets, lower case."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    name, sep, port = value.rpartition(":")
    return name if sep and port.isdigit() else value


def is_loopback_host(header: str) -> bool:
    name = host_name(header).rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class LoopbackHostOnly:
    """ASGI middleware refusing requests whose Host header is not a loopback name or address."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        raw = headers.get(b"host")
        host = raw.decode("latin-1") if raw is not None else ""
        if host and is_loopback_host(host):
            await self.app(scope, receive, send)
            return
        status = 421 if host else 400
        body = {
            "type": "about:blank",
            "title": "Misdirected Request" if host else "Bad Request",
            "status": status,
            "detail": f"this dev-mode server answers only requests to localhost or a loopback address, "
            f"not to {host!r}",
            "instance": scope.get("path", ""),
        }
        await JSONResponse(body, status_code=status, media_type="application/problem+json")(
            scope, receive, send
        )
