"""Monitoring API: the monitors you may read, monitors per model version (``{name}@{alias}`` or ``{name}@v{version}`` in the path),
their windows, delayed labels and alerts. Thin: every rule and permission lives in ``ws.monitoring``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from triops.server.authz import ActingDep
from triops.server.http import PROBLEMS
from triops.server.pagination import CursorQuery, LimitQuery, Listing, PageOut, paginate

router = APIRouter(tags=["monitoring"], responses=PROBLEMS)
MAX_LABELS = 100_000


def _ref(name: str, alias: str) -> str:
    """``v3`` after the ``@`` names version 3; anything else is an alias."""
    if alias[:1] == "v" and alias[1:].isdigit():
        return f"{name}/{alias[1:]}"
    return f"{name}@{alias}"


class MonitorSpec(BaseModel):
    reference: str | None = Field(default=None, max_length=300, description="DATASET[/VERSION]")
    window: str = Field(default="1000", max_length=32, description="rows (1000) or a duration (15m, 1h)")
    features: list[str] | None = Field(default=None, max_length=1000)
    sensitive: list[str] = Field(default_factory=list, max_length=100)
    bins: int = Field(default=10, ge=2, le=1000)
    contract: str | None = Field(default=None, max_length=1_000_000, description="ODCS YAML text")
    policies: str | None = Field(default=None, max_length=1_000_000, description="alert policies (YAML text)")
    every: str | None = Field(
        default=None, max_length=32, description="run on a schedule this often (15m, 1h); none: by hand"
    )
    evaluation: str | None = Field(
        default=None,
        max_length=250,
        description="dataset of the production rows in clear with prediction_id (the loop's paired test)",
    )


class Labels(BaseModel):
    prediction_ids: list[Annotated[str, Field(max_length=64)]] = Field(max_length=MAX_LABELS)
    labels: list[str | int | float | bool | None] = Field(max_length=MAX_LABELS)


def _flush_served(request: Request) -> None:
    """This server's own predictions are in the log before a run reads it or labels join it (as
    ``ws.monitoring`` flushes the session of its own process)."""
    found = getattr(request.app.state, "serving_session", None)
    if found is not None:
        found.flush()


def _yaml_text(value: str | None) -> str | None:
    # the service reads a value without a newline as a file path; over the API it is always text
    return None if value is None else (value if "\n" in value else value + "\n")


@router.post("/monitoring/labels", summary="Log delayed labels by prediction id")
def labels(body: Labels, request: Request, ws: ActingDep) -> dict[str, Any]:
    """Unknown ids are reported in ``unknown`` and not stored; ids already labelled keep their label."""
    _flush_served(request)
    return ws.monitoring.log_labels(body.prediction_ids, body.labels)


@router.get("/monitoring/monitors", response_model=PageOut, summary="Every monitor you may read")
def monitors(ws: ActingDep, limit: LimitQuery = 100, cursor: CursorQuery = None) -> dict[str, Any]:
    """Monitors in projects where you hold ``alert.read``, by model and version: window, features, how many
    windows were evaluated and the latest window's facts."""
    rows = ws.monitoring.monitors()
    page = paginate(
        rows, lambda r: (str(r["model"]), int(r["version"])), Listing.of("monitors"), cursor, limit
    )
    return page.out(lambda r: r)


@router.get("/monitoring/alerts", summary="Alerts raised by monitors, newest first")
def alerts(
    ws: ActingDep,
    model: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[dict[str, Any]]:
    return ws.monitoring.alerts(model, limit=limit)


@router.post(
    "/monitoring/alerts/{alert_id}/promote",
    summary="Finish a retraining that waited at the promotion gate: move champion once approved",
)
def promote(alert_id: Annotated[str, Path(max_length=64)], ws: ActingDep) -> dict[str, Any]:
    """409 naming the missing approval while the gate blocks; the alert's action once the alias moved."""
    return ws.monitoring.promote(alert_id)


@router.put("/monitoring/{name}@{alias}", summary="Set up (or replace) the monitor of a model version")
def create(name: str, alias: str, spec: MonitorSpec, ws: ActingDep) -> dict[str, Any]:
    return ws.monitoring.create(
        _ref(name, alias),
        reference=spec.reference,
        window=spec.window,
        features=spec.features,
        sensitive=spec.sensitive,
        bins=spec.bins,
        contract=_yaml_text(spec.contract),
        policies=_yaml_text(spec.policies),
        every=spec.every,
        evaluation=spec.evaluation,
    )


@router.post("/monitoring/run-due", summary="Run every scheduled monitor that is due (each as its runner)")
def run_due(request: Request, ws: ActingDep) -> list[dict[str, Any]]:
    """For cron and other schedulers: the monitors the caller may run (``monitor.run``) whose next run is
    due, each holding its lease; one outcome per monitor run."""
    _flush_served(request)
    return ws.monitoring.run_due()


@router.get("/monitoring/{name}@{alias}/settings", summary="The monitor's settings and schedule")
def settings(name: str, alias: str, ws: ActingDep) -> dict[str, Any]:
    return ws.monitoring.settings(_ref(name, alias))


@router.post("/monitoring/{name}@{alias}/run", summary="Evaluate the windows that are due, raise alerts")
def run(name: str, alias: str, request: Request, ws: ActingDep) -> dict[str, Any]:
    _flush_served(request)
    return ws.monitoring.run(_ref(name, alias))


@router.get("/monitoring/{name}@{alias}", summary="The monitor, its evaluated windows and its alerts")
def show(name: str, alias: str, ws: ActingDep) -> dict[str, Any]:
    return ws.monitoring.show(_ref(name, alias))


@router.get("/monitoring/{name}@{alias}/windows/{seq}", summary="One window's full report")
def window(name: str, alias: str, seq: int, ws: ActingDep) -> dict[str, Any]:
    return ws.monitoring.window(_ref(name, alias), seq)
