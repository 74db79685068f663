"""Who am I (the token's user and the roles they hold) and the shared KPI scorecard."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from triops.governance.rbac import Permission
from triops.server.authz import ActingDep, require_in
from triops.server.http import PROBLEMS

router = APIRouter(tags=["workspace"], responses=PROBLEMS)


@router.get("/me")
def me(ws: ActingDep) -> dict[str, Any]:
    """The principal this token acts as: name, kind and roles per project (``*``: every project)."""
    principal = ws.principal
    return {
        "name": principal.name,
        "kind": principal.kind,
        "roles": {project: sorted(r.value for r in roles) for project, roles in principal.roles.items()},
    }


@router.get("/kpis/scorecard")
def scorecard(ws: ActingDep) -> dict[str, Any]:
    """The shared KPIs (data quality, model performance, metered cost, cost per point); an unbounded
    target is null."""
    require_in(ws, Permission.PROJECT_READ, None)
    data: dict[str, Any] = ws.scorecard().to_dict()
    return data
