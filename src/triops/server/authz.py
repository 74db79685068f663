"""Who acts on a request, and role checks for API requests: the same permission sets
(``triops.governance.rbac``) the CLI and SDK obey.

Every pillar router works on ``acting(request, who)``: the server's workspace seen as the token's user, so
the services act as (and check permissions for) that user. Where a service does not check a permission
itself yet, the route calls ``authorize`` before it. A token's user acts with the role bindings they hold
(``triops role grant USER ROLE --project P``); a missing permission is 403 naming it; an object in a project
the caller cannot read is 404, as if it did not exist. ``--dev`` mode acts as the workspace owner.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from triops.domain.records import Run
from triops.errors import NotFoundError
from triops.governance.rbac import Permission, Principal, require
from triops.governance.roles import load_principal
from triops.server.auth import PrincipalDep
from triops.store.repositories.tokens import Principal as TokenPrincipal
from triops.workspace import Workspace


def roles_of(request: Request, who: TokenPrincipal) -> Principal:
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None and cached.name == who.user_name:
        return cached
    if request.app.state.dev:
        principal = Principal.owner(who.user_name)
    else:
        with request.app.state.workspace.store.connect() as conn:
            principal = load_principal(conn, who.user_name, who.kind)
    request.state.principal = principal
    return principal


def acting_view(request: Request, who: TokenPrincipal) -> Workspace:
    """The server's workspace acting as the token's user (one view per request)."""
    view: Workspace = request.app.state.workspace.acting_as(roles_of(request, who))
    return view


async def acting_workspace(request: Request, who: PrincipalDep) -> Workspace:
    """``acting_view`` as a dependency. ``async``: no I/O here (the roles were read with the token), so no
    hop to a worker thread."""
    return acting_view(request, who)


ActingDep = Annotated[Workspace, Depends(acting_workspace)]


def authorize(
    request: Request, who: TokenPrincipal, permission: Permission, project: str | None
) -> Principal:
    principal = roles_of(request, who)
    require(permission, principal, project)
    return principal


def require_in(ws: Workspace, permission: Permission, project: str | None) -> None:
    """``permission`` for the acting principal of ``ws`` in ``project`` (403 naming it)."""
    require(permission, ws.principal, project)


def readable(ws: Workspace, project: str | None, what: str) -> None:
    """404 (not 403) when the acting principal cannot read ``project``: the object might as well not exist."""
    if not ws.principal.can(Permission.PROJECT_READ, project):
        raise NotFoundError(f"{what} does not exist", hint="check the name, or ask for a role in its project")


def authorize_run(request: Request, who: TokenPrincipal, permission: Permission, run_id: str) -> None:
    """Check ``permission`` in the project of ``run_id`` (NotFound first if there is no such run)."""
    authorize(request, who, permission, stored_run(request, run_id).project)


def stored_run(request: Request, run_id: str) -> Run:
    """The run as stored, read as the server (no permission check: the caller decides who may see it)."""
    from triops.mlops.tracking.active_run import StoreTrackingSink

    ws = request.app.state.workspace
    return StoreTrackingSink(ws.store, ws.artifacts, ws.clock, None).get_run(run_id)


__all__ = [
    "ActingDep",
    "acting_view",
    "acting_workspace",
    "authorize",
    "authorize_run",
    "readable",
    "require_in",
    "roles_of",
    "stored_run",
]
