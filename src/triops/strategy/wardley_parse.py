"""Reading OWM text (the onlinewardleymaps.com language) into a :class:`~triops.strategy.wardley.WardleyMap`.

:func:`parse_report` reads the whole text in one pass and returns the map with *every* error and warning,
each naming its line; :func:`parse` raises one :class:`InvalidInputError` listing all errors. An error is a
known statement written wrongly (a coordinate outside [0, 1], a pipeline block never closed); a line that
is no known statement is a warning and is kept verbatim (:class:`Unknown`), as is unrecognised text after
a component. ``//`` and ``#`` lines and ``/* … */`` blocks are comments and are kept as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import cast, get_args

from triops.errors import InvalidInputError
from triops.strategy.wardley import (
    ATTITUDES,
    DECORATORS,
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
    check_references,
)

NUM = r"(-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)"
_COORDS = re.compile(r"^(?P<name>[^\[\]]*?)\s*\[(?P<inner>[^\[\]]*)\](?P<rest>.*)$")
_LABEL = re.compile(r"^label\s*\[\s*" + NUM + r"\s*,\s*" + NUM + r"\s*\]")
_DECOS = re.compile(r"^\(([^()]*)\)")
_EVOLVE_INLINE = re.compile(r"^evolve\s+" + NUM + r"(?!\S)")
_URL_REF = re.compile(r"^url\(([^()\s]+)\)")
_INERTIA = re.compile(r"^inertia(?!\S)")
_EVOLVE = re.compile(r"^(?P<name>.+?)\s+" + NUM + r"(?P<rest>(?:\s*label\s*\[[^\]]*\]|\s*\([^)]*\))*)\s*$")
_NOTE = re.compile(r"^(?P<text>.*?\S)\s*\[\s*" + NUM + r"\s*,\s*" + NUM + r"\s*\]\s*$")
_ANNOTATION = re.compile(r"^(?P<num>\d+)\s*,?\s*(?P<where>\[\s*\[.*?\]\s*\]|\[[^\[\]]*\])\s*(?P<text>.*)$")
_LINK = re.compile(r"^(?P<a>.+?)\s*(?P<op>\+'[^']*'<>|\+'[^']*'>|\+'[^']*'<|\+<>|\+>|\+<|->)\s*(?P<b>.+)$")
_URL = re.compile(r"^(?P<name>\S+)\s*\[(?P<address>[^\]]+)\]\s*$")
ELEMENT_KINDS = cast(tuple[str, ...], get_args(Kind))
KEYWORDS = (
    *ELEMENT_KINDS,
    "title",
    "evolve",
    "pipeline",
    "note",
    "annotation",
    "annotations",
    "accelerator",
    "deaccelerator",
    *METHODS,
    *ATTITUDES,
    "url",
    "style",
    "size",
    "evolution",
)


@dataclass(frozen=True)
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True)
class ParseReport:
    map: WardleyMap
    errors: tuple[Problem, ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.errors


class _LineError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _numbers(inner: str, count: int | None, what: str) -> tuple[float, ...]:
    parts = [p.strip() for p in inner.split(",")]
    try:
        values = tuple(float(p) for p in parts if p or len(parts) > 1)
    except ValueError:
        raise _LineError(f"{what}: [{inner}] holds something that is not a number") from None
    if count is not None and len(values) != count:
        raise _LineError(f"{what}: expected {count} number(s) in [...], got [{inner}]")
    return values


def _unit(x: float, what: str) -> float:
    if not 0.0 <= x <= 1.0:
        raise _LineError(f"{what} {x:g} is outside [0, 1] (coordinates are [visibility, evolution])")
    return x


def _decorator_list(inner: str) -> tuple[str, ...]:
    items = tuple(d.strip() for d in inner.split(",") if d.strip())
    unknown = [d for d in items if d not in DECORATORS]
    if unknown:
        raise _LineError(f"unknown decorator '{unknown[0]}' (known: {', '.join(DECORATORS)})")
    return items


def _element(kind: str, rest: str, warnings: list[str], lineno: int) -> Component:
    m = _COORDS.match(rest)
    if m:
        name, tail = m.group("name").strip(), m.group("rest")
        vis, evo = _numbers(m.group("inner"), 2, f"{kind} coordinates")
        vis, evo = _unit(vis, f"{kind} visibility"), _unit(evo, f"{kind} evolution")
    else:
        name, tail, vis, evo = rest.strip(), "", None, None  # "component Database": no position
        for word in (" inertia", " label", " (", " evolve", " url("):
            if word in f" {name}":
                raise _LineError(f"{kind} {name!r} has decorations but no [visibility, evolution]")
    if not name:
        raise _LineError(f"expected '{kind} NAME [visibility, evolution]'")
    label: tuple[float, float] | None = None
    decorators: tuple[str, ...] = ()
    inertia, evolve_to, url = False, None, None
    tail = tail.strip()
    while tail:
        if m := _LABEL.match(tail):
            label = (float(m.group(1)), float(m.group(2)))
        elif m := _DECOS.match(tail):
            found = _decorator_list(m.group(1))
            inertia = inertia or "inertia" in found
            decorators += tuple(d for d in found if d != "inertia")
        elif m := _INERTIA.match(tail):
            inertia = True
        elif m := _EVOLVE_INLINE.match(tail):
            evolve_to = _unit(float(m.group(1)), f"{kind} evolve")
        elif m := _URL_REF.match(tail):
            url = m.group(1)
        else:
            warnings.append(f"line {lineno}: '{tail}' after {kind} {name} is not understood; kept as written")
            break
        tail = tail[m.end() :].strip()
    return Component(name, vis, evo, label, cast(Kind, kind), decorators, inertia, evolve_to, url, tail)


def _evolve(rest: str) -> Evolve:
    m = _EVOLVE.match(rest)
    if not m:
        raise _LineError(f"expected 'evolve NAME EVOLUTION' (e.g. evolve Kettle 0.62), got {rest!r}")
    name, new_name = m.group("name").strip(), None
    if "->" in name:
        name, _, new_name = (x.strip() for x in name.partition("->"))
        if not name or not new_name:
            raise _LineError("a renaming evolve is 'evolve OLD->NEW EVOLUTION'")
    label: tuple[float, float] | None = None
    decorators: tuple[str, ...] = ()
    tail = m.group("rest").strip()
    while tail:
        if lm := _LABEL.match(tail):
            label, tail = (float(lm.group(1)), float(lm.group(2))), tail[lm.end() :].strip()
        elif dm := _DECOS.match(tail):
            decorators, tail = decorators + _decorator_list(dm.group(1)), tail[dm.end() :].strip()
        else:
            raise _LineError(f"unexpected text after evolve: {tail!r}")
    return Evolve(name, _unit(float(m.group(2)), "evolve evolution"), new_name, label, decorators)


def _placed(keyword: str, rest: str) -> tuple[str, float, float]:
    m = _NOTE.match(rest)
    if not m:
        raise _LineError(f"expected '{keyword} TEXT [visibility, evolution]', got {rest!r}")
    vis = _unit(float(m.group(2)), f"{keyword} visibility")
    return m.group("text"), vis, _unit(float(m.group(3)), f"{keyword} evolution")


def _annotation(rest: str) -> Annotation:
    m = _ANNOTATION.match(rest)
    if not m:
        raise _LineError(f"expected 'annotation NUMBER [[v, e], ...] TEXT', got {rest!r}")
    where = m.group("where")
    nested = where[1:].lstrip().startswith("[")
    inner = re.findall(r"\[([^\[\]]*)\]", where)
    positions = tuple(
        (_unit(v, "annotation visibility"), _unit(e, "annotation evolution"))
        for v, e in (_numbers(i, 2, "annotation position") for i in inner)
    )
    return Annotation(int(m.group("num")), positions, m.group("text").strip(), nested)


def _link(line: str) -> Link | None:
    body, sep, context = line.partition(";")
    m = _LINK.match(body.strip())
    if not m:
        return None
    op = m.group("op")
    flow, label = "", None
    if op != "->":
        lm = re.match(r"^\+'([^']*)'(<>|>|<)$", op)
        flow, label = ("+" + lm.group(2), lm.group(1)) if lm else (op, None)
    return Link(m.group("a").strip(), m.group("b").strip(), flow, label, context.strip() if sep else None)


def _statement(keyword: str, rest: str, line: str, warnings: list[str], lineno: int) -> Statement:
    if keyword in ELEMENT_KINDS:
        return _element(keyword, rest, warnings, lineno)
    if keyword == "title":
        return Title(rest)
    if keyword == "evolve":
        return _evolve(rest)
    if keyword == "note":
        return Note(*_placed("note", rest))
    if keyword in ("accelerator", "deaccelerator"):
        name, vis, evo = _placed(keyword, rest)
        return Accelerator(name, vis, evo, "accelerator" if keyword == "accelerator" else "deaccelerator")
    if keyword == "annotation":
        return _annotation(rest)
    if keyword == "annotations":
        vis, evo = _numbers(rest.strip().strip("[]"), 2, "annotations position")
        return AnnotationsBox(_unit(vis, "annotations visibility"), _unit(evo, "annotations evolution"))
    if keyword in METHODS:
        if not rest:
            raise _LineError(f"expected '{keyword} NAME'")
        return Method(keyword, rest)
    if keyword in ATTITUDES:
        m = re.match(r"^\[([^\]]*)\](.*)$", rest)
        if not m:
            raise _LineError(f"expected '{keyword} [numbers]' (e.g. {keyword} [0.59, 0.43, 0.49, 0.63])")
        numbers = _numbers(m.group(1), None, keyword)
        tail = _numbers(",".join(m.group(2).split()), None, keyword) if m.group(2).strip() else ()
        if len(numbers) not in (2, 4):
            raise _LineError(f"{keyword} takes [v1, e1, v2, e2] or [v, e] width height")
        return Attitude(keyword, numbers, tail)
    if keyword == "url":
        m = _URL.match(rest)
        if not m:
            raise _LineError("expected 'url NAME [ADDRESS]'")
        return Url(m.group("name"), m.group("address").strip())
    if keyword == "style":
        if rest not in STYLES:
            warnings.append(
                f"line {lineno}: style '{rest}' is not one of {', '.join(STYLES)}; kept as written"
            )
        return Style(rest)
    if keyword == "size":
        width, height = _numbers(rest.strip().strip("[]"), 2, "size")
        return Size(width, height)
    if keyword == "evolution":
        labels = tuple(x.strip() for x in rest.split("->"))
        if not rest or not all(labels):
            raise _LineError("expected 'evolution Stage1->Stage2->Stage3->Stage4'")
        return Stages(labels)
    raise AssertionError(keyword)


def parse_report(text: str) -> ParseReport:
    """Read OWM text in one pass; every error and warning names its line."""
    statements: list[Statement] = []
    errors: list[Problem] = []
    warnings: list[str] = []
    lines = text.splitlines()
    in_comment = False
    pipeline: Pipeline | None = None
    pipeline_line = head_line = 0
    held: list[Statement] = []  # comments and unknown lines inside a pipeline block go after it
    expect_block = False
    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        if in_comment or line.startswith("/*"):
            (held if pipeline else statements).append(Comment(line))
            in_comment = "*/" not in line
            continue
        if not line:
            continue
        if line.startswith(("//", "#")):
            (held if pipeline else statements).append(Comment(line))
            continue
        last = statements[-1] if statements else None
        if expect_block and line == "{" and isinstance(last, Pipeline):
            statements.pop()
            pipeline, pipeline_line, expect_block = replace(last, block=True), head_line, False
            continue
        expect_block = False
        if pipeline is not None:
            if line == "}":
                statements.append(pipeline)
                statements.extend(held)
                pipeline, held = None, []
                continue
            try:
                pipeline = _pipeline_member(pipeline, line)
            except _LineError as exc:
                errors.append(Problem(lineno, exc.message))
            continue
        keyword, _, rest = line.partition(" ")
        rest = rest.strip()
        try:
            if keyword == "pipeline":
                opened = rest.endswith("{")
                statement: Statement = _pipeline_head(rest.removesuffix("{").strip())
                if opened:
                    pipeline, pipeline_line = replace(cast(Pipeline, statement), block=True), lineno
                    continue
                expect_block, head_line = True, lineno
            elif keyword in KEYWORDS and not (keyword in METHODS and _link(line)):
                statement = _statement(keyword, rest, line, warnings, lineno)
            elif (link := _link(line)) is not None:
                statement = link
            else:
                statement = Unknown(line, lineno)
                warnings.append(
                    f"line {lineno}: '{line}' is not an OWM statement triops knows; kept as written"
                )
        except _LineError as exc:
            errors.append(Problem(lineno, exc.message))
            continue
        statements.append(statement)
    if pipeline is not None:
        errors.append(Problem(pipeline_line, f"pipeline {pipeline.name}: '{{' is never closed with '}}'"))
    m = WardleyMap(tuple(statements))
    return ParseReport(m, tuple(errors), tuple(warnings + check_references(m)))


def _pipeline_head(rest: str) -> Pipeline:
    m = _COORDS.match(rest)
    if not m:
        if not rest:
            raise _LineError("expected 'pipeline NAME [start, end]' or 'pipeline NAME' and a { } block")
        return Pipeline(rest)
    if m.group("rest").strip():
        raise _LineError(f"unexpected text after pipeline: {m.group('rest').strip()!r}")
    start, end = _numbers(m.group("inner"), 2, "pipeline bounds")
    return Pipeline(m.group("name").strip(), _unit(start, "pipeline start"), _unit(end, "pipeline end"))


def _pipeline_member(p: Pipeline, line: str) -> Pipeline:
    keyword, _, rest = line.partition(" ")
    m = _COORDS.match(rest.strip())
    if keyword != "component" or not m or not m.group("name").strip():
        raise _LineError(f"inside pipeline {p.name}: expected 'component NAME [evolution]', got {line!r}")
    (evo,) = _numbers(m.group("inner"), 1, "pipeline component evolution")
    tail, label = m.group("rest").strip(), None
    if tail:
        lm = _LABEL.match(tail)
        if not lm or tail[lm.end() :].strip():
            raise _LineError(f"unexpected text after pipeline component: {tail!r}")
        label = (float(lm.group(1)), float(lm.group(2)))
    member = PipelineComponent(m.group("name").strip(), _unit(evo, "pipeline component evolution"), label)
    return replace(p, components=(*p.components, member), block=True)


def parse(text: str) -> WardleyMap:
    """Read OWM text; any errors raise one :class:`InvalidInputError` listing them all with their lines."""
    report = parse_report(text)
    if report.errors:
        count = len(report.errors)
        raise InvalidInputError(
            "; ".join(str(e) for e in report.errors),
            hint=f"{count} error{'s' if count > 1 else ''}; coordinates are [visibility, evolution] in 0..1",
        )
    return report.map
