"""Pipeline runs: the list, and one run's DAG with each step's status, duration, cost and cache hit; a failed
run can be resumed from its failed step (a form, with the API's permission)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from triops.domain.records import RunStatus
from triops.governance.rbac import Permission
from triops.server.authz import readable, require_in
from triops.server.web.core import FormDep, Page, PageDep, WebRoute
from triops.server.web.render import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)
LIST_LIMIT = 200


@router.get("/pipelines")
def pipelines(page: PageDep, project: str = "") -> Response:
    if project:
        readable(page.ws, project, f"project {project!r}")
    found = [
        r
        for r in page.ws.runs.search(
            project=project or None,
            filter="attributes.kind = 'pipeline'",
            order_by=["attributes.start_time desc"],
            limit=LIST_LIMIT,
            offset=0,
        )
        if page.ws.principal.can(Permission.PROJECT_READ, r.project)
    ]
    return render(
        page.request,
        "pipelines.html",
        page=page,
        runs=found,
        project=project,
        projects=page.ws.kpis.projects(),
    )


def _step_costs(page: Page, run_id: str, project: str) -> dict[str, tuple[int, str]]:
    if not page.ws.principal.can(Permission.COST_READ, project):
        return {}
    frame = page.ws.finops.costs(run_id=run_id)
    out: dict[str, tuple[int, str]] = {}
    for row in frame.select("step", "cost_micros", "currency").iter_rows():
        step, micros, currency = row
        if step is None:
            continue
        before, cur = out.get(step, (0, currency))
        # one step's records share a currency; a different one would not be added up
        if cur == currency:
            out[step] = (before + int(micros), currency)
    return out


@router.get("/pipelines/{run_id}")
def pipeline_run(page: PageDep, run_id: str) -> Response:
    run = page.ws.runs.get(run_id)
    readable(page.ws, run.project, f"run {run_id!r}")
    result = page.ws.pipelines.run(run_id)
    costs = _step_costs(page, run_id, run.project)
    steps: list[dict[str, Any]] = []
    for s in result.steps:
        duration = None
        if s.started_ms is not None and s.ended_ms is not None:
            duration = (s.ended_ms - s.started_ms) / 1000
        steps.append(
            {
                "step": s.step,
                "function": s.function,
                "status": s.status,
                "upstream": s.upstream,
                "duration": duration,
                "cache_hit": s.cached_from is not None or s.status == "cached",
                "cost": costs.get(s.step),
                "error": s.error,
                "attempt": s.attempt,
            }
        )
    can_resume = run.status in (RunStatus.FAILED, RunStatus.KILLED) and page.ws.principal.can(
        Permission.RUN_WRITE, run.project
    )
    return render(
        page.request, "pipeline.html", page=page, run=run, result=result, steps=steps, can_resume=can_resume
    )


@router.post("/pipelines/{run_id}/resume")
def resume(page: PageDep, run_id: str, form: FormDep) -> Response:
    run = page.ws.runs.get(run_id)
    readable(page.ws, run.project, f"run {run_id!r}")
    require_in(page.ws, Permission.RUN_WRITE, run.project)
    result = page.ws.pipelines.resume(run_id, allowed_modules=page.ws.settings.server_pipeline_modules)
    return RedirectResponse(f"/pipelines/{result.run_id}", status_code=303)
