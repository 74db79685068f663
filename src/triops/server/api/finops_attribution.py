"""FinOps API, attribution: serving usage per model version (what serving meters), cost per model version
and per 1,000 predictions, and shared-cost allocations. Included by ``api/finops.py`` under ``/finops``;
permissions are checked in the service, against the acting principal."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, StringConstraints

from triops.server.api.finops import Period, _finops
from triops.server.authz import ActingDep, readable
from triops.server.http import PROBLEMS
from triops.server.pagination import CursorQuery, LimitQuery, Listing, PageOut, paginate
from triops.server.schemas import Currency, Name, ProjectName
from triops.workspace import Workspace

router = APIRouter(tags=["finops"], responses=PROBLEMS)
ModelRef = Annotated[str, StringConstraints(min_length=1, max_length=250, pattern=r"^[^\s]+$")]
Amount = Annotated[str, StringConstraints(pattern=r"^\d{1,15}(\.\d{1,6})?$")]
MAX_SECONDS = 10**9


class ServingUsageIn(BaseModel):
    model_version: ModelRef = Field(description="the version that answered, e.g. churn/3")
    project: ProjectName
    predictions: int = Field(ge=0, le=10**12)
    cpu_s: float = Field(default=0.0, ge=0, le=MAX_SECONDS)
    wall_s: float | None = Field(default=None, ge=0, le=MAX_SECONDS)
    peak_rss_bytes: int = Field(default=0, ge=0, le=2**50)
    bytes_read: int = Field(default=0, ge=0, le=2**60)
    bytes_written: int = Field(default=0, ge=0, le=2**60)
    gpu_s: float = Field(default=0.0, ge=0, le=MAX_SECONDS)
    gpu_model: Name | None = None
    started_ms: int | None = Field(default=None, ge=0, le=2**53)
    ended_ms: int | None = Field(default=None, ge=0, le=2**53)
    environment: Name = "local"
    tags: dict[Name, Annotated[str, StringConstraints(max_length=250)]] = Field(
        default_factory=dict, max_length=50
    )


class AllocationIn(BaseModel):
    label: Name
    amount: Amount
    currency: Currency = "EUR"
    period: Period
    by: Literal["project", "team", "model", "dataset", "pipeline"] = "project"


def _service(request: Request, ws: Workspace) -> Any:
    from triops.governance.rbac import require

    service = _finops(request, ws)
    service.authorize = lambda permission, project: require(permission, ws.principal, project)
    return service


@router.post("/serving-usage", status_code=201)
def record_serving_usage(request: Request, ws: ActingDep, body: ServingUsageIn) -> dict[str, Any]:
    """Meter a serving window of a model version: N predictions and the resources they used; priced
    now against the server's catalog (needs ``run.write`` in the project)."""
    readable(ws, body.project, f"project {body.project!r}")
    record = _service(request, ws).record_serving_usage(**body.model_dump())
    return record.to_dict()  # type: ignore[no-any-return]


@router.get("/costs/models", response_model=PageOut)
def model_costs(
    request: Request,
    ws: ActingDep,
    project: ProjectName | None = None,
    model_version: ModelRef | None = None,
    period: Period | None = None,
    currency: Currency | None = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    """Cost per model version (training runs attributed to it plus serving), predictions, and cost per
    1,000 predictions (``per_1k_predictions_micros``; null when it served none)."""
    if project is not None:
        readable(ws, project, f"project {project!r}")
    rows = _service(request, ws).model_costs(
        project=project, model_version=model_version, period=period, currency=currency
    )
    listing = Listing.of("model-costs", project=project, model_version=model_version, period=period)
    return paginate(rows, lambda r: (r["model_version"], r["currency"]), listing, cursor, limit).out(
        lambda r: r
    )


@router.post("/allocations", status_code=201)
def allocate(request: Request, ws: ActingDep, body: AllocationIn) -> dict[str, Any]:
    """Allocate a shared or idle cost over a period in proportion to each group's metered cost (needs
    ``budget.write``); it replaces an allocation with the same label, period and grouping."""
    return dict(
        _service(request, ws).allocate(body.label, body.amount, body.currency, body.period, by=body.by)
    )


@router.get("/allocations", response_model=PageOut)
def allocations(
    request: Request,
    ws: ActingDep,
    period: Period | None = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    """Stored allocations and those configured in ``[[finops.shared]]``, with their shares."""
    rows = _service(request, ws).allocations(period=period)
    listing = Listing.of("allocations", period=period)
    return paginate(rows, lambda r: (r["period"], r["label"], r["by"]), listing, cursor, limit).out(
        lambda r: r
    )
