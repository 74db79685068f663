"""OWM maps: the documented language (Tea Shop and a dozen maps round-trip), unknown lines kept, every error
in one pass, rendering that warns about what it cannot draw, and the map of the store's records."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triops.errors import InvalidInputError
from triops.strategy.maturity import StoreEvidence
from triops.strategy.wardley import (
    KIND_POSITIONS,
    Accelerator,
    Annotation,
    AnnotationsBox,
    Attitude,
    Comment,
    Component,
    Evolve,
    Link,
    Method,
    Note,
    Pipeline,
    PipelineComponent,
    Size,
    Stages,
    Style,
    Title,
    Unknown,
    Url,
    WardleyMap,
    check_references,
    default_map,
    map_from_components,
    write,
)
from triops.strategy.wardley_parse import KEYWORDS, parse, parse_report
from triops.strategy.wardley_store import ModelRecord, StoreInventory, map_from_store
from triops.strategy.wardley_svg import render, render_svg

OWM = Path(__file__).parent / "owm"
MAPS = sorted(OWM.glob("*.owm"))


def test_there_is_the_tea_shop_and_a_dozen_maps() -> None:
    assert (OWM / "tea-shop.owm") in MAPS
    assert len(MAPS) >= 13


@pytest.mark.parametrize("path", MAPS, ids=lambda p: p.stem)
def test_documented_maps_parse_without_errors_and_round_trip(path: Path) -> None:
    report = parse_report(path.read_text())
    assert report.errors == ()
    assert not any("kept as written" in w or "unknown component" in w for w in report.warnings), (
        report.warnings
    )
    text = write(report.map)
    assert parse(text) == report.map
    assert write(parse(text)) == text


def test_tea_shop_evolve_with_label_annotations_and_style() -> None:
    m = parse((OWM / "tea-shop.owm").read_text())
    assert m.title == "Tea Shop" and m.style == "wardley"
    assert Evolve("Kettle", 0.62, label=(16.0, 5.0)) in m.evolves
    assert [a.name for a in m.anchors] == ["Business", "Public"]
    annotations = [s for s in m.statements if isinstance(s, Annotation)]
    assert annotations[0] == Annotation(
        1, ((0.43, 0.49), (0.08, 0.79)), "Standardising power allows Kettles to evolve faster"
    )
    assert annotations[1].positions == ((0.48, 0.85),) and not annotations[1].nested
    assert AnnotationsBox(0.6, 0.02) in m.statements
    assert Note("+a generic note appeared", 0.23, 0.33) in m.notes
    assert check_references(m) == []


def test_components_carry_decorators_inertia_and_methods() -> None:
    m = parse((OWM / "inertia-and-methods.owm").read_text())
    rules = next(c for c in m.components if c.name == "Eligibility rules engine")
    assert (rules.method, rules.inertia) == ("build", True)
    legacy = next(c for c in m.components if c.name == "Legacy case system")
    assert legacy.inertia and legacy.decorators == ()
    assert Method("outsource", "Payments") in m.statements


def test_markets_ecosystems_submaps_and_urls() -> None:
    m = parse((OWM / "markets-and-ecosystems.owm").read_text())
    kinds = {c.name: (c.kind, c.decorators) for c in m.components}
    assert kinds["Card schemes"] == ("market", ())
    assert kinds["Developer community"] == ("ecosystem", ())
    assert kinds["Payment providers"] == ("component", ("market", "buy"))
    assert Evolve("Payment providers", 0.75, decorators=("market", "buy")) in m.evolves
    s = parse((OWM / "submaps-and-urls.owm").read_text())
    site = next(c for c in s.components if c.name == "Website")
    assert (site.kind, site.url) == ("submap", "siteMap")
    assert Url("siteMap", "https://example.org/maps/website") in s.statements


def test_pipelines_in_both_forms() -> None:
    m = parse((OWM / "pipelines.owm").read_text())
    kettle, power, heat = m.pipelines
    assert kettle == Pipeline(
        "Kettle",
        components=(
            PipelineComponent("Campfire Kettle", 0.5),
            PipelineComponent("Electric Kettle", 0.63, (-10.0, 15.0)),
        ),
        block=True,
    )
    assert power == Pipeline("Power", 0.15, 0.9)
    assert heat.block and len(heat.components) == 2
    assert "Electric Kettle" in m.names()  # a pipeline member may be linked


def test_links_flows_and_context() -> None:
    links = parse((OWM / "flows.owm").read_text()).links
    assert Link("Hot Water", "Kettle", "+>", "$0.10", "limited by") in links
    assert Link("Customer", "Cup of Tea", "+<>") in links
    assert Link("Kettle", "Supplier", "+<") in links
    assert Link("Cup of Tea", "Customer", "+<", "data") in links
    assert Link("Hot Water", "Supplier", "+<>", "both ways") in links


def test_evolve_renames_and_inline_evolve() -> None:
    m = parse((OWM / "evolution.owm").read_text())
    assert Evolve("Campfire Kettle", 0.62, "Electric Kettle", None, ("buy",)) in m.evolves
    assert next(c for c in m.components if c.name == "Database").evolve_to == 0.8
    assert {"Electric Kettle", "Virtual Space"} <= m.names()


def test_styles_sizes_stages_accelerators_and_attitudes() -> None:
    m = parse((OWM / "styles-size-stages.owm").read_text())
    assert Style("handwritten") in m.statements and Size(1100, 800) in m.statements
    assert Stages(("Unmodelled", "Divergent", "Convergent", "Modelled")) in m.statements
    a = parse((OWM / "accelerators-and-attitudes.owm").read_text())
    assert Accelerator("Legacy contracts", 0.8, 0.2, "deaccelerator") in a.statements
    assert Attitude("pioneers", (0.95, 0.83), (120.0, 30.0)) in a.statements


def test_comments_are_kept_as_written() -> None:
    m = parse((OWM / "comments.owm").read_text())
    comments = [s.text for s in m.statements if isinstance(s, Comment)]
    assert comments[0] == "// A map with every kind of comment" and "   over two lines */".strip() in comments
    assert write(m).startswith("// A map with every kind of comment\n# a hash comment")


def test_unknown_lines_are_kept_verbatim_with_a_warning() -> None:
    text = "title T\ncomponent A [0.5, 0.5] (build) sparkle\nwibble wobble 42\ncomponent B [0.4, 0.4]\n"
    report = parse_report(text)
    assert report.ok
    assert Unknown("wibble wobble 42") in report.map.statements
    assert next(c for c in report.map.components if c.name == "A").extra == "sparkle"
    assert any("line 3" in w and "kept as written" in w for w in report.warnings)
    assert any("line 2" in w and "'sparkle'" in w for w in report.warnings)
    assert write(report.map) == text


def test_every_error_is_reported_in_one_pass() -> None:
    text = (
        "title T\n"
        "component A [0.5, 7]\n"  # line 2
        "component B [0.5, x]\n"  # line 3
        "component C [0.4, 0.4] (rent)\n"  # line 4
        "evolve A\n"  # line 5
        "pipeline P\n{\n  notacomponent\n"  # lines 6-8, never closed
    )
    report = parse_report(text)
    lines = [e.line for e in report.errors]
    assert lines == [2, 3, 4, 5, 8, 6]
    assert "component evolution 7 is outside [0, 1]" in report.errors[0].message
    assert "unknown decorator 'rent'" in report.errors[2].message
    assert "never closed" in report.errors[-1].message
    with pytest.raises(InvalidInputError) as err:
        parse(text)
    assert (
        "line 2:" in str(err.value) and "line 5:" in str(err.value) and "6 errors" in (err.value.hint or "")
    )


def test_references_to_unknown_components_are_warnings() -> None:
    m = parse(
        "component A [0.5, 0.5]\nA->Nowhere\nevolve Ghost 0.8\nbuy Phantom\nsubmap S [0.3, 0.3] url(x)\ncomponent A [0.1, 0.1]\n"
    )
    warnings = check_references(m)
    assert any("unknown component 'Nowhere'" in w for w in warnings)
    assert any("evolve names unknown component 'Ghost'" in w for w in warnings)
    assert any("buy names unknown component 'Phantom'" in w for w in warnings)
    assert any("url(x)" in w for w in warnings)
    assert any("'A' is defined more than once" in w for w in warnings)


# ---- rendering --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", MAPS, ids=lambda p: p.stem)
def test_every_documented_map_renders_to_valid_svg(path: Path) -> None:
    rendered = render(parse(path.read_text()))
    root = ET.fromstring(rendered.svg)
    assert root.tag.endswith("svg")


def test_render_never_drops_a_link_silently() -> None:
    rendered = render(parse("component A [0.5, 0.5]\nA->Nowhere\n"))
    assert any("link A->Nowhere not drawn: 'Nowhere' is not on the map" in w for w in rendered.warnings)


def test_render_warns_about_what_it_cannot_draw() -> None:
    text = (OWM / "positions-omitted.owm").read_text() + "style handwritten\nsomething else\nevolution A->B\n"
    warnings = render(parse(text)).warnings
    assert any("'Database' has no coordinates" in w for w in warnings)
    assert any("Server->Database not drawn" in w for w in warnings)
    assert any("style 'handwritten' is drawn in the plain style" in w for w in warnings)
    assert any("'something else' is kept in the map but not drawn" in w for w in warnings)
    assert any("evolution has 2 stages" in w for w in warnings)


def test_render_draws_the_documented_elements() -> None:
    svg = render_svg(parse((OWM / "public-sector-ai.owm").read_text()))
    root = ET.fromstring(svg)
    classes = {el.get("class") for el in root.iter() if el.get("class")}
    for cls in (
        "component",
        "market",
        "inertia",
        "method build",
        "method buy",
        "method outsource",
        "pipeline",
        "pipeline-component",
        "evolve",
        "link",
        "annotation",
        "annotations",
        "accelerator",
        "note",
    ):
        assert cls in classes, cls
    assert "Eligibility triage service (a public body)" in svg
    assert "<script" not in svg


def test_text_is_escaped() -> None:
    svg = render_svg(parse('title <b>&"x"</b>\ncomponent A<script> [0.5, 0.5]\n'))
    ET.fromstring(svg)
    assert "<script>" not in svg and "&lt;script&gt;" in svg


# ---- round trip of any map --------------------------------------------------------------------------------

_alphabet = st.characters(whitelist_categories=("L", "N"), whitelist_characters=" _.'()&é")
names = (
    st.text(_alphabet, min_size=1, max_size=16)
    .map(lambda s: " ".join(s.split()))
    .filter(lambda s: bool(s) and s.split(" ")[0] not in KEYWORDS and not s.endswith(")") and "(" not in s)
)
unit = st.floats(0.0, 1.0, allow_nan=False)
offset = st.tuples(st.floats(-500, 500, allow_nan=False), st.floats(-500, 500, allow_nan=False))
decos = st.lists(
    st.sampled_from(["market", "ecosystem", "build", "buy", "outsource"]), max_size=2, unique=True
).map(tuple)
components = st.builds(
    Component,
    names,
    unit,
    unit,
    st.none() | offset,
    st.sampled_from(["anchor", "component", "market", "ecosystem"]),
    decos,
    st.booleans(),
    st.none() | unit,
)
statements = st.one_of(
    components,
    st.builds(Link, names, names, st.sampled_from(["", "+>", "+<", "+<>"]), st.none()),
    st.builds(Evolve, names, unit, st.none() | names, st.none() | offset, decos),
    st.builds(Pipeline, names, unit, unit),
    st.builds(Note, names, unit, unit),
    st.builds(
        Annotation,
        st.integers(1, 20),
        st.lists(st.tuples(unit, unit), min_size=2, max_size=3).map(tuple),
        names,
    ),
    st.builds(Method, st.sampled_from(["build", "buy", "outsource"]), names),
    st.builds(Title, names),
    st.builds(Accelerator, names, unit, unit, st.sampled_from(["accelerator", "deaccelerator"])),
)


@given(st.lists(statements, max_size=12))
def test_round_trip_is_lossless_for_any_map(items: list[object]) -> None:
    m = WardleyMap(tuple(items))  # type: ignore[arg-type]
    text = write(m)
    assert parse(text) == m
    assert write(parse(text)) == text


# ---- maps built by triops ---------------------------------------------------------------------------------


def test_default_map_round_trips_and_links_known_components() -> None:
    m = default_map()
    assert parse(write(m)) == m
    assert check_references(m) == []


def test_map_from_components_links_each_kind_to_the_next() -> None:
    m = map_from_components(
        [("Need", "need"), ("Svc", "service"), ("M1", "model"), ("M2", "model"), ("Data", "dataset")]
    )
    assert [a.name for a in m.anchors] == ["Need"]
    assert Link("Svc", "M1") in m.links and Link("M2", "Data") in m.links
    assert set(KIND_POSITIONS) >= {"need", "service", "model", "dataset"}
    with pytest.raises(InvalidInputError, match="cannot be written to OWM"):
        map_from_components([("a->b", "model")])
    with pytest.raises(InvalidInputError, match="unknown component kind"):
        map_from_components([("x", "rocket")])


def test_map_from_store_shows_what_the_records_hold_and_names_what_is_missing() -> None:
    inventory = StoreInventory(
        projects=("benefits",),
        models=(ModelRecord("eligibility", "benefits", "production", True, True, True, "training"),),
        pipelines=(("training", "benefits"),),
        datasets=(("claims", "benefits", True),),
        executors=("local",),
        as_of="2025-06-01",
    )
    evidence = StoreEvidence(
        runs_tracked=3, model_versions=1, pipeline_runs_gated=2, costs_metered=5, audit_events=4
    )
    m = map_from_store(inventory, evidence)
    assert parse(write(m)) == m
    assert check_references(m) == []
    by_name = {c.name: c for c in m.components}
    model = by_name["eligibility (model)"]
    assert model.method == "build" and model.evolution == 0.38
    assert by_name["claims (data)"].evolution > 0.5  # a contract standardises it
    assert by_name["Cost metering"].method == "buy"
    assert Link("benefits (service)", "eligibility (model)") in m.links
    assert Link("eligibility (model)", "training (pipeline)") in m.links
    missing = next(n.text for n in m.notes if n.text.startswith("Not in the records"))
    assert "budgets" in missing and "policy gates" in missing and "experiment tracking" not in missing
    assert render(m).warnings == ()


def test_map_from_store_positions_are_written_rounded() -> None:
    inventory = StoreInventory(
        projects=("a", "b"),
        models=tuple(ModelRecord(f"m{i}", "a", "development") for i in range(3)),
        pipelines=tuple((f"p{i}", "a") for i in range(3)),
        datasets=tuple((f"d{i}", "a", False) for i in range(3)),
    )
    numbers = re.findall(r"\[([^\]]*)\]", write(map_from_store(inventory, StoreEvidence())))
    assert numbers and all(len(x.strip().split(".")[-1]) <= 2 for n in numbers for x in n.split(","))


def test_map_from_an_empty_store_is_the_need_and_a_note() -> None:
    m = map_from_store(StoreInventory(), StoreEvidence())
    assert [c.name for c in m.anchors] == ["Public need"] and m.components == ()
    assert m.notes and "Not in the records" in m.notes[0].text


def test_store_names_that_owm_cannot_hold_are_cleaned_not_dropped() -> None:
    inventory = StoreInventory(
        projects=("a->b [x]",), models=(ModelRecord("m;1", "a->b [x]", "development"),)
    )
    m = map_from_store(inventory, StoreEvidence())
    assert parse(write(m)) == m
    assert {c.name for c in m.components} == {"a-b (x) (service)", "m,1 (model)"}
