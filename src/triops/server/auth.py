"""Bearer-token authentication. A missing or wrong token is a bare 401: no hint of which part was wrong."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from triops.errors import AuthError
from triops.governance.roles import load_principal
from triops.store.repositories.tokens import Principal, authenticate
from triops.workspace import Workspace

_bearer = HTTPBearer(auto_error=False)
DEV_PRINCIPAL = Principal(user_id="dev", user_name="dev", kind="user", token_id=None)


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The token's user. ``async`` on purpose: one indexed read (the token, then the user's role bindings,
    kept for ``authz.roles_of``) costs less than the hop to a worker thread and back that a plain ``def``
    dependency takes, and a request's dependencies took several such hops on a busy machine."""
    if request.app.state.dev:
        return DEV_PRINCIPAL
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise AuthError("authentication required")
    ws: Workspace = request.app.state.workspace
    now_ms = int(ws.clock.now().timestamp() * 1000)
    with ws.store.connect() as conn:
        principal = authenticate(conn, credentials.credentials, now_ms)
        if principal is None:
            raise AuthError("authentication required")
        # the roles come from the same read, so a revoked binding is effective on the next request
        request.state.principal = load_principal(conn, principal.user_name, principal.kind)
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]
