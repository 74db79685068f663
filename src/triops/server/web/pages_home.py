"""Home (the shared KPI scorecard of every readable project) and the projects page; both read the
scorecards kept per store state (``state_cache.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from triops.errors import InvalidInputError
from triops.server.web.charts import sparkline
from triops.server.web.core import FormDep, Page, PageDep, WebRoute
from triops.server.web.render import render
from triops.server.web.state_cache import principal_key, state_cache

if TYPE_CHECKING:
    from triops.kpis.board import KpiRow

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _boards(page: Page) -> dict[str, list[KpiRow]]:
    """Every readable project's scorecard, computed once per store state (and KPI definitions file) for
    this principal: a view after no write reuses it, the first view after a write recomputes."""
    ws = page.ws
    path = ws.kpis.definitions_path
    try:
        stat = path.stat()
        definitions: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        definitions = None
    key = ("scorecard", principal_key(ws.principal), str(path), definitions)
    return state_cache(page.request).get(key, lambda: {p: ws.kpis.scorecard(p) for p in ws.kpis.projects()})


@router.get("/")
def home(page: PageDep) -> Response:
    boards = _boards(page)
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
    for name, board in _boards(page).items():
        rows.append(
            {
                "name": name,
                "met": sum(r.status == "met" for r in board),
                "missed": sum(r.status == "missed" for r in board),
                "nodata": sum(r.status == "no data" for r in board),
            }
        )
    return render(page.request, "projects.html", page=page, projects=rows)
