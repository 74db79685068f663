"""Role checks for API requests: the same permission sets (``triops.governance.rbac``) the CLI and SDK obey.

A token's user acts with the role bindings they hold (``triops role grant USER ROLE --project P``); a
missing permission is 403 naming it. ``--dev`` mode acts as the workspace owner.
"""

from __future__ import annotations

from fastapi import Request

from triops.governance.rbac import Permission, Principal, require
from triops.governance.roles import load_principal
from triops.store.repositories.tokens import Principal as TokenPrincipal


def roles_of(request: Request, who: TokenPrincipal) -> Principal:
    if request.app.state.dev:
        return Principal.owner(who.user_name)
    with request.app.state.workspace.store.connect() as conn:
        return load_principal(conn, who.user_name, who.kind)


def authorize(
    request: Request, who: TokenPrincipal, permission: Permission, project: str | None
) -> Principal:
    principal = roles_of(request, who)
    require(permission, principal, project)
    return principal


def authorize_run(request: Request, who: TokenPrincipal, permission: Permission, run_id: str) -> None:
    """Check ``permission`` in the project of ``run_id`` (NotFound first if there is no such run)."""
    project = request.app.state.workspace.runs.get(run_id).project
    authorize(request, who, permission, project)
