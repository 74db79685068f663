"""OWM parsing and writing (lossless round trip), errors with line numbers, SVG rendering."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triops.errors import InvalidInputError
from triops.strategy.wardley import (
    KEYWORDS,
    KIND_POSITIONS,
    Component,
    Evolve,
    Link,
    Note,
    Pipeline,
    WardleyMap,
    check_references,
    default_map,
    map_from_components,
    parse,
    write,
)
from triops.strategy.wardley_svg import render_svg

_alphabet = st.characters(whitelist_categories=("L", "N"), whitelist_characters=" _.'()&é")
names = (
    st.text(_alphabet, min_size=1, max_size=20)
    .map(str.strip)
    .filter(lambda s: bool(s) and s.split(" ")[0] not in KEYWORDS and not s.startswith("//"))
)
unit = st.floats(0.0, 1.0, allow_nan=False)
label = st.none() | st.tuples(st.floats(-500, 500), st.floats(-500, 500))
components = st.builds(Component, names, unit, unit, label)
maps = st.builds(
    WardleyMap,
    title=st.just("") | names,
    anchors=st.lists(components, max_size=3).map(tuple),
    components=st.lists(components, max_size=6).map(tuple),
    links=st.lists(st.builds(Link, names, names), max_size=5).map(tuple),
    evolves=st.lists(st.builds(Evolve, names, unit), max_size=3).map(tuple),
    pipelines=st.lists(st.builds(Pipeline, names, unit, unit), max_size=2).map(tuple),
    notes=st.lists(st.builds(Note, names, unit, unit), max_size=2).map(tuple),
)


@given(maps)
def test_round_trip_is_lossless(m: WardleyMap) -> None:
    text = write(m)
    assert parse(text) == m
    assert write(parse(text)) == text


def test_parses_every_statement_and_ignores_comments() -> None:
    text = """
// a comment
title Benefits service
anchor Claimant [0.95, 0.63]
component Eligibility model [0.5, 0.4] label [-20, 5.5]
Claimant->Eligibility model
evolve Eligibility model 0.8
pipeline Eligibility model [0.3, 0.75]
note Buy, don't build [0.2, 0.9]
"""
    m = parse(text)
    assert m.title == "Benefits service"
    assert m.anchors == (Component("Claimant", 0.95, 0.63),)
    assert m.components == (Component("Eligibility model", 0.5, 0.4, (-20.0, 5.5)),)
    assert m.links == (Link("Claimant", "Eligibility model"),)
    assert m.evolves == (Evolve("Eligibility model", 0.8),)
    assert m.pipelines == (Pipeline("Eligibility model", 0.3, 0.75),)
    assert m.notes == (Note("Buy, don't build", 0.2, 0.9),)
    assert check_references(m) == []


def test_unknown_keyword_names_the_line() -> None:
    with pytest.raises(InvalidInputError, match="line 3: unknown keyword 'componet'"):
        parse("title x\n\ncomponet A [0.1, 0.2]\n")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("component A [1.2, 0.5]", "line 2: component visibility 1.2 is outside"),
        ("anchor A [0.5, -0.1]", "line 2: anchor evolution -0.1 is outside"),
        ("evolve A 3", "line 2: evolve evolution 3 is outside"),
        ("pipeline A [0.1, 1.5]", "line 2: pipeline end 1.5 is outside"),
        ("note N [2, 0]", "line 2: note visibility 2 is outside"),
    ],
)
def test_value_outside_unit_interval_names_the_line(line: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message.replace("[", r"\[")):
        parse("title x\n" + line + "\n")


@pytest.mark.parametrize(
    "line",
    [
        "component A",
        "component [0.1, 0.2]",
        "component A [0.1, 0.2] inertia",
        "evolve A",
        "->B",
        "A->",
        "A->B->C",
    ],
)
def test_malformed_lines_name_the_line(line: str) -> None:
    with pytest.raises(InvalidInputError, match="line 1:"):
        parse(line)


def test_dangling_references_are_reported() -> None:
    m = parse("component A [0.5, 0.5]\nA->B\nevolve C 0.9\n")
    assert len(check_references(m)) == 2


def test_default_map_is_the_ai_operations_value_chain() -> None:
    m = default_map()
    chain = ["Citizen need", "Public service", "Model", "Pipeline", "Data", "Compute"]
    for upper, lower in pairwise(chain):
        assert Link(upper, lower) in m.links
    assert check_references(m) == []
    assert parse(write(m)) == m


def test_map_from_store_components_links_each_kind_to_the_next() -> None:
    m = map_from_components(
        [
            ("Residents", "need"),
            ("Repairs triage", "service"),
            ("triage-v3", "model"),
            ("nightly", "pipeline"),
            ("repairs-2024", "dataset"),
            ("repairs-2025", "dataset"),
            ("laptop", "compute"),
        ]
    )
    assert [a.name for a in m.anchors] == ["Residents"]
    assert Link("nightly", "repairs-2024") in m.links
    assert Link("repairs-2025", "laptop") in m.links
    assert check_references(m) == []
    assert parse(write(m)) == m
    assert set(KIND_POSITIONS) >= {"need", "service", "model", "pipeline", "dataset", "compute"}


def test_map_from_components_refuses_unknown_kind_and_unwritable_names() -> None:
    with pytest.raises(InvalidInputError, match="unknown component kind 'robot'"):
        map_from_components([("x", "robot")])
    with pytest.raises(InvalidInputError, match="cannot be written to OWM"):
        map_from_components([("a->b", "model")])


def test_svg_has_axes_stages_and_every_component() -> None:
    m = default_map()
    svg = render_svg(m)
    root = ET.fromstring(svg)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    for stage in (
        "Genesis",
        "Custom-Built",
        "Product (+rental)",
        "Commodity (+utility)",
        "Value Chain",
        "Evolution",
    ):
        assert stage in texts
    for c in (*m.anchors, *m.components):
        assert c.name in texts


def test_svg_escapes_text() -> None:
    svg = render_svg(parse('title <script>&\ncomponent A<b> "q" [0.5, 0.5]\n'))
    ET.fromstring(svg)
    assert "<script>" not in svg
