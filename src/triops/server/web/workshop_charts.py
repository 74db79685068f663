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


__all__ = ["interval_chart"]
