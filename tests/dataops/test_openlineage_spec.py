"""The OpenLineage spec documents rebuilt from openlineage-python's generated model, and validation with them."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from triops.dataops.openlineage import PRODUCER, event_dict
from triops.dataops.openlineage_spec import (
    core_schema_url,
    documents_from_directory,
    spec_documents,
    validate_event,
    validate_lines,
)
from triops.errors import InvalidInputError

from .test_openlineage import _events

Event = dict[str, Any]
CORE = "https://openlineage.io/spec/2-0-2/OpenLineage.json"


def _complete() -> Event:
    return event_dict(_events()[1])


def _fail() -> Event:
    return event_dict(_events()[2])


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_the_core_is_the_2_0_2_spec() -> None:
    assert core_schema_url() == CORE + "#/$defs/RunEvent"
    core = spec_documents()[CORE]["$defs"]
    assert core["RunEvent"]["required"] == ["eventTime", "producer", "schemaURL", "run", "job"]
    assert core["Run"]["required"] == ["runId"]
    assert core["Job"]["required"] == ["namespace", "name"]
    assert core["BaseFacet"]["required"] == ["_producer", "_schemaURL"]
    assert core["EventType"]["enum"] == ["START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"]


def test_every_reference_in_the_documents_resolves() -> None:
    documents = spec_documents()
    refs = set(_refs(documents))
    assert len(refs) > 50
    for ref in refs:
        document, pointer = ref.split("#/$defs/")
        assert pointer in documents[document]["$defs"], ref


def test_facet_documents_sit_at_their_published_urls() -> None:
    documents = spec_documents()
    for url in (
        "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json",
        "https://openlineage.io/spec/facets/1-0-3/DataQualityMetricsInputDatasetFacet.json",
    ):
        assert url in documents
    metrics = documents["https://openlineage.io/spec/facets/1-0-3/DataQualityMetricsInputDatasetFacet.json"]
    assert set(metrics["$defs"]) == {"DataQualityMetricsInputDatasetFacet", "ColumnMetrics"}
    assert "columnMetrics" in metrics["$defs"]["DataQualityMetricsInputDatasetFacet"]["required"]


def test_the_events_we_emit_conform() -> None:
    for event in _events():
        assert validate_event(event_dict(event)) == []


def test_our_facets_name_triops_as_their_producer() -> None:
    facets = _complete()["inputs"][0]["inputFacets"]
    assert {f["_producer"] for f in facets.values()} == {PRODUCER}


def _set(path: str, value: Any) -> Callable[[Event], None]:
    def change(event: Event) -> None:
        *parents, last = path.split(".")
        node: Any = event
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        if value is _DELETE:
            del node[last]
        else:
            node[int(last) if last.isdigit() else last] = value

    return change


_DELETE = object()

BROKEN: list[tuple[str, Callable[[], Event], Callable[[Event], None], str, str]] = [
    ("no run id", _complete, _set("run.runId", _DELETE), "$.run", "'runId' is a required property"),
    ("run id not a UUID", _complete, _set("run.runId", "run-42"), "$.run.runId", "run-42"),
    ("unknown event type", _complete, _set("eventType", "DONE"), "$.eventType", "is not one of"),
    ("a date without a time", _complete, _set("eventTime", "2026-03-01"), "$.eventTime", "for date-time"),
    (
        "a time without an offset",
        _complete,
        _set("eventTime", "2026-03-01T10:00:00"),
        "$.eventTime",
        "for date-time",
    ),
    (
        "a schema URL that is not a URI",
        _complete,
        _set("inputs.0.facets.schema._schemaURL", "not a uri"),
        "$.inputs[0].facets.schema._schemaURL",
        "for uri",
    ),
    ("no producer", _complete, _set("producer", _DELETE), "$", "'producer' is a required property"),
    ("job as a string", _complete, _set("job", "benefits"), "$.job", "is not of type 'object'"),
    ("dataset without a name", _complete, _set("inputs.0.name", _DELETE), "$.inputs[0]", "'name'"),
    (
        "row count as text",
        _complete,
        _set("inputs.0.inputFacets.dataQualityMetrics.rowCount", "four"),
        "$.inputs[0].inputFacets.dataQualityMetrics.rowCount",
        "is not of type 'integer'",
    ),
    (
        "assertion success as text",
        _complete,
        _set("inputs.0.inputFacets.dataQualityAssertions.assertions.0.success", "yes"),
        "$.inputs[0].inputFacets.dataQualityAssertions.assertions[0].success",
        "is not of type 'boolean'",
    ),
    (
        "schema facet without its schema URL",
        _complete,
        _set("inputs.0.facets.schema._schemaURL", _DELETE),
        "$.inputs[0].facets.schema",
        "'_schemaURL' is a required property",
    ),
    (
        "error facet without the language",
        _fail,
        _set("run.facets.errorMessage.programmingLanguage", _DELETE),
        "$.run.facets.errorMessage",
        "'programmingLanguage' is a required property",
    ),
]


@pytest.mark.parametrize(
    ("make", "change", "path", "says"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN]
)
def test_each_departure_from_the_spec_is_reported_where_it_is(
    make: Callable[[], Event], change: Callable[[Event], None], path: str, says: str
) -> None:
    event = make()
    change(event)
    problems = validate_event(event)
    assert [p for p in problems if p.path == path and says in p.message], problems


def test_custom_facets_are_checked_as_plain_facets() -> None:
    event = _complete()
    custom = {"_producer": PRODUCER, "_schemaURL": "https://example.org/TriopsCostFacet.json", "eur": 1.5}
    event["run"]["facets"]["triops_cost"] = custom
    assert validate_event(event) == []
    del event["run"]["facets"]["triops_cost"]["_producer"]
    assert [str(p) for p in validate_event(event)] == [
        "$.run.facets.triops_cost: '_producer' is a required property"
    ]


def test_spec_files_in_a_directory_are_used_as_given(tmp_path: Path) -> None:
    for number, document in enumerate(spec_documents().values()):
        (tmp_path / f"{number}.json").write_text(json.dumps(document))
    assert set(documents_from_directory(tmp_path)) == set(spec_documents())
    good = _complete()
    bad = copy.deepcopy(good)
    bad["eventType"] = "DONE"
    assert validate_event(good, spec_directory=tmp_path) == []
    assert [p.path for p in validate_event(bad, spec_directory=tmp_path)] == ["$.eventType"]


def test_validate_lines_names_the_line_of_each_problem(tmp_path: Path) -> None:
    bad = _complete()
    del bad["run"]["runId"]
    path = tmp_path / "events.jsonl"
    lines = [json.dumps(_complete()), "", "{not json", "[1, 2]", json.dumps(bad)]
    path.write_text("\n".join(lines) + "\n")
    problems = [(n, p.path, p.message) for n, p in validate_lines(path)]
    assert [n for n, *_ in problems] == [3, 4, 5]
    assert problems[0][2].startswith("not JSON")
    assert problems[1][2] == "expected a JSON object, found list"
    assert problems[2][1:] == ("$.run", "'runId' is a required property")


def test_validate_lines_refuses_missing_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="no events file"):
        validate_lines(tmp_path / "absent.jsonl")
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes('{"eventTime": "Zürich"}'.encode("latin-1"))
    with pytest.raises(InvalidInputError, match="not UTF-8"):
        validate_lines(latin)


OFFICIAL = Path(__file__).resolve().parents[3] / "shared" / "specs" / "openlineage-2-0-2"


def _official_validator(ref: str = CORE + "#/$defs/RunEvent") -> Any:
    import jsonschema
    from referencing import Registry, Resource

    documents = [json.loads(p.read_text()) for p in sorted(OFFICIAL.rglob("*.json"))]
    registry: Registry[Any] = Registry().with_resources(
        (d["$id"], Resource.from_contents(d)) for d in documents
    )
    return jsonschema.Draft202012Validator(
        {"$ref": ref}, registry=registry, format_checker=jsonschema.FormatChecker()
    )


def _facets(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if "_schemaURL" in node and "_producer" in node:
            yield node
        for value in node.values():
            yield from _facets(value)
    elif isinstance(node, list):
        for item in node:
            yield from _facets(item)


def _official_errors(event: Event) -> list[Any]:
    """As OpenLineage validates: the event against the core document, each facet against the document its
    _schemaURL names."""
    errors = list(_official_validator().iter_errors(event))
    for facet in _facets(event):
        url = str(facet["_schemaURL"])
        if url.split("#", 1)[0].endswith(".json") and "/facets/" in url:
            errors += list(_official_validator(url).iter_errors(facet))
    return errors


@pytest.mark.skipif(
    not OFFICIAL.is_dir(), reason=f"the official OpenLineage 2-0-2 files are not at {OFFICIAL}"
)
def test_the_events_we_emit_conform_to_the_official_files() -> None:
    for event in _events():
        assert _official_errors(event_dict(event)) == []


@pytest.mark.skipif(
    not OFFICIAL.is_dir(), reason=f"the official OpenLineage 2-0-2 files are not at {OFFICIAL}"
)
@pytest.mark.parametrize(("make", "change"), [b[1:3] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_planted_errors_are_rejected_by_the_official_files_and_by_ours(
    make: Callable[[], Event], change: Callable[[Event], None]
) -> None:
    event = make()
    change(event)
    assert _official_errors(event), "the official schema accepts it"
    assert validate_event(event), "our validator accepts it"
    assert validate_event(event, spec_directory=OFFICIAL), "the official files through --spec-dir accept it"


def test_spec_dir_accepts_the_official_spec_folder_as_it_is(tmp_path: Path) -> None:
    """The spec/ folder of the OpenLineage repository also holds registry/…/registry.json and test events,
    which are JSON but not schemas."""
    for number, document in enumerate(spec_documents().values()):
        (tmp_path / f"{number}.json").write_text(json.dumps(document))
    registry = tmp_path / "registry" / "core"
    registry.mkdir(parents=True)
    (registry / "registry.json").write_text(json.dumps({"producers": {"airflow": {"root_doc_URL": "x"}}}))
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "event.json").write_text(json.dumps(_complete()))
    (tmp_path / "tests" / "broken.json").write_text("{not json")
    assert validate_event(_complete(), spec_directory=tmp_path) == []
    with pytest.raises(InvalidInputError, match=r"no OpenLineage\.json"):
        documents_from_directory(registry)
