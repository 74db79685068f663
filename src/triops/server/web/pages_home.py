"""Home (the shared KPI scorecard of every readable project) and the projects page."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from triops.errors import InvalidInputError
from triops.server.web.charts import sparkline
from triops.server.web.core import FormDep, PageDep, WebRoute
from triops.server.web.render import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/")
def home(page: PageDep) -> Response:
    boards = {p: page.ws.kpis.scorecard(p) for p in page.ws.kpis.projects()}
    sparks: dict[str, dict[str, Markup]] = {
        p: {r.name: sparkline(f"{r.name}: last {len(r.history)} snapshots", r.history) for r in rows}
        for p, rows in boards.items()
    }
    return render(page.request, "home.html", page=page, boards=boards, sparks=sparks)


@router.post("/kpis/record")
def record(page: PageDep, form: FormDep) -> Response:
    project = form.get("project", "")
    if not project:
        raise InvalidInputError("project is required to record a snapshot")
    page.ws.kpis.record(project)
    return RedirectResponse("/", status_code=303)


@router.get("/projects")
def projects(page: PageDep) -> Response:
    rows = []
    for name in page.ws.kpis.projects():
        board = page.ws.kpis.scorecard(name)
        rows.append(
            {
                "name": name,
                "met": sum(r.status == "met" for r in board),
                "missed": sum(r.status == "missed" for r in board),
                "nodata": sum(r.status == "no data" for r in board),
            }
        )
    return render(page.request, "projects.html", page=page, projects=rows)
