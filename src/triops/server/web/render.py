"""Jinja2 rendering of pages: one environment (autoescaped), formatting filters and the navigation.

Other areas add their sections to the navigation with ``register_section`` (serving and monitoring pages
plug in here the same way the built-in pillars do).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape


@dataclass(frozen=True, slots=True)
class Section:
    label: str
    path: str


NAV: list[Section] = [
    Section("Scorecard", "/"),
    Section("Projects", "/projects"),
    Section("Runs", "/runs"),
    Section("Pipelines", "/pipelines"),
    Section("Datasets", "/datasets"),
    Section("Models", "/models"),
    Section("Costs", "/costs"),
    Section("Governance", "/governance"),
]


def register_section(label: str, path: str) -> None:
    """Add a section to every page's navigation (e.g. ``register_section("Monitoring", "/monitoring")``)
    after including its router with ``route_class=WebRoute``."""
    if all(s.path != path for s in NAV):
        NAV.append(Section(label, path))


def fmt_ms(value: int | None) -> str:
    if value is None:
        return "—"
    return datetime.fromtimestamp(value / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def fmt_time(value: datetime | None) -> str:
    return "—" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def fmt_num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:,.0f}" if abs(value) >= 10_000 else f"{value:.{digits}g}"
    return str(value)


def fmt_money(micros: int | None, currency: str = "") -> str:
    if micros is None:
        return "—"
    return f"{micros / 1_000_000:,.6f} {currency}".strip()


def fmt_seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f} s" if value < 120 else f"{value / 60:.1f} min"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("triops.server.web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(ms=fmt_ms, time=fmt_time, num=fmt_num, money=fmt_money, seconds=fmt_seconds)
    return env


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    page = context.get("page")
    body = (
        environment()
        .get_template(template)
        .render(
            nav=NAV,
            path=request.url.path,
            user=getattr(page, "user", None),
            csrf=getattr(page, "csrf", ""),
            dev=getattr(page, "dev", False),
            **context,
        )
    )
    return HTMLResponse(body, status_code=status)


def render_error(
    request: Request, status: int, title: str, message: str, hint: str | None = None
) -> HTMLResponse:
    return render(request, "error.html", status=status, title=title, message=message, hint=hint)


__all__ = ["NAV", "Section", "environment", "fmt_ms", "fmt_num", "register_section", "render", "render_error"]
