"""Who am I (the token's user and the roles they hold) and the shared KPI scorecard (workspace-wide figures,
and per project with snapshots)."""

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


@router.get("/kpis/projects")
def kpi_projects(ws: ActingDep) -> dict[str, list[str]]:
    """The projects whose per-project scorecard the caller can read."""
    return {"projects": ws.kpis.projects()}


@router.get("/kpis/projects/{project}")
def project_scorecard(ws: ActingDep, project: str) -> dict[str, Any]:
    """Every KPI of ``project`` (the server's kpis.toml and the defaults): value, interval, target, status,
    trend and the values of past snapshots. 404 for a project the caller cannot read."""
    return {"project": project, "kpis": [r.to_dict() for r in ws.kpis.scorecard(project)]}


@router.post("/kpis/projects/{project}/snapshots", status_code=201)
def record_snapshot(ws: ActingDep, project: str) -> dict[str, Any]:
    """Store a snapshot of ``project``'s scorecard (needs ``run.write`` there); answers the rows stored."""
    return {"project": project, "kpis": [r.to_dict() for r in ws.kpis.record(project)]}
