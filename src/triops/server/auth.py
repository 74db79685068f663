"""Bearer-token authentication. A missing or wrong token is a bare 401: no hint of which part was wrong."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from triops.errors import AuthError
from triops.governance.roles import principal_of
from triops.store.repositories.tokens import Principal, authenticate_with_bindings
from triops.workspace import Workspace

_bearer = HTTPBearer(auto_error=False)
DEV_PRINCIPAL = Principal(user_id="dev", user_name="dev", kind="user", token_id=None)


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The token's user. ``async`` on purpose: one indexed read (the token, its user and their role bindings,
    kept for ``authz.roles_of``) costs less than the hop to a worker thread and back that a plain ``def``
    dependency takes, and a request's dependencies took several such hops on a busy machine."""
    if request.app.state.dev:
        return DEV_PRINCIPAL
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise AuthError("authentication required")
    return token_principal(request, credentials.credentials)


def bearer_principal(request: Request) -> Principal:
    """``current_principal`` for a route that reads the header itself (no dependency of its own: the MLflow
    endpoint, whose per-request dependency chain cost more than its authentication). Same answers: the
    ``Authorization: Bearer`` scheme parsed as ``HTTPBearer`` does, a bare 401 when it is missing or wrong."""
    if request.app.state.dev:
        return DEV_PRINCIPAL
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise AuthError("authentication required")
    return token_principal(request, token)


def token_principal(request: Request, token: str) -> Principal:
    """The user of ``token`` (its role bindings kept in ``request.state.principal``), or a bare 401."""
    ws: Workspace = request.app.state.workspace
    now_ms = int(ws.clock.now().timestamp() * 1000)
    with ws.store.connect() as conn:
        # the token, its user and their role bindings in one statement, every request: a token revoked or
        # a binding removed (by this server or the CLI) counts on the very next request
        found = authenticate_with_bindings(conn, token, now_ms)
    if found is None:
        raise AuthError("authentication required")
    principal, bindings = found
    request.state.principal = principal_of(principal.user_name, bindings, principal.kind)
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]
