"""FinOps API: costs by any grouping, cost records, budgets (list, set, burn-down), alerts, forecast and anomalies,
recommendations, FOCUS 1.2 export (streamed) and import (all rows or none), and the price catalog.
Thin over ``ws.finops``. Workspace-wide figures need ``cost.read`` everywhere; a project's, in that project.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, StringConstraints

from triops.errors import InvalidInputError, NotFoundError
from triops.governance.rbac import Permission
from triops.server.authz import ActingDep, readable, require_in
from triops.server.http import PROBLEMS, check_download_name
from triops.server.pagination import CursorQuery, LimitQuery, Listing, PageOut, paginate
from triops.server.schemas import Currency, Name, ProjectName
from triops.workspace import Workspace

router = APIRouter(prefix="/finops", tags=["finops"], responses=PROBLEMS)
Grouping = Literal[
    "project", "run", "step", "pipeline", "model", "dataset", "team", "environment", "resource"
]
Period = Annotated[str, StringConstraints(pattern=r"^\d{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$", max_length=7)]
CHUNK = 1 << 20


class BudgetIn(BaseModel):
    scope: Literal["project", "team", "cost_centre"]
    name: Name
    period: Literal["month", "quarter", "year"] = "month"
    amount: Annotated[str, StringConstraints(pattern=r"^\d{1,15}(\.\d{1,6})?$")]
    currency: Currency = "EUR"
    thresholds: list[Annotated[int, Field(ge=1, le=1000)]] = Field(
        default_factory=lambda: [50, 80, 100], min_length=1, max_length=20
    )
    webhook_url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=2000)] | None = None


def _finops(request: Request, ws: Workspace) -> Any:
    """``ws.finops`` with the price catalog read once per server, not per request."""
    from triops.finops.prices import load_price_book

    book = getattr(request.app.state, "price_book", None)
    if book is None:
        book = request.app.state.price_book = load_price_book(ws.settings.price_catalog)
    return ws.finops_priced(book)


def _read_costs(ws: Workspace, project: str | None) -> None:
    if project is not None:
        readable(ws, project, f"project {project!r}")
    require_in(ws, Permission.COST_READ, project)


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v if isinstance(v, str | int | float | bool | type(None)) else str(v)) for k, v in row.items()
    }


@router.get("/costs", response_model=PageOut)
def cost_report(
    request: Request,
    ws: ActingDep,
    by: Grouping = "project",
    period: Period | None = None,
    currency: Currency | None = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    """Total cost per ``by`` (each row: the grouping's keys, currency, cost_micros, records; per project also
    ``source``: metered or imported FOCUS rows)."""
    _read_costs(ws, None)
    rows = [_plain(r) for r in _finops(request, ws).report(by, period=period, currency=currency).to_dicts()]
    numeric = {"cost_micros", "records"}

    def key(row: dict[str, Any]) -> tuple[str, ...]:
        return tuple("" if v is None else str(v) for k, v in row.items() if k not in numeric)

    listing = Listing.of("cost-report", by=by, period=period, currency=currency)
    return paginate(rows, key, listing, cursor, limit).out(lambda r: r)


@router.get("/costs/records", response_model=PageOut)
def cost_records(
    request: Request,
    ws: ActingDep,
    project: ProjectName | None = None,
    run_id: Name | None = None,
    period: Period | None = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    """Priced cost records, one per metered step run."""
    _read_costs(ws, project)
    frame = _finops(request, ws).costs(period=period, project=project, run_id=run_id)
    rows = [_plain(r) for r in frame.to_dicts()]
    listing = Listing.of("cost-records", project=project, run_id=run_id, period=period)
    return paginate(rows, lambda r: (str(r["usage_id"]),), listing, cursor, limit).out(lambda r: r)


def _status_out(status: Any) -> dict[str, Any]:
    return {
        "budget": status.budget.to_dict(),
        "period": status.period_label,
        "spent_micros": status.spent_micros,
        "pct": status.pct,
    }


def _budget_visible(ws: Workspace, budget: Any) -> bool:
    return ws.principal.can(Permission.COST_READ, budget.name if budget.scope == "project" else None)


@router.get("/budgets", response_model=PageOut)
def list_budgets(
    request: Request, ws: ActingDep, limit: LimitQuery = 100, cursor: CursorQuery = None
) -> dict[str, Any]:
    """Budgets with their spend in the current period (those in projects whose costs you can read)."""
    statuses = [s for s in _finops(request, ws).status() if _budget_visible(ws, s.budget)]
    page = paginate(
        statuses,
        lambda s: (s.budget.scope, s.budget.name, s.budget.period),
        Listing.of("budgets"),
        cursor,
        limit,
    )
    return page.out(_status_out)


@router.put("/budgets")
def set_budget(request: Request, ws: ActingDep, body: BudgetIn) -> dict[str, Any]:
    """Create or replace the budget of a project or team for a period (audited); alerts it crosses fire."""
    from triops.finops.budgets import new_budget

    project = body.name if body.scope == "project" else None
    if project is not None:
        readable(ws, project, f"project {project!r}")
    require_in(ws, Permission.BUDGET_WRITE, project)
    budget = new_budget(
        body.scope, body.name, body.period, body.amount, body.currency,
        thresholds=body.thresholds, webhook_url=body.webhook_url, clock=ws.clock,
    )  # fmt: skip
    service = _finops(request, ws)
    stored = service.set_budget(budget)
    alerts = service.check_alerts(stored)
    return {"budget": stored.to_dict(), "alerts": [dataclasses.asdict(a) for a in alerts]}


@router.get("/budgets/burn-down")
def budget_burn_down(
    request: Request,
    ws: ActingDep,
    scope: Literal["project", "team", "cost_centre"],
    name: Name,
    period: Literal["month", "quarter", "year"] = "month",
) -> dict[str, Any]:
    """A budget's current period day by day: cumulative spend up to today, then the forecast to the period's
    end at the mean daily spend so far, beside the budget amount (``over_on``: the first day over it)."""
    from triops.finops.forecast import burn_down_dict

    if scope == "project":
        readable(ws, name, f"project {name!r}")
    service = _finops(request, ws)
    found = [
        b for b in service.list_budgets()
        if (b.scope, b.name, b.period) == (scope, name, period) and _budget_visible(ws, b)
    ]  # fmt: skip
    if not found:
        raise NotFoundError(
            f"budget {scope} {name!r} ({period}) does not exist", hint="list budgets with GET /finops/budgets"
        )
    return {"budget": found[0].to_dict(), **burn_down_dict(service.burn_down(found[0]))}


@router.get("/alerts", response_model=PageOut)
def list_alerts(
    request: Request, ws: ActingDep, limit: LimitQuery = 100, cursor: CursorQuery = None
) -> dict[str, Any]:
    _read_costs(ws, None)
    rows = [_plain(a) for a in _finops(request, ws).alerts()]
    return paginate(rows, lambda r: (str(r["id"]),), Listing.of("alerts"), cursor, limit).out(lambda r: r)


@router.get("/forecast")
def forecast(
    request: Request, ws: ActingDep, project: ProjectName | None = None, as_of: date | None = None
) -> dict[str, Any]:
    """Month-end forecast with a 90 % interval, from the daily spend so far."""
    _read_costs(ws, project)
    result = _finops(request, ws).forecast(project=project, as_of=as_of)
    return {**dataclasses.asdict(result), "as_of": result.as_of.isoformat()}


@router.get("/anomalies")
def anomalies(request: Request, ws: ActingDep, project: ProjectName | None = None) -> dict[str, Any]:
    """Days whose spend is anomalous (modified z-score > 3.5)."""
    _read_costs(ws, project)
    found = _finops(request, ws).anomalies(project=project)
    return {"items": [{**dataclasses.asdict(a), "day": a.day.isoformat()} for a in found]}


@router.get("/recommendations", response_model=PageOut)
def recommendations(
    request: Request,
    ws: ActingDep,
    project: ProjectName | None = None,
    idle_days: Annotated[int, Query(ge=1, le=3650)] = 90,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    """Savings: over-requested resources, repeated work, unused artifacts (monthly estimates)."""
    _read_costs(ws, project)
    found = [
        dataclasses.asdict(r) for r in _finops(request, ws).recommend(project=project, idle_days=idle_days)
    ]
    for i, row in enumerate(found):
        row["rank"] = i
    listing = Listing.of("recommendations", project=project, idle_days=idle_days)
    return paginate(found, lambda r: (int(r["rank"]),), listing, cursor, limit).out(lambda r: r)


@router.get("/prices")
def price_catalog(request: Request, ws: ActingDep) -> dict[str, Any]:
    """The server's price catalog: version, environments and every price with its source."""
    book = _finops(request, ws).book
    return {
        "version": book.version,
        "path": str(book.path),
        "environments": sorted(book.environments),
        "prices": [
            {
                "environment": r.environment,
                "resource": r.resource,
                "unit": r.unit,
                "price": str(r.unit_price),
                "currency": r.currency,
                "from": r.effective_from.isoformat(),
                "to": r.effective_to.isoformat() if r.effective_to else None,
                "source": r.source,
                "source_date": r.source_date.isoformat() if r.source_date else None,
            }
            for r in sorted(book.rows, key=lambda r: (r.environment, r.resource, r.effective_from))
        ],
    }


def _stream_file(path: Path, directory: tempfile.TemporaryDirectory[str]) -> Iterator[bytes]:
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk
    finally:
        directory.cleanup()


@router.get(
    "/focus",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, "application/vnd.apache.parquet": {}}}},
)
def export_focus(
    request: Request, ws: ActingDep, period: Period | None = None, format: Literal["csv", "parquet"] = "csv"
) -> StreamingResponse:
    """Metered costs as FOCUS 1.2, streamed as an attachment (CSV or Parquet). CSV leaves as polars writes
    it (chunked, no Content-Length); Parquet is written whole first (its footer comes last)."""
    _read_costs(ws, None)
    if format == "csv":
        rows, chunks = _finops(request, ws).stream_focus_csv(period=period)
        headers = {
            "Content-Disposition": f'attachment; filename="focus-{period or "all"}.csv"',
            "X-Triops-Rows": str(rows),
        }
        return StreamingResponse(chunks, media_type="text/csv", headers=headers)
    directory = tempfile.TemporaryDirectory(prefix="triops-focus-")
    path = Path(directory.name) / f"focus.{format}"
    try:
        rows = _finops(request, ws).export_focus(path, period=period)
    except BaseException:
        directory.cleanup()
        raise
    media = "application/vnd.apache.parquet"
    headers = {
        "Content-Disposition": f'attachment; filename="focus-{period or "all"}.{format}"',
        "Content-Length": str(os.path.getsize(path)),
        "X-Triops-Rows": str(rows),
    }
    return StreamingResponse(_stream_file(path, directory), media_type=media, headers=headers)


@router.post("/focus", status_code=201)
async def import_focus(
    request: Request,
    ws: ActingDep,
    file: Annotated[UploadFile, File(description="a provider's FOCUS export (.csv or .parquet)")],
    project: Annotated[ProjectName | None, Form(description="project for rows without a project tag")] = None,
    replace: Annotated[
        bool, Form(description="replace the billing periods the file holds if they were imported before")
    ] = False,
) -> dict[str, Any]:
    """Import a FOCUS file, allocating rows to projects by their tags: every row or none (a bad row is a
    422 naming it and nothing is stored)."""
    require_in(ws, Permission.BUDGET_WRITE, None)
    name = check_download_name(file.filename or "", "file name")
    suffix = Path(name).suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise InvalidInputError(
            f"cannot read FOCUS from {name!r}",
            hint="upload a .csv or .parquet file",
            detail={"field": "file"},
        )
    data = await file.read()
    with tempfile.TemporaryDirectory(prefix="triops-focus-") as tmp:
        path = Path(tmp) / Path(name).name
        path.write_bytes(data)
        import_id, rows = _finops(request, ws).import_focus(path, default_project=project, replace=replace)
    return {"import_id": import_id, "rows": rows, "source": name}


def _include_attribution() -> None:
    from triops.server.api.finops_attribution import router as attribution

    router.include_router(attribution)


_include_attribution()
