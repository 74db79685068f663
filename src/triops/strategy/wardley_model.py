"""The statements of the OWM language (onlinewardleymaps.com) as frozen records, and the map that holds them.

A map is the ordered list of its statements, one per line of OWM text (a pipeline with a ``{ … }`` block
is one statement); :mod:`triops.strategy.wardley` writes them and documents the language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["anchor", "component", "market", "ecosystem", "submap"]
DECORATORS = ("market", "ecosystem", "build", "buy", "outsource", "inertia")
METHODS = ("build", "buy", "outsource")
STYLES = ("plain", "wardley", "handwritten", "colour", "color", "dark")
ATTITUDES = ("pioneers", "settlers", "townplanners")
FLOWS = ("", "+>", "+<", "+<>")


@dataclass(frozen=True)
class Component:
    """An anchor, component, market, ecosystem or submap; coordinates may be omitted (then not drawn)."""

    name: str
    visibility: float | None = None
    evolution: float | None = None
    label: tuple[float, float] | None = None
    kind: Kind = "component"
    decorators: tuple[str, ...] = ()
    inertia: bool = False
    evolve_to: float | None = None
    url: str | None = None
    extra: str = ""

    @property
    def method(self) -> str | None:
        return next((d for d in self.decorators if d in METHODS), None)

    @property
    def placed(self) -> bool:
        return self.visibility is not None and self.evolution is not None


@dataclass(frozen=True)
class Link:
    source: str
    target: str
    flow: str = ""
    flow_label: str | None = None
    context: str | None = None


@dataclass(frozen=True)
class Evolve:
    name: str
    evolution: float
    new_name: str | None = None
    label: tuple[float, float] | None = None
    decorators: tuple[str, ...] = ()


@dataclass(frozen=True)
class PipelineComponent:
    name: str
    evolution: float
    label: tuple[float, float] | None = None


@dataclass(frozen=True)
class Pipeline:
    """``pipeline NAME [start, end]`` (the legacy form) or ``pipeline NAME`` with a block of components."""

    name: str
    start: float | None = None
    end: float | None = None
    components: tuple[PipelineComponent, ...] = ()
    block: bool = False


@dataclass(frozen=True)
class Note:
    text: str
    visibility: float
    evolution: float


@dataclass(frozen=True)
class Annotation:
    number: int
    positions: tuple[tuple[float, float], ...]
    text: str = ""
    nested: bool = True


@dataclass(frozen=True)
class AnnotationsBox:
    visibility: float
    evolution: float


@dataclass(frozen=True)
class Accelerator:
    name: str
    visibility: float
    evolution: float
    kind: Literal["accelerator", "deaccelerator"] = "accelerator"


@dataclass(frozen=True)
class Method:
    method: str
    name: str


@dataclass(frozen=True)
class Attitude:
    kind: str
    numbers: tuple[float, ...]
    tail: tuple[float, ...] = ()


@dataclass(frozen=True)
class Url:
    name: str
    address: str


@dataclass(frozen=True)
class Title:
    text: str


@dataclass(frozen=True)
class Style:
    name: str


@dataclass(frozen=True)
class Size:
    width: float
    height: float


@dataclass(frozen=True)
class Stages:
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Comment:
    text: str


@dataclass(frozen=True)
class Unknown:
    """A line this parser does not understand, kept verbatim so writing the map loses nothing."""

    text: str
    line: int = field(default=0, compare=False)


Statement = (
    Component
    | Link
    | Evolve
    | Pipeline
    | Note
    | Annotation
    | AnnotationsBox
    | Accelerator
    | Method
    | Attitude
    | Url
    | Title
    | Style
    | Size
    | Stages
    | Comment
    | Unknown
)


@dataclass(frozen=True)
class WardleyMap:
    statements: tuple[Statement, ...] = ()

    def _of(self, kind: type) -> tuple[object, ...]:
        return tuple(s for s in self.statements if isinstance(s, kind))

    @property
    def title(self) -> str:
        titles = [s.text for s in self.statements if isinstance(s, Title)]
        return titles[-1] if titles else ""

    @property
    def style(self) -> str | None:
        styles = [s.name for s in self.statements if isinstance(s, Style)]
        return styles[-1] if styles else None

    @property
    def elements(self) -> tuple[Component, ...]:
        return tuple(s for s in self.statements if isinstance(s, Component))

    @property
    def anchors(self) -> tuple[Component, ...]:
        return tuple(c for c in self.elements if c.kind == "anchor")

    @property
    def components(self) -> tuple[Component, ...]:
        return tuple(c for c in self.elements if c.kind != "anchor")

    @property
    def links(self) -> tuple[Link, ...]:
        return tuple(s for s in self.statements if isinstance(s, Link))

    @property
    def evolves(self) -> tuple[Evolve, ...]:
        return tuple(s for s in self.statements if isinstance(s, Evolve))

    @property
    def pipelines(self) -> tuple[Pipeline, ...]:
        return tuple(s for s in self.statements if isinstance(s, Pipeline))

    @property
    def notes(self) -> tuple[Note, ...]:
        return tuple(s for s in self.statements if isinstance(s, Note))

    @property
    def unknown(self) -> tuple[Unknown, ...]:
        return tuple(s for s in self.statements if isinstance(s, Unknown))

    def names(self) -> set[str]:
        """Every name a link may use: elements, pipeline members and the new names of evolutions."""
        out = {c.name for c in self.elements}
        out |= {pc.name for p in self.pipelines for pc in p.components}
        out |= {e.new_name for e in self.evolves if e.new_name}
        return out
