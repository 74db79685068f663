"""Wardley maps in the OWM text format (onlinewardleymaps.com): parse, write, default map, from components.

Supported statements, one per line (``//`` starts a comment, blank lines are ignored)::

    title AI operations value chain
    anchor Citizen [0.95, 0.60]
    component Model [0.55, 0.45] label [10, -5]
    Citizen->Service
    evolve Model 0.70
    pipeline Model [0.30, 0.70]
    note Trust is the product [0.90, 0.20]

Coordinates are ``[visibility, evolution]`` in [0, 1]. :func:`parse` names the line of any error;
:func:`write` emits a canonical text so ``parse(write(m)) == m`` (the round trip is lossless). The SVG
renderer is in :mod:`triops.strategy.wardley_svg`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from triops.errors import InvalidInputError

KEYWORDS = ("title", "anchor", "component", "evolve", "pipeline", "note")
_NUM = r"(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"
_PAIR = re.compile(r"^(?P<name>.+?)\s*\[\s*" + _NUM + r"\s*,\s*" + _NUM + r"\s*\](?P<rest>.*)$")
_LABEL = re.compile(r"^\s*label\s*\[\s*" + _NUM + r"\s*,\s*" + _NUM + r"\s*\]\s*$")
_EVOLVE = re.compile(r"^(?P<name>.+?)\s+" + _NUM + r"\s*$")


@dataclass(frozen=True)
class Component:
    name: str
    visibility: float
    evolution: float
    label: tuple[float, float] | None = None


@dataclass(frozen=True)
class Link:
    source: str
    target: str


@dataclass(frozen=True)
class Evolve:
    name: str
    evolution: float


@dataclass(frozen=True)
class Pipeline:
    name: str
    start: float
    end: float


@dataclass(frozen=True)
class Note:
    text: str
    visibility: float
    evolution: float


@dataclass(frozen=True)
class WardleyMap:
    title: str = ""
    anchors: tuple[Component, ...] = ()
    components: tuple[Component, ...] = ()
    links: tuple[Link, ...] = ()
    evolves: tuple[Evolve, ...] = ()
    pipelines: tuple[Pipeline, ...] = ()
    notes: tuple[Note, ...] = field(default_factory=tuple)

    def names(self) -> set[str]:
        return {c.name for c in (*self.anchors, *self.components)}


def _unit(value: str, what: str, lineno: int) -> float:
    x = float(value)
    if not 0.0 <= x <= 1.0:
        raise InvalidInputError(
            f"line {lineno}: {what} {x:g} is outside [0, 1]",
            hint="coordinates are [visibility, evolution] in 0..1",
        )
    return x


def _placed(rest: str, keyword: str, lineno: int) -> tuple[str, float, float, str]:
    m = _PAIR.match(rest)
    if not m or not m.group("name").strip():
        raise InvalidInputError(
            f"line {lineno}: expected '{keyword} NAME [visibility, evolution]', got {rest!r}",
            hint=f"e.g. {keyword} Model [0.5, 0.4]",
        )
    first = "start" if keyword == "pipeline" else "visibility"
    second = "end" if keyword == "pipeline" else "evolution"
    return (
        m.group("name").strip(),
        _unit(m.group(2), f"{keyword} {first}", lineno),
        _unit(m.group(3), f"{keyword} {second}", lineno),
        m.group("rest").strip(),
    )


def parse(text: str) -> WardleyMap:
    """Read OWM text; the first bad line raises :class:`InvalidInputError` naming its number."""
    title = ""
    anchors: list[Component] = []
    components: list[Component] = []
    links: list[Link] = []
    evolves: list[Evolve] = []
    pipelines: list[Pipeline] = []
    notes: list[Note] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("//"):
            continue
        keyword, _, rest = line.partition(" ")
        rest = rest.strip()
        if keyword == "title":
            title = rest
        elif keyword in ("anchor", "component"):
            name, vis, evo, tail = _placed(rest, keyword, lineno)
            label = None
            if tail:
                lm = _LABEL.match(tail)
                if not lm:
                    raise InvalidInputError(
                        f"line {lineno}: unexpected text after coordinates: {tail!r}",
                        hint="only 'label [x, y]' may follow",
                    )
                label = (float(lm.group(1)), float(lm.group(2)))
            (anchors if keyword == "anchor" else components).append(Component(name, vis, evo, label))
        elif keyword == "evolve":
            em = _EVOLVE.match(rest)
            if not em:
                raise InvalidInputError(f"line {lineno}: expected 'evolve NAME EVOLUTION', got {rest!r}")
            evolves.append(Evolve(em.group("name").strip(), _unit(em.group(2), "evolve evolution", lineno)))
        elif keyword == "pipeline":
            name, start, end, tail = _placed(rest, keyword, lineno)
            if tail:
                raise InvalidInputError(f"line {lineno}: unexpected text after pipeline: {tail!r}")
            pipelines.append(Pipeline(name, start, end))
        elif keyword == "note":
            name, vis, evo, tail = _placed(rest, keyword, lineno)
            if tail:
                raise InvalidInputError(f"line {lineno}: unexpected text after note: {tail!r}")
            notes.append(Note(name, vis, evo))
        elif "->" in line:
            src, _, dst = line.partition("->")
            if not src.strip() or not dst.strip() or "->" in dst:
                raise InvalidInputError(f"line {lineno}: a link is 'A->B', got {line!r}")
            links.append(Link(src.strip(), dst.strip()))
        else:
            raise InvalidInputError(
                f"line {lineno}: unknown keyword {keyword!r}",
                hint="known: " + ", ".join(KEYWORDS) + ", or a link 'A->B'",
            )
    return WardleyMap(
        title, tuple(anchors), tuple(components), tuple(links), tuple(evolves), tuple(pipelines), tuple(notes)
    )


def _num(x: float) -> str:
    return repr(float(x))


def write(m: WardleyMap) -> str:
    """Canonical OWM text; ``parse(write(m)) == m`` for every map whose names are valid."""
    lines: list[str] = []
    if m.title:
        lines.append(f"title {m.title}")
    for kind, items in (("anchor", m.anchors), ("component", m.components)):
        for c in items:
            label = f" label [{_num(c.label[0])}, {_num(c.label[1])}]" if c.label else ""
            lines.append(f"{kind} {c.name} [{_num(c.visibility)}, {_num(c.evolution)}]{label}")
    lines += [f"{link.source}->{link.target}" for link in m.links]
    lines += [f"evolve {e.name} {_num(e.evolution)}" for e in m.evolves]
    lines += [f"pipeline {p.name} [{_num(p.start)}, {_num(p.end)}]" for p in m.pipelines]
    lines += [f"note {n.text} [{_num(n.visibility)}, {_num(n.evolution)}]" for n in m.notes]
    return "\n".join(lines) + "\n"


def check_references(m: WardleyMap) -> list[str]:
    """Warnings for links, evolutions and pipelines that name no anchor or component."""
    names = m.names()
    out = [
        f"link {lk.source}->{lk.target} names an unknown component"
        for lk in m.links
        if not {lk.source, lk.target} <= names
    ]
    out += [f"evolve names unknown component '{e.name}'" for e in m.evolves if e.name not in names]
    out += [f"pipeline names unknown component '{p.name}'" for p in m.pipelines if p.name not in names]
    return out


# Where each kind of store component sits by default: (visibility, evolution), and the chain order.
KIND_POSITIONS: dict[str, tuple[float, float]] = {
    "need": (0.95, 0.55),
    "service": (0.80, 0.40),
    "model": (0.60, 0.35),
    "pipeline": (0.45, 0.50),
    "dataset": (0.30, 0.45),
    "compute": (0.10, 0.85),
}


def map_from_components(
    components: Sequence[tuple[str, str]], title: str = "AI operations value chain"
) -> WardleyMap:
    """A map from ``(name, kind)`` pairs, kinds in :data:`KIND_POSITIONS` order: each kind links to the next.

    Several components of one kind are spread slightly along the evolution axis so they do not overlap.
    """
    by_kind: dict[str, list[str]] = {k: [] for k in KIND_POSITIONS}
    for name, kind in components:
        if kind not in by_kind:
            raise InvalidInputError(
                f"unknown component kind '{kind}' for '{name}'", hint="kinds: " + ", ".join(KIND_POSITIONS)
            )
        if not name.strip() or "->" in name or "[" in name or name != name.strip():
            raise InvalidInputError(
                f"component name {name!r} cannot be written to OWM", hint="avoid '->', '[' and edge spaces"
            )
        if name not in by_kind[kind]:
            by_kind[kind].append(name)
    anchors: list[Component] = []
    comps: list[Component] = []
    for kind, names in by_kind.items():
        vis, evo = KIND_POSITIONS[kind]
        for i, name in enumerate(names):
            spread = min(max(evo + 0.08 * (i - (len(names) - 1) / 2), 0.02), 0.98)
            placed = Component(name, vis - 0.02 * (i % 2), round(spread, 4))
            (anchors if kind == "need" else comps).append(placed)
    present = [k for k in KIND_POSITIONS if by_kind[k]]
    links = tuple(
        Link(a, b) for upper, lower in pairwise(present) for a in by_kind[upper] for b in by_kind[lower]
    )
    return WardleyMap(title, tuple(anchors), tuple(comps), links)


def default_map() -> WardleyMap:
    """The AI-operations value chain: citizen need → service → model → pipeline → data → compute."""
    base = map_from_components(
        [
            ("Citizen need", "need"),
            ("Public service", "service"),
            ("Model", "model"),
            ("Pipeline", "pipeline"),
            ("Data", "dataset"),
            ("Compute", "compute"),
        ]
    )
    extra = (
        Component("Data contracts", 0.35, 0.30),
        Component("Cost metering", 0.20, 0.40),
        Component("Audit log", 0.50, 0.25),
    )
    return WardleyMap(
        base.title,
        base.anchors,
        (*base.components, *extra),
        (
            *base.links,
            Link("Pipeline", "Data contracts"),
            Link("Pipeline", "Cost metering"),
            Link("Public service", "Audit log"),
        ),
        evolves=(Evolve("Model", 0.55), Evolve("Pipeline", 0.70)),
        pipelines=(Pipeline("Model", 0.25, 0.60),),
        notes=(Note("Integrated ops moves pipelines to product", 0.72, 0.62),),
    )
