"""Costs: totals by project, pipeline, step, team or model (each currency on its own row — amounts in
different currencies are never added up), budgets with their burn in the current period, the month-end
forecast and savings recommendations with their evidence (``/costs/outlook``), and the FOCUS 1.2 download."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import Response

from triops.finops.service import BudgetStatus
from triops.governance.rbac import Permission
from triops.server.authz import readable, require_in
from triops.server.http import disposition
from triops.server.web.charts import bar_chart, line_chart
from triops.server.web.core import Page, PageDep, WebRoute
from triops.server.web.render import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)
Grouping = Literal["project", "pipeline", "step", "team", "model", "dataset", "run"]


def _report(page: Page, by: str, project: str) -> list[dict[str, Any]]:
    """The cost totals the user may read: a project's, the workspace's (with ``cost.read`` everywhere, plus
    imported FOCUS totals per project), or those of every project where they hold ``cost.read``. Summed in
    SQL, one row per group and currency."""
    from triops.store.repositories.cost_totals import cost_totals

    ws = page.ws
    scope: list[str] | None
    if project:
        readable(ws, project, f"project {project!r}")
        require_in(ws, Permission.COST_READ, project)
        scope = [project]
    elif ws.principal.can(Permission.COST_READ, None):
        scope = None
    else:
        scope = [p for p in ws.kpis.projects() if ws.principal.can(Permission.COST_READ, p)]
        if not scope:
            require_in(ws, Permission.COST_READ, None)  # 403 naming the permission
    with ws.store.connect() as conn:
        rows = cost_totals(conn, by, scope)
    if by == "project" and scope is None:
        rows = [{**r, "source": "metered"} for r in rows]
        rows += [{**r, "source": "imported"} for r in ws.finops.imported_totals()]
    return rows


@router.get("/costs")
def costs(page: PageDep, by: Grouping = "project", project: str = "") -> Response:
    report = _report(page, by, project)
    everywhere = page.ws.principal.can(Permission.COST_READ, None)
    currencies = sorted({str(r["currency"]) for r in report})
    keys = [k for k in (report[0] if report else {}) if k not in ("cost_micros", "records", "currency")]
    charts = [
        bar_chart(
            f"cost by {by} in {cur}",
            [
                (" / ".join(str(r.get(k) or "—") for k in keys), int(r["cost_micros"]) / 1e6)
                for r in report
                if r["currency"] == cur
            ][:20],
            unit=cur,
        )
        for cur in currencies
    ]
    budgets = [
        _budget_row(page, s)
        for s in page.ws.finops.status()
        if page.ws.principal.can(Permission.COST_READ, s.budget.name if s.budget.scope == "project" else None)
    ]
    return render(
        page.request,
        "costs.html",
        page=page,
        by=by,
        project=project,
        report=report,
        keys=keys,
        charts=charts,
        currencies=currencies,
        budgets=budgets,
        projects=page.ws.kpis.projects(),
        can_export=everywhere,
    )


def _budget_row(page: Page, status: BudgetStatus) -> dict[str, Any]:
    """A budget's burn this period with its burn-down chart: cumulative spend, the forecast to the period's
    end at the mean daily spend so far, and the budget amount."""
    budget = status.budget
    burn = page.ws.finops.burn_down(budget)
    amount = budget.amount_micros / 1e6
    chart = line_chart(
        f"burn-down of budget {budget.scope} {budget.name}, {status.period_label}, in {budget.currency}",
        [
            ("budget", [(1.0, amount), (float(burn.days), amount)]),
            ("spent", [(float(i + 1), v / 1e6) for i, v in enumerate(burn.spent)]),
            ("forecast", [(float(len(burn.spent) + k), v / 1e6) for k, v in enumerate(burn.forecast)]),
        ],
        x_label="day of the period",
    )
    return {
        "budget": budget,
        "period": status.period_label,
        "spent": status.spent_micros,
        "pct": status.pct,
        "burn": status.spent_micros / budget.amount_micros * 100,
        "forecast_end": burn.forecast_end_micros,
        "over_on": burn.over_on,
        "as_of": burn.as_of,
        "chart": chart,
    }


@router.get("/costs/outlook")
def outlook(page: PageDep, project: str = "") -> Response:
    """The month-end forecast with its interval and the savings recommendations with their evidence (a page
    of its own: both read every cost record)."""
    ws = page.ws
    if project:
        readable(ws, project, f"project {project!r}")
    require_in(ws, Permission.COST_READ, project or None)
    currencies = ws.finops.currencies(project=project or None)
    forecast = ws.finops.forecast(project=project or None) if len(currencies) == 1 else None
    recommendations = ws.finops.recommend(project=project or None)
    return render(
        page.request,
        "costs_outlook.html",
        page=page,
        project=project,
        currencies=currencies,
        forecast=forecast,
        recommendations=recommendations,
        projects=ws.kpis.projects(),
    )


@router.get("/costs/focus.csv")
def focus_download(page: PageDep) -> Response:
    """Every metered cost as FOCUS 1.2 CSV (the same export as ``triops cost export``)."""
    require_in(page.ws, Permission.COST_READ, None)
    with tempfile.TemporaryDirectory(prefix="triops-focus-") as tmp:
        path = Path(tmp) / "focus.csv"
        page.ws.finops.export_focus(path)
        data = path.read_bytes()
    headers = {"Content-Disposition": disposition("focus.csv")}
    return Response(data, media_type="text/csv", headers=headers)
