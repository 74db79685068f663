"""Render a :class:`~triops.strategy.wardley.WardleyMap` to a standalone SVG document.

Hand-written SVG from small string templates: the value-chain axis (visible at the top, invisible at the
bottom), the evolution axis with its four stages (Genesis, Custom-Built, Product (+rental), Commodity
(+utility)) and their boundaries at the OWM defaults, then pipelines, links, evolution arrows, components,
anchors and notes. All text is XML-escaped.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from triops.strategy.wardley import Component, WardleyMap

WIDTH, HEIGHT = 900, 640
LEFT, TOP, RIGHT, BOTTOM = 60, 50, 20, 60
STAGES = (
    (0.0, "Genesis"),
    (0.17, "Custom-Built"),
    (0.40, "Product (+rental)"),
    (0.70, "Commodity (+utility)"),
)


def _x(evolution: float) -> float:
    return LEFT + evolution * (WIDTH - LEFT - RIGHT)


def _y(visibility: float) -> float:
    return TOP + (1.0 - visibility) * (HEIGHT - TOP - BOTTOM)


def _text(x: float, y: float, content: str, extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{escape(content)}</text>'


def _axes(title: str) -> list[str]:
    bottom = HEIGHT - BOTTOM
    out = [
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        _text(
            WIDTH / 2, 28, title or "Wardley map", ' text-anchor="middle" font-size="18" font-weight="bold"'
        ),
        f'<line x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}" stroke="black" '
        'marker-end="url(#arrow)"/>',
        f'<line x1="{LEFT}" y1="{bottom}" x2="{LEFT}" y2="{TOP}" stroke="black" marker-end="url(#arrow)"/>',
        _text(
            18,
            (TOP + bottom) / 2,
            "Value Chain",
            f' transform="rotate(-90 18 {(TOP + bottom) / 2:.1f})" text-anchor="middle" font-size="13"',
        ),
        _text(LEFT - 6, TOP + 12, "Visible", ' text-anchor="end" font-size="10"'),
        _text(LEFT - 6, bottom - 4, "Invisible", ' text-anchor="end" font-size="10"'),
        _text((LEFT + WIDTH - RIGHT) / 2, HEIGHT - 12, "Evolution", ' text-anchor="middle" font-size="13"'),
    ]
    bounds = [s for s, _ in STAGES[1:]] + [1.0]
    for (start, name), end in zip(STAGES, bounds, strict=True):
        if start > 0:
            out.append(
                f'<line x1="{_x(start):.1f}" y1="{TOP}" x2="{_x(start):.1f}" y2="{bottom}" '
                'stroke="#999" stroke-dasharray="4 4"/>'
            )
        out.append(
            _text((_x(start) + _x(end)) / 2, bottom + 18, name, ' text-anchor="middle" font-size="12"')
        )
    return out


def _component(c: Component, anchor: bool) -> str:
    x, y = _x(c.evolution), _y(c.visibility)
    dx, dy = c.label if c.label else (8.0, -8.0)
    if anchor:
        return _text(x, y, c.name, ' text-anchor="middle" font-weight="bold" font-size="14" class="anchor"')
    return (
        f'<g class="component"><circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="white" stroke="black"/>'
        + _text(x + dx, y + dy, c.name, ' font-size="12"')
        + "</g>"
    )


def render_svg(m: WardleyMap) -> str:
    """The map as an SVG document (a string)."""
    where = {c.name: c for c in (*m.anchors, *m.components)}
    body = _axes(m.title)
    for p in m.pipelines:
        c = where.get(p.name)
        if c is not None:
            y = _y(c.visibility)
            body.append(
                f'<rect class="pipeline" x="{_x(p.start):.1f}" y="{y - 12:.1f}" '
                f'width="{_x(p.end) - _x(p.start):.1f}" height="24" fill="none" stroke="black"/>'
            )
    for link in m.links:
        a, b = where.get(link.source), where.get(link.target)
        if a is not None and b is not None:
            body.append(
                f'<line class="link" x1="{_x(a.evolution):.1f}" y1="{_y(a.visibility):.1f}" '
                f'x2="{_x(b.evolution):.1f}" y2="{_y(b.visibility):.1f}" stroke="#555"/>'
            )
    for e in m.evolves:
        c = where.get(e.name)
        if c is not None:
            y = _y(c.visibility)
            body.append(
                f'<line class="evolve" x1="{_x(c.evolution):.1f}" y1="{y:.1f}" '
                f'x2="{_x(e.evolution):.1f}" y2="{y:.1f}" stroke="red" stroke-dasharray="5 3" '
                'marker-end="url(#arrow-red)"/>'
            )
            body.append(f'<circle cx="{_x(e.evolution):.1f}" cy="{y:.1f}" r="5" fill="white" stroke="red"/>')
    body += [_component(c, anchor=False) for c in m.components]
    body += [_component(c, anchor=True) for c in m.anchors]
    body += [
        _text(_x(n.evolution), _y(n.visibility), n.text, ' font-size="12" font-style="italic" class="note"')
        for n in m.notes
    ]
    defs = (
        "<defs>"
        '<marker id="arrow" markerWidth="10" markerHeight="10" refX="9" refY="3" orient="auto">'
        '<path d="M0,0 L9,3 L0,6 z" fill="black"/></marker>'
        '<marker id="arrow-red" markerWidth="10" markerHeight="10" refX="9" refY="3" orient="auto">'
        '<path d="M0,0 L9,3 L0,6 z" fill="red"/></marker>'
        "</defs>"
    )
    title = quoteattr(m.title or "Wardley map")
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" role="img" aria-label={title}>'
    )
    return "\n".join([head, defs, *body, "</svg>"]) + "\n"
