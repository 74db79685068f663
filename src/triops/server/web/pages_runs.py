"""Runs: search with the filter language and sortable columns, one run's page with its metric charts, and
a comparison of runs (metric charts over steps, a param diff)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Query
from fastapi.responses import Response

from triops.domain.records import Run
from triops.errors import InvalidInputError
from triops.governance.rbac import Permission
from triops.server.authz import readable
from triops.server.web.charts import line_chart
from triops.server.web.core import Page, PageDep, WebRoute
from triops.server.web.render import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)
PAGE_SIZE = 50
MAX_METRIC_COLUMNS = 6
MAX_COMPARE = 8


def _run(page: Page, run_id: str) -> Run:
    run = page.ws.runs.get(run_id)
    readable(page.ws, run.project, f"run {run_id!r}")
    return run


@router.get("/runs")
def runs(
    page: PageDep,
    project: str = "",
    filter: str = Query("", max_length=2000),
    sort: str = "attributes.start_time desc",
    offset: int = Query(0, ge=0),
) -> Response:
    if project:
        readable(page.ws, project, f"project {project!r}")
    error = None
    found: list[Run] = []
    try:
        found = page.ws.runs.search(
            project=project or None,
            filter=filter,
            order_by=[sort] if sort else [],
            limit=PAGE_SIZE + 1,
            offset=offset,
        )
    except InvalidInputError as exc:
        error = str(exc)
    found = [r for r in found if page.ws.principal.can(Permission.PROJECT_READ, r.project)]
    more = len(found) > PAGE_SIZE
    found = found[:PAGE_SIZE]
    metric_keys = sorted({k for r in found for k in r.metrics})[:MAX_METRIC_COLUMNS]
    base = "/runs?" + urlencode({"project": project, "filter": filter})
    return render(
        page.request,
        "runs.html",
        page=page,
        runs=found,
        project=project,
        filter=filter,
        sort=sort,
        error=error,
        metric_keys=metric_keys,
        base=base,
        offset=offset,
        more=more,
        page_size=PAGE_SIZE,
        projects=page.ws.kpis.projects(),
    )


@router.get("/runs/compare")
def compare(page: PageDep, run: list[str] = Query(default_factory=list)) -> Response:
    ids = list(dict.fromkeys(run))[:MAX_COMPARE]
    if len(ids) < 2:
        raise InvalidInputError(
            "pick at least two runs to compare", hint="tick two or more runs on the runs page"
        )
    chosen = page.ws.runs.get_many(ids)
    for r in chosen:
        readable(page.ws, r.project, f"run {r.id!r}")
    keys = sorted({k for r in chosen for k in r.metrics})
    histories = page.ws.runs.histories_of(chosen, keys)
    charts = []
    for key in keys:
        series = []
        for r in chosen:
            history = histories[r.id].get(key, [])
            series.append((r.name or r.id[:8], [(float(m.step), m.value) for m in history]))
        charts.append(line_chart(f"{key} by step, per run", series))
    param_keys = sorted({k for r in chosen for k in r.params})
    params = [
        (k, [r.params.get(k, "") for r in chosen], len({r.params.get(k) for r in chosen}) > 1)
        for k in param_keys
    ]
    return render(
        page.request, "compare.html", page=page, runs=chosen, keys=keys, charts=charts, params=params
    )


@router.get("/runs/{run_id}")
def run_page(page: PageDep, run_id: str) -> Response:
    found = _run(page, run_id)
    charts = []
    for key, history in page.ws.runs.histories_of([found], sorted(found.metrics))[found.id].items():
        if len(history) > 1:
            charts.append(line_chart(f"{key} by step", [(key, [(float(m.step), m.value) for m in history])]))
    return render(page.request, "run.html", page=page, run=found, charts=charts)
