"""Monitoring: every monitor the user may read with its latest window, the alerts and their timeline; one
monitor's drift per feature over its windows (chart and table), the latest window's statistics per feature,
performance with its interval per window, and its alerts. Plugged into the navigation through
``register_section`` (the extension point other areas use); every read goes through ``ws.monitoring``, so
``alert.read`` applies as in the API and a model in an unreadable project is 404."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response

from triops.server.web.charts import bar_chart, line_chart
from triops.server.web.core import PageDep, WebRoute
from triops.server.web.render import register_section, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)
STATISTICS = ("psi", "ks", "chi2", "js", "wasserstein")


def install(app: FastAPI) -> None:
    app.include_router(router)
    register_section("Monitoring", "/monitoring")


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def _timeline(alerts: list[dict[str, Any]]) -> Any:
    per_day = Counter(_day(int(a["created_ms"])) for a in alerts)
    return bar_chart("alerts per day", sorted(per_day.items()), unit="alerts")


@router.get("/monitoring")
def monitoring(page: PageDep) -> Response:
    monitors = page.ws.monitoring.monitors()
    alerts = page.ws.monitoring.alerts(limit=200)
    return render(
        page.request,
        "monitoring.html",
        page=page,
        monitors=monitors,
        alerts=alerts,
        timeline=_timeline(alerts) if alerts else None,
    )


def _by_feature(facts: dict[str, Any], statistic: str) -> dict[str, Any]:
    return ((facts.get("drift") or {}).get(statistic) or {}).get("by_feature") or {}


def _points(
    windows: list[dict[str, Any]], psi: list[dict[str, Any]], feature: str
) -> list[tuple[float, float]]:
    return [
        (float(w["seq"]), float(p[feature]))
        for w, p in zip(windows, psi, strict=True)
        if p.get(feature) is not None
    ]


@router.get("/monitoring/{model}/{version}")
def monitor(page: PageDep, model: str, version: int) -> Response:
    ref = f"{model}/{version}"
    shown = page.ws.monitoring.show(ref)
    windows = shown["windows"]
    features = list(shown["monitor"].get("features") or [])
    psi = [_by_feature(w["facts"], "psi") for w in windows]
    drift_chart = line_chart(
        f"PSI per feature over the windows of {ref}",
        [(f, _points(windows, psi, f)) for f in features],
        x_label="window",
    )
    latest = windows[-1] if windows else None
    facts = latest["facts"] if latest else {}
    latest_rows = [{"feature": f, **{s: _by_feature(facts, s).get(f) for s in STATISTICS}} for f in features]
    performance = [
        (w["seq"], metric, values)
        for w in windows
        for metric, values in sorted((w["facts"].get("performance") or {}).items())
        if isinstance(values, dict)
    ]
    return render(
        page.request,
        "monitor.html",
        page=page,
        ref=ref,
        settings=shown["monitor"],
        windows=list(zip(windows, psi, strict=True)),
        features=features,
        drift_chart=drift_chart,
        latest=latest,
        latest_rows=latest_rows,
        statistics=STATISTICS,
        performance=performance,
        alerts=shown["alerts"],
        timeline=_timeline(shown["alerts"]) if shown["alerts"] else None,
    )
