"""Distribution charts of the workshop: each group's 90 % interval (5th to 95th percentile) of an outcome
over the simulated runs as a horizontal band with its median marked, groups on a shared axis.

Server-side SVG like ``charts``: an ``<svg role="img">`` with a ``<title>``; the numbers are in a table too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from markupsafe import Markup

Band = tuple[str, float | None, float | None, float | None]  # label, low, median, high


def interval_chart(title: str, bands: Sequence[Band], *, width: int = 640, unit: str = "") -> Markup:
    """One row per band: a bar from low to high and a tick at the median; a zero line when 0 is in range."""
    rows = [(label, lo, md, hi) for label, lo, md, hi in bands if None not in (lo, md, hi)]
    row, left, right = 26, 190, 30
    height = max(50, row * len(rows) + 40)
    head = f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
    parts = [head, f"<title>{escape(title)}</title>"]
    values = [float(v) for _, lo, md, hi in rows for v in (lo, md, hi) if v is not None and math.isfinite(v)]
    if not values:
        parts.append(f'<text class="tick" x="10" y="20">{escape(title)}: no outcomes yet</text></svg>')
        return Markup("".join(parts))  # noqa: S704 - escaped above
    x0, x1 = min(*values, 0.0), max(*values, 0.0)
    if x0 == x1:
        x1 = x0 + 1.0
    plot = width - left - right

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * plot

    parts.append(
        f'<line class="axis" x1="{sx(0):.1f}" y1="4" x2="{sx(0):.1f}" y2="{height - 30}"/>'
        f'<text class="tick" x="{left}" y="{height - 10}">{x0:,.4g} {escape(unit)}</text>'
        f'<text class="tick" x="{width - right}" y="{height - 10}" text-anchor="end">{x1:,.4g}</text>'
    )
    for i, (label, low, mid, top) in enumerate(rows):
        lo, md, hi = float(low or 0.0), float(mid or 0.0), float(top or 0.0)  # rows hold no None
        y = 6 + i * row
        cls = f"series s{i % 8}"
        parts.append(
            f'<text class="tick" x="{left - 6}" y="{y + 15}" text-anchor="end">{escape(label[:28])}</text>'
            f'<rect class="{cls} band" x="{sx(lo):.1f}" y="{y + 4}" width="{max(1.0, sx(hi) - sx(lo)):.1f}" '
            f'height="{row - 10}"/>'
            f'<rect class="median" x="{sx(md) - 1.5:.1f}" y="{y}" width="3" height="{row - 2}"/>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every label went through html.escape


def radar_chart(
    title: str, axes: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *, top: float = 4.0
) -> Markup:
    """A radar (spider) chart: one spoke per axis from 0 at the centre to ``top``, one polygon per series."""
    size, radius = 360, 120
    cx = cy = size / 2

    def point(i: int, value: float) -> tuple[float, float]:
        angle = -math.pi / 2 + 2 * math.pi * i / max(1, len(axes))
        r = radius * max(0.0, min(value, top)) / top
        return cx + r * math.cos(angle), cy + r * math.sin(angle)

    parts = [
        f'<svg class="chart radar" role="img" viewBox="0 0 {size} {size}" width="{size}" height="{size}">',
        f"<title>{escape(title)}</title>",
    ]
    for ring in range(1, int(top) + 1):
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(i, ring) for i in range(len(axes))))
        parts.append(f'<polygon class="ring" points="{coords}"/>')
    for i, label in enumerate(axes):
        x, y = point(i, top)
        lx, ly = point(i, top * 1.22)
        parts.append(f'<line class="axis" x1="{cx}" y1="{cy}" x2="{x:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="tick" x="{lx:.1f}" y="{ly + 4:.1f}" text-anchor="middle">{escape(label)}</text>'
        )
    for n, (name, values) in enumerate(series):
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(i, v) for i, v in enumerate(values)))
        parts.append(
            f'<polygon class="series s{n % 8} area" points="{coords}"><title>{escape(name)}</title></polygon>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every label went through html.escape


__all__ = ["interval_chart", "radar_chart"]
