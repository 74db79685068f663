"""Server-side SVG charts (no JavaScript, nothing from a CDN): line charts, horizontal bars, sparklines.

Each chart is an ``<svg role="img">`` with a ``<title>`` naming what it shows, so screen readers announce it;
the numbers are also on the page in a table. Colours come from the stylesheet's series classes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from markupsafe import Markup

Series = tuple[str, Sequence[tuple[float, float]]]


def _safe(svg: str) -> Markup:
    # every label and title in ``svg`` went through html.escape; numbers are formatted by us
    return Markup(svg)  # noqa: S704


def _finite(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    return [(x, y) for x, y in points if math.isfinite(x) and math.isfinite(y)]


def _span(values: Sequence[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    if low == high:
        pad = abs(low) * 0.05 or 1.0
        return low - pad, high + pad
    return low, high


def line_chart(
    title: str, series: Sequence[Series], *, width: int = 640, height: int = 260, x_label: str = "step"
) -> Markup:
    """One polyline per series over a shared x/y range, with axis labels and a legend."""
    cleaned = [(name, _finite(points)) for name, points in series]
    allpts = [p for _, pts in cleaned for p in pts]
    head = f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
    head += f"<title>{escape(title)}</title>"
    if not allpts:
        return _safe(head + f'<text x="10" y="20">{escape(title)}: no values</text></svg>')
    left, right, top, bottom = 60, 150, 20, 40
    x0, x1 = _span([p[0] for p in allpts])
    y0, y1 = _span([p[1] for p in allpts])
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * plot_w

    def sy(y: float) -> float:
        return top + plot_h - (y - y0) / (y1 - y0) * plot_h

    parts = [head, f'<rect class="plot" x="{left}" y="{top}" width="{plot_w}" height="{plot_h}"/>']
    for frac in (0.0, 0.5, 1.0):
        yv = y0 + frac * (y1 - y0)
        parts.append(
            f'<text class="tick" x="{left - 6}" y="{sy(yv) + 4:.1f}" text-anchor="end">{yv:.4g}</text>'
        )
        xv = x0 + frac * (x1 - x0)
        parts.append(
            f'<text class="tick" x="{sx(xv):.1f}" y="{height - 22}" text-anchor="middle">{xv:.4g}</text>'
        )
    parts.append(
        f'<text class="tick" x="{left + plot_w / 2:.0f}" y="{height - 6}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
    )
    for i, (name, pts) in enumerate(cleaned):
        cls = f"series s{i % 8}"
        if len(pts) == 1:
            x, y = pts[0]
            parts.append(f'<circle class="{cls}" cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3"/>')
        elif pts:
            coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
            parts.append(f'<polyline class="{cls}" points="{coords}"/>')
        ly = top + 14 + i * 16
        parts.append(
            f'<rect class="{cls} key" x="{width - right + 10}" y="{ly - 9}" width="10" height="10"/>'
        )
        parts.append(f'<text class="legend" x="{width - right + 26}" y="{ly}">{escape(name[:22])}</text>')
    parts.append("</svg>")
    return _safe("".join(parts))


def bar_chart(title: str, bars: Sequence[tuple[str, float]], *, width: int = 640, unit: str = "") -> Markup:
    """Horizontal bars, one per label, longest first as given."""
    row, left = 22, 200
    height = max(40, row * len(bars) + 10)
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
        f"<title>{escape(title)}</title>",
    ]
    top = max((v for _, v in bars if math.isfinite(v)), default=0.0) or 1.0
    for i, (label, value) in enumerate(bars):
        y = 5 + i * row
        w = max(0.0, value) / top * (width - left - 110) if math.isfinite(value) else 0
        parts.append(
            f'<text class="tick" x="{left - 6}" y="{y + 14}" text-anchor="end">{escape(label[:30])}</text>'
        )
        parts.append(
            f'<rect class="series s0 bar" x="{left}" y="{y + 2}" width="{w:.1f}" height="{row - 6}"/>'
        )
        parts.append(
            f'<text class="tick" x="{left + w + 6:.1f}" y="{y + 14}">{value:,.6g} {escape(unit)}</text>'
        )
    parts.append("</svg>")
    return _safe("".join(parts))


def sparkline(title: str, values: Sequence[float | None], *, width: int = 120, height: int = 28) -> Markup:
    """A small trend line of past snapshot values (gaps where a value was missing)."""
    pts = [(float(i), v) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    head = f'<svg class="spark" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
    head += f"<title>{escape(title)}</title>"
    if len(pts) < 2:
        return _safe(head + "</svg>")
    x0, x1 = _span([p[0] for p in pts])
    y0, y1 = _span([p[1] for p in pts])
    coords = " ".join(
        f"{2 + (x - x0) / (x1 - x0) * (width - 4):.1f},{height - 2 - (y - y0) / (y1 - y0) * (height - 4):.1f}"
        for x, y in pts
    )
    return _safe(head + f'<polyline class="series s0" points="{coords}"/></svg>')


__all__ = ["bar_chart", "line_chart", "sparkline"]
