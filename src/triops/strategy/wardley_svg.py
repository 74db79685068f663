"""Render a :class:`~triops.strategy.wardley.WardleyMap` to a standalone SVG document, saying what it left out.

Hand-written SVG from small string templates: the value-chain axis (visible at the top, invisible at the
bottom), the evolution axis with its four stages (Genesis, Custom-Built, Product (+rental), Commodity
(+utility), or the map's own ``evolution`` labels) and their boundaries at the OWM defaults, then
pioneer/settler/town-planner areas, pipelines, links and flows, evolution arrows, components (markets,
ecosystems, submaps, inertia bars, build/buy/outsource shading), anchors, notes, accelerators and numbered
annotations. :func:`render` returns the SVG with a warning for everything it could not draw (an element
without coordinates, a link to an unknown component, a line kept verbatim, a style it draws plainly), so
nothing disappears silently. All text is XML-escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from triops.strategy.wardley import (
    Accelerator,
    Annotation,
    AnnotationsBox,
    Attitude,
    Component,
    Evolve,
    Method,
    Note,
    Size,
    Stages,
    WardleyMap,
)

WIDTH, HEIGHT = 900, 640
LEFT, TOP, RIGHT, BOTTOM = 60, 50, 20, 60
STAGES = (
    (0.0, "Genesis"),
    (0.17, "Custom-Built"),
    (0.40, "Product (+rental)"),
    (0.70, "Commodity (+utility)"),
)
DRAWN_STYLES = ("plain", "wardley")
METHOD_FILL = {"build": "#000000", "buy": "#d6d6d6", "outsource": "#707070"}


@dataclass(frozen=True)
class Rendered:
    svg: str
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class _Frame:
    width: float
    height: float

    def x(self, evolution: float) -> float:
        return LEFT + evolution * (self.width - LEFT - RIGHT)

    def y(self, visibility: float) -> float:
        return TOP + (1.0 - visibility) * (self.height - TOP - BOTTOM)


def _text(x: float, y: float, content: str, extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{escape(content)}</text>'


def _axes(f: _Frame, title: str, labels: tuple[str, ...]) -> list[str]:
    bottom, width = f.height - BOTTOM, f.width
    mid = (TOP + bottom) / 2
    out = [
        f'<rect x="0" y="0" width="{width:g}" height="{f.height:g}" fill="white"/>',
        _text(
            width / 2, 28, title or "Wardley map", ' text-anchor="middle" font-size="18" font-weight="bold"'
        ),
        f'<line x1="{LEFT}" y1="{bottom:g}" x2="{width - RIGHT:g}" y2="{bottom:g}" stroke="black" '
        'marker-end="url(#arrow)"/>',
        f'<line x1="{LEFT}" y1="{bottom:g}" x2="{LEFT}" y2="{TOP}" stroke="black" marker-end="url(#arrow)"/>',
        _text(
            18,
            mid,
            "Value Chain",
            f' transform="rotate(-90 18 {mid:.1f})" text-anchor="middle" font-size="13"',
        ),
        _text(LEFT - 6, TOP + 12, "Visible", ' text-anchor="end" font-size="10"'),
        _text(LEFT - 6, bottom - 4, "Invisible", ' text-anchor="end" font-size="10"'),
        _text((LEFT + width - RIGHT) / 2, f.height - 12, "Evolution", ' text-anchor="middle" font-size="13"'),
    ]
    bounds = [s for s, _ in STAGES[1:]] + [1.0]
    for (start, _), name, end in zip(STAGES, labels, bounds, strict=True):
        if start > 0:
            out.append(
                f'<line x1="{f.x(start):.1f}" y1="{TOP}" x2="{f.x(start):.1f}" y2="{bottom:g}" '
                'stroke="#999" stroke-dasharray="4 4"/>'
            )
        out.append(
            _text((f.x(start) + f.x(end)) / 2, bottom + 18, name, ' text-anchor="middle" font-size="12"')
        )
    return out


def _element(f: _Frame, c: Component, method: str | None) -> str:
    x, y = f.x(c.evolution or 0.0), f.y(c.visibility or 0.0)
    dx, dy = c.label if c.label else (8.0, -8.0)
    if c.kind == "anchor":
        return _text(x, y, c.name, ' text-anchor="middle" font-weight="bold" font-size="14" class="anchor"')
    parts = [f'<g class="{c.kind}">']
    if method is not None:
        parts.append(
            f'<circle class="method {method}" cx="{x:.1f}" cy="{y:.1f}" r="14" fill="{METHOD_FILL[method]}" '
            'fill-opacity="0.35" stroke="none"/>'
        )
    if c.kind in ("market", "ecosystem") or "market" in c.decorators or "ecosystem" in c.decorators:
        rings = 2 if c.kind == "ecosystem" or "ecosystem" in c.decorators else 1
        for i in range(rings):
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{9 + 4 * i}" fill="white" stroke="black"/>')
        for ox, oy in ((0, -4), (-3.5, 2.5), (3.5, 2.5)):
            parts.append(f'<circle cx="{x + ox:.1f}" cy="{y + oy:.1f}" r="1.8" fill="black"/>')
    else:
        fill = "#eee" if c.kind == "submap" else "white"
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{fill}" stroke="black"/>')
    if c.inertia:
        parts.append(
            f'<rect class="inertia" x="{x + 12:.1f}" y="{y - 10:.1f}" width="5" height="20" fill="black"/>'
        )
    parts.append(_text(x + dx, y + dy, c.name, ' font-size="12"'))
    parts.append("</g>")
    return "".join(parts)


def render(m: WardleyMap) -> Rendered:
    """The map as an SVG document and the list of what could not be drawn."""
    warnings: list[str] = []
    size = next((s for s in reversed(m.statements) if isinstance(s, Size)), None)
    f = (
        _Frame(size.width, size.height)
        if size and size.width > 200 and size.height > 200
        else _Frame(WIDTH, HEIGHT)
    )
    if size is not None and f.width == WIDTH:
        warnings.append(
            f"size [{size.width:g}, {size.height:g}] is too small to draw; drawn at {WIDTH}x{HEIGHT}"
        )
    stages = next((s for s in reversed(m.statements) if isinstance(s, Stages)), None)
    labels = tuple(name for _, name in STAGES)
    if stages is not None and len(stages.labels) == 4:
        labels = stages.labels
    elif stages is not None:
        warnings.append(
            f"evolution has {len(stages.labels)} stages, not 4; the default stage names are drawn"
        )
    if m.style is not None and m.style not in DRAWN_STYLES:
        warnings.append(f"style '{m.style}' is drawn in the plain style")
    where: dict[str, Component] = {}
    for c in m.elements:
        if not c.placed:
            warnings.append(f"{c.kind} '{c.name}' has no coordinates and is not drawn")
        elif c.name not in where:
            where[c.name] = c
        if c.extra:
            warnings.append(f"'{c.extra}' after {c.kind} '{c.name}' is not drawn")
    inline = [Evolve(c.name, c.evolve_to) for c in m.elements if c.evolve_to is not None]
    points: dict[str, tuple[float, float]] = {
        n: (c.visibility or 0, c.evolution or 0) for n, c in where.items()
    }
    body = _axes(f, m.title, labels)
    body += _attitudes(f, m)
    for p in m.pipelines:
        parent = where.get(p.name)
        if parent is None:
            warnings.append(f"pipeline '{p.name}' not drawn: no placed component of that name")
            continue
        y = f.y(parent.visibility or 0)
        members = [pc.evolution for pc in p.components]
        start = p.start if p.start is not None else min(members, default=parent.evolution or 0) - 0.03
        end = p.end if p.end is not None else max(members, default=parent.evolution or 0) + 0.03
        body.append(
            f'<rect class="pipeline" x="{f.x(start):.1f}" y="{y + 8:.1f}" '
            f'width="{f.x(end) - f.x(start):.1f}" height="22" fill="none" stroke="black"/>'
        )
        for pc in p.components:
            points[pc.name] = (parent.visibility or 0, pc.evolution)
            px = f.x(pc.evolution)
            dx, dy = pc.label if pc.label else (6.0, -2.0)
            text = _text(px + dx, y + 19 + dy, pc.name, ' font-size="11"')
            body.append(
                f'<g class="pipeline-component"><circle cx="{px:.1f}" cy="{y + 19:.1f}" r="4" fill="white" '
                f'stroke="black"/>{text}</g>'
            )
    for e in (*m.evolves, *inline):
        moving = where.get(e.name)
        if moving is None:
            warnings.append(f"evolve '{e.name}' not drawn: no placed component of that name")
            continue
        c = moving
        y = f.y(c.visibility or 0)
        body.append(
            f'<line class="evolve" x1="{f.x(c.evolution or 0):.1f}" y1="{y:.1f}" x2="{f.x(e.evolution):.1f}" '
            f'y2="{y:.1f}" stroke="red" stroke-dasharray="5 3" marker-end="url(#arrow-red)"/>'
        )
        points[e.new_name or f"{e.name} (evolved)"] = (c.visibility or 0, e.evolution)
        dx, dy = e.label if e.label else (8.0, -8.0)
        text = _text(f.x(e.evolution) + dx, y + dy, e.new_name or e.name, ' font-size="12" fill="red"')
        body.append(
            f'<g class="evolved"><circle cx="{f.x(e.evolution):.1f}" cy="{y:.1f}" r="5" fill="white" '
            f'stroke="red"/>{text}</g>'
        )
    for link in m.links:
        a, b = points.get(link.source), points.get(link.target)
        if a is None or b is None:
            missing = link.source if a is None else link.target
            warnings.append(f"link {link.source}->{link.target} not drawn: '{missing}' is not on the map")
            continue
        x1, y1, x2, y2 = f.x(a[1]), f.y(a[0]), f.x(b[1]), f.y(b[0])
        style = ' stroke="#555"'
        if link.flow:
            style = ' stroke="#2a6fdb" stroke-width="2"'
            if ">" in link.flow:
                style += ' marker-end="url(#arrow-flow)"'
            if "<" in link.flow:
                style += ' marker-start="url(#arrow-flow-back)"'
        body.append(f'<line class="link" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"{style}/>')
        caption = " ".join(t for t in (link.flow_label, link.context) if t)
        if caption:
            body.append(_text((x1 + x2) / 2 + 4, (y1 + y2) / 2, caption, ' font-size="10" fill="#333"'))
    methods = {s.name: s.method for s in m.statements if isinstance(s, Method)}
    for name in methods:
        if name not in where:
            warnings.append(f"{methods[name]} '{name}' not drawn: no placed component of that name")
    body += [_element(f, c, methods.get(c.name) or c.method) for c in where.values() if c.kind != "anchor"]
    body += [_element(f, c, None) for c in m.anchors if c.placed]
    body += _marks(f, m)
    body += [f"<!-- not drawn: {escape(u.text).replace('--', '- -')} -->" for u in m.unknown]
    warnings += [f"line {u.line}: '{u.text}' is kept in the map but not drawn" for u in m.unknown]
    return Rendered(_document(f, m.title, body), tuple(warnings))


def _attitudes(f: _Frame, m: WardleyMap) -> list[str]:
    out = []
    colours = {"pioneers": "#f4c430", "settlers": "#7fb3d5", "townplanners": "#a9dfbf"}
    for a in (s for s in m.statements if isinstance(s, Attitude)):
        if len(a.numbers) == 4:
            v1, e1, v2, e2 = a.numbers
            x, y, w, h = f.x(min(e1, e2)), f.y(max(v1, v2)), abs(f.x(e2) - f.x(e1)), abs(f.y(v2) - f.y(v1))
        else:
            v, e = a.numbers
            w, h = ((*a.tail, 120.0, 30.0))[:2]
            x, y = f.x(e), f.y(v)
        out.append(
            f'<rect class="{a.kind}" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
            f'fill="{colours[a.kind]}" fill-opacity="0.25" stroke="{colours[a.kind]}"/>'
        )
        out.append(_text(x + 4, y + 12, a.kind.capitalize(), ' font-size="10"'))
    return out


def _marks(f: _Frame, m: WardleyMap) -> list[str]:
    out = []
    for s in m.statements:
        if isinstance(s, Note):
            out.append(
                _text(
                    f.x(s.evolution),
                    f.y(s.visibility),
                    s.text,
                    ' font-size="12" font-style="italic" class="note"',
                )
            )
        elif isinstance(s, Accelerator):
            x, y = f.x(s.evolution), f.y(s.visibility)
            d = 1 if s.kind == "accelerator" else -1
            path = f"M{x:.1f},{y - 8:.1f} h{30 * d} v-6 l{14 * d},14 l{-14 * d},14 v-6 h{-30 * d} z"
            out.append(f'<path class="{s.kind}" d="{path}" fill="white" stroke="black"/>')
            out.append(_text(x, y + 24, s.name, ' font-size="11"'))
        elif isinstance(s, Annotation):
            for v, e in s.positions:
                x, y = f.x(e), f.y(v)
                out.append(
                    f'<g class="annotation"><circle cx="{x:.1f}" cy="{y:.1f}" r="9" fill="white" stroke="black"/>'
                    + _text(x, y + 4, str(s.number), ' text-anchor="middle" font-size="11"')
                    + "</g>"
                )
    box = next((s for s in m.statements if isinstance(s, AnnotationsBox)), None)
    annotations = [s for s in m.statements if isinstance(s, Annotation)]
    if annotations:
        bx, by = (f.x(box.evolution), f.y(box.visibility)) if box else (f.x(0.02), f.y(0.98))
        lines = [_text(bx + 6, by + 16, "Annotations:", ' font-size="11" font-weight="bold"')]
        lines += [
            _text(bx + 6, by + 32 + 14 * i, f"{a.number}. {a.text}", ' font-size="11"')
            for i, a in enumerate(annotations)
        ]
        out.append('<g class="annotations">' + "".join(lines) + "</g>")
    return out


def _document(f: _Frame, title: str, body: list[str]) -> str:
    defs = (
        "<defs>"
        '<marker id="arrow" markerWidth="10" markerHeight="10" refX="9" refY="3" orient="auto">'
        '<path d="M0,0 L9,3 L0,6 z" fill="black"/></marker>'
        '<marker id="arrow-red" markerWidth="10" markerHeight="10" refX="9" refY="3" orient="auto">'
        '<path d="M0,0 L9,3 L0,6 z" fill="red"/></marker>'
        '<marker id="arrow-flow" markerWidth="10" markerHeight="10" refX="9" refY="3" orient="auto">'
        '<path d="M0,0 L9,3 L0,6 z" fill="#2a6fdb"/></marker>'
        '<marker id="arrow-flow-back" markerWidth="10" markerHeight="10" refX="0" refY="3" orient="auto">'
        '<path d="M9,0 L0,3 L9,6 z" fill="#2a6fdb"/></marker>'
        "</defs>"
    )
    label = quoteattr(title or "Wardley map")
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{f.width:g}" height="{f.height:g}" '
        f'viewBox="0 0 {f.width:g} {f.height:g}" font-family="sans-serif" role="img" aria-label={label}>'
    )
    return "\n".join([head, defs, *body, "</svg>"]) + "\n"


def render_svg(m: WardleyMap) -> str:
    """The map as an SVG document (a string); use :func:`render` to learn what was left out."""
    return render(m).svg
