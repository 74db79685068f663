"""Wardley maps in the OWM text language of onlinewardleymaps.com: the map model, writing, reference checks.

A map is the ordered list of its statements, one per line of OWM text (a pipeline with a ``{ … }`` block
is one statement). Every statement of the documented language has a type here:

    title Tea Shop                                  style wardley          size [1100, 800]
    anchor Business [0.95, 0.63]                    evolution Novel->Emerging->Good->Best
    component Kettle [0.43, 0.35] label [-57, 4] (build) inertia
    market Cup market [0.6, 0.7]                    ecosystem App store [0.3, 0.6] (buy)
    submap Website [0.83, 0.50] url(websiteMap)     url websiteMap [https://example.org/map]
    evolve Kettle->Electric kettle 0.62 label [16, 5] (buy)
    pipeline Kettle [0.3, 0.7]     or    pipeline Kettle { component Campfire kettle [0.5] … }
    Hot Water->Kettle; limited by                   Hot Water+'$0.10'>Kettle   (flows: +> +< +<>)
    note Standardising power [0.3, 0.49]            annotation 1 [[0.43, 0.49], [0.08, 0.79]] Power
    annotations [0.6, 0.02]                         accelerator Open source [0.6, 0.3]  (deaccelerator)
    build Kettle / buy Kettle / outsource Kettle    pioneers [0.59, 0.43, 0.49, 0.63]  (settlers, townplanners)

Coordinates are ``[visibility, evolution]`` in [0, 1]; labels are pixel offsets. A line that is none of
these is kept verbatim (:class:`Unknown`) and warned about, never dropped; comments are kept too. Parsing
is in :mod:`triops.strategy.wardley_parse`; :func:`write` gives canonical text with
``parse(write(m)) == m``. The SVG renderer is :mod:`triops.strategy.wardley_svg`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from itertools import pairwise

from triops.errors import InvalidInputError
from triops.strategy.wardley_model import (
    ATTITUDES,
    DECORATORS,
    FLOWS,
    METHODS,
    STYLES,
    Accelerator,
    Annotation,
    AnnotationsBox,
    Attitude,
    Comment,
    Component,
    Evolve,
    Kind,
    Link,
    Method,
    Note,
    Pipeline,
    PipelineComponent,
    Size,
    Stages,
    Statement,
    Style,
    Title,
    Unknown,
    Url,
    WardleyMap,
)

__all__ = [
    "ATTITUDES",
    "DECORATORS",
    "FLOWS",
    "KIND_POSITIONS",
    "METHODS",
    "STYLES",
    "Accelerator",
    "Annotation",
    "AnnotationsBox",
    "Attitude",
    "Comment",
    "Component",
    "Evolve",
    "Kind",
    "Link",
    "Method",
    "Note",
    "Pipeline",
    "PipelineComponent",
    "Size",
    "Stages",
    "Statement",
    "Style",
    "Title",
    "Unknown",
    "Url",
    "WardleyMap",
    "build_map",
    "check_references",
    "default_map",
    "map_from_components",
    "num",
    "valid_name",
    "write",
    "write_statement",
]


def build_map(
    title: str = "",
    anchors: Iterable[Component] = (),
    components: Iterable[Component] = (),
    links: Iterable[Link] = (),
    evolves: Iterable[Evolve] = (),
    pipelines: Iterable[Pipeline] = (),
    notes: Iterable[Note] = (),
) -> WardleyMap:
    """A map from its parts, in the canonical order of :func:`write`."""
    head: list[Statement] = [Title(title)] if title else []
    placed = [*(_as(a, "anchor") for a in anchors), *components]
    return WardleyMap((*head, *placed, *links, *evolves, *pipelines, *notes))


def _as(c: Component, kind: Kind) -> Component:
    return replace(c, kind=kind)


def num(x: float) -> str:
    """The shortest text that reads back as the same float (``19`` for 19.0)."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))


def _pair(a: float, b: float) -> str:
    return f"[{num(a)}, {num(b)}]"


def _label(label: tuple[float, float] | None) -> str:
    return f" label {_pair(*label)}" if label is not None else ""


def _decorators(decorators: Sequence[str]) -> str:
    return f" ({', '.join(decorators)})" if decorators else ""


def write_statement(s: Statement) -> str:
    """One statement as OWM text (a pipeline block spans several lines)."""
    if isinstance(s, Component):
        coords = f" {_pair(s.visibility, s.evolution)}" if s.placed else ""  # type: ignore[arg-type]
        text = f"{s.kind} {s.name}{coords}{_label(s.label)}{_decorators(s.decorators)}"
        text += " inertia" if s.inertia else ""
        text += f" evolve {num(s.evolve_to)}" if s.evolve_to is not None else ""
        text += f" url({s.url})" if s.url is not None else ""
        return text + (f" {s.extra}" if s.extra else "")
    if isinstance(s, Link):
        op = "->" if not s.flow else s.flow if s.flow_label is None else f"+'{s.flow_label}'{s.flow[1:]}"
        return f"{s.source}{op}{s.target}" + (f"; {s.context}" if s.context is not None else "")
    if isinstance(s, Evolve):
        name = s.name + (f"->{s.new_name}" if s.new_name else "")
        return f"evolve {name} {num(s.evolution)}{_label(s.label)}{_decorators(s.decorators)}"
    if isinstance(s, Pipeline):
        head = f"pipeline {s.name}" + (f" {_pair(s.start, s.end)}" if s.start is not None else "")  # type: ignore[arg-type]
        if not s.block:
            return head
        inner = [f"  component {c.name} [{num(c.evolution)}]{_label(c.label)}" for c in s.components]
        return "\n".join([head, "{", *inner, "}"])
    if isinstance(s, Note):
        return f"note {s.text} {_pair(s.visibility, s.evolution)}"
    if isinstance(s, Annotation):
        where = "[" + ", ".join(_pair(*p) for p in s.positions) + "]" if s.nested else _pair(*s.positions[0])
        return f"annotation {s.number} {where}" + (f" {s.text}" if s.text else "")
    if isinstance(s, AnnotationsBox):
        return f"annotations {_pair(s.visibility, s.evolution)}"
    if isinstance(s, Accelerator):
        return f"{s.kind} {s.name} {_pair(s.visibility, s.evolution)}"
    if isinstance(s, Method):
        return f"{s.method} {s.name}"
    if isinstance(s, Attitude):
        tail = "".join(f" {num(x)}" for x in s.tail)
        return f"{s.kind} [{', '.join(num(x) for x in s.numbers)}]{tail}"
    if isinstance(s, Url):
        return f"url {s.name} [{s.address}]"
    if isinstance(s, Title):
        return f"title {s.text}"
    if isinstance(s, Style):
        return f"style {s.name}"
    if isinstance(s, Size):
        return f"size {_pair(s.width, s.height)}"
    if isinstance(s, Stages):
        return "evolution " + "->".join(s.labels)
    return s.text  # Comment, Unknown: verbatim


def write(m: WardleyMap) -> str:
    """Canonical OWM text; ``parse(write(m)) == m`` for every map whose names are valid."""
    return "\n".join(write_statement(s) for s in m.statements) + "\n"


def check_references(m: WardleyMap) -> list[str]:
    """Warnings for statements that name something the map does not define."""
    names = m.names()
    urls = {s.name for s in m.statements if isinstance(s, Url)}
    out: list[str] = []
    for s in m.statements:
        if isinstance(s, Link):
            missing = [n for n in (s.source, s.target) if n not in names]
            if missing:
                out.append(f"link {s.source}->{s.target} names unknown component '{missing[0]}'")
        elif isinstance(s, Evolve) and s.name not in names:
            out.append(f"evolve names unknown component '{s.name}'")
        elif isinstance(s, Pipeline) and s.name not in names:
            out.append(f"pipeline names unknown component '{s.name}'")
        elif isinstance(s, Method) and s.name not in names:
            out.append(f"{s.method} names unknown component '{s.name}'")
        elif isinstance(s, Component) and s.url is not None and s.url not in urls:
            out.append(f"{s.kind} {s.name} uses url({s.url}), but no 'url {s.url} [...]' defines it")
    seen: set[str] = set()
    for c in m.elements:
        if c.name in seen:
            out.append(f"'{c.name}' is defined more than once; links go to the first")
        seen.add(c.name)
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


def valid_name(name: str) -> str:
    """``name`` if it can be written to OWM and read back unchanged; otherwise an error naming it."""
    bad = ("->", "[", "]", "+>", "+<", ";", "//", "{", "}")
    if not name.strip() or name != name.strip() or "\n" in name or any(b in name for b in bad):
        raise InvalidInputError(
            f"component name {name!r} cannot be written to OWM",
            hint="avoid '->', '+>', '+<', brackets, braces, ';', '//' and spaces at either end",
        )
    return name


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
        if valid_name(name) not in by_kind[kind]:
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
    links = [Link(a, b) for upper, lower in pairwise(present) for a in by_kind[upper] for b in by_kind[lower]]
    return build_map(title, anchors, comps, links)


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
    return build_map(
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
