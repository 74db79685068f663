"""Bearer-token authentication. A missing or wrong token is a bare 401: no hint of which part was wrong."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from triops.errors import AuthError
from triops.store.repositories.tokens import Principal, authenticate
from triops.workspace import Workspace

_bearer = HTTPBearer(auto_error=False)
DEV_PRINCIPAL = Principal(user_id="dev", user_name="dev", kind="user", token_id=None)


def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
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
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]
