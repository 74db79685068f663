"""Models: the registry list, one model's versions with stages and aliases, and one version's evaluation
(metrics with their bootstrap intervals, fairness by group), model card and approval requests."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from triops.governance.rbac import Permission
from triops.server.authz import readable
from triops.server.web.core import Page, PageDep, WebRoute
from triops.server.web.render import render
from triops.workspace.projects import model_project

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _readable_model(page: Page, name: str) -> str | None:
    project = model_project(page.ws.store, name)
    readable(page.ws, project, f"model {name!r}")
    return project


@router.get("/models")
def models(page: PageDep) -> Response:
    rows = [(r, model_project(page.ws.store, r["name"])) for r in page.ws.models.list_models()]
    rows = [(r, p) for r, p in rows if page.ws.principal.can(Permission.PROJECT_READ, p)]
    return render(page.request, "models.html", page=page, models=rows)


@router.get("/models/{name}")
def model(page: PageDep, name: str) -> Response:
    project = _readable_model(page, name)
    versions = page.ws.models.versions(name)
    return render(page.request, "model.html", page=page, name=name, project=project, versions=versions)


def _evaluation(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    for row in rows:
        if row.get("kind") == "evaluation":
            return row
    return None


@router.get("/models/{name}/{version}")
def model_version(page: PageDep, name: str, version: int) -> Response:
    project = _readable_model(page, name)
    found = page.ws.models.get(f"{name}/{version}")
    evaluation = _evaluation(page.ws.models.evaluations(found.ref))
    result = (evaluation or {}).get("result") or {}
    card = page.ws.models.card(found.ref, "md")  # shown as text (escaped), as `triops models card` prints it
    approvals = [
        a for a in page.ws.governance.approval_requests(project=project) if a.get("subject_id") == found.ref
    ]
    return render(
        page.request,
        "model_version.html",
        page=page,
        name=name,
        project=project,
        v=found,
        evaluation=evaluation,
        metrics=result.get("metrics") or {},
        fairness=result.get("fairness") or {},
        card=card,
        approvals=approvals,
    )
