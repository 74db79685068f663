"""The hot path's plain-dict RunEvents equal, key for key, what openlineage-python's classes and ``Serde``
give for the same arguments (the reference is the official client, not our own table); the lines the sink
writes parse to that document and are valid against the spec."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openlineage.client.serde import Serde

from triops.dataops.checks import check
from triops.dataops.contracts import parse_contract
from triops.dataops.openlineage import LineageDataset, ParentJob, run_event
from triops.dataops.openlineage_events import JsonLinesSink, event_document
from triops.dataops.openlineage_spec import validate_lines
from triops.dataops.profile import profile
from triops.errors import ConfigError, InvalidInputError

from .helpers import PEOPLE, good_people

NOW = datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=UTC)
RUN = str(uuid.uuid4())
PARENT = ParentJob(str(uuid.uuid4()), "triops/benefits", "train")


def _checked() -> tuple[LineageDataset, LineageDataset]:
    df = good_people()
    report = check(parse_contract(PEOPLE), df)
    fields = tuple((c, str(t)) for c, t in df.schema.items())
    raw = LineageDataset.from_uri(
        "file:///data/people.csv", fields=fields, report=report, profile=profile(df)
    )
    out = LineageDataset.from_uri("memory://features", fields=fields, report=report, size_bytes=120)
    return raw, out


PLAIN = LineageDataset("triops/benefits", "prep.output@222222222222")
TYPED = LineageDataset("triops/benefits", "raw@111111111111", fields=(("age", "Int64"), ("state", "String")))


@pytest.mark.parametrize("event_type", ["START", "COMPLETE", "FAIL"])
@pytest.mark.parametrize("job_type", [None, "STEP", "PIPELINE"])
@pytest.mark.parametrize("error", [None, "ZeroDivisionError: division by zero", "naïve — ünïcode"])
@pytest.mark.parametrize("parent", [None, PARENT])
def test_the_document_equals_the_clients_event(
    event_type: str, job_type: str | None, error: str | None, parent: ParentJob | None
) -> None:
    raw, out = _checked()
    kw: dict[str, Any] = {
        "run_id": RUN,
        "job_name": "train.prep",
        "job_namespace": "triops/benefits",
        "event_time": NOW,
        "inputs": [TYPED, PLAIN, raw],
        "outputs": [PLAIN, TYPED, out],
        "error": error,
        "parent": parent,
        "job_type": job_type,
    }
    assert event_document(event_type, **kw) == Serde.to_dict(run_event(event_type, **kw))


names = st.text(min_size=1, max_size=20)


@settings(max_examples=60, deadline=None)
@given(
    job=names,
    namespace=names,
    fields=st.lists(st.tuples(names, names), max_size=4),
    offset=st.integers(-12 * 60, 14 * 60),
)
def test_any_names_fields_and_offsets_give_the_clients_event(
    job: str, namespace: str, fields: list[tuple[str, str]], offset: int
) -> None:
    when = NOW.astimezone(timezone(timedelta(minutes=offset)))
    ds = LineageDataset(namespace, job, fields=tuple(fields))
    kw: dict[str, Any] = {"run_id": RUN, "job_name": job, "job_namespace": namespace, "event_time": when}
    kw |= {"inputs": [ds], "outputs": [ds], "parent": ParentJob(RUN, namespace, job), "job_type": "STEP"}
    assert event_document("COMPLETE", **kw) == Serde.to_dict(run_event("COMPLETE", **kw))


def test_the_sink_appends_lines_that_parse_to_the_document_and_meet_the_spec(tmp_path: Path) -> None:
    raw, out = _checked()
    target = tmp_path / "deep" / "ol.jsonl"
    sink = JsonLinesSink(target)
    documents = [
        event_document("START", run_id=RUN, job_name="train", event_time=NOW, job_type="PIPELINE"),
        event_document(
            "COMPLETE",
            run_id=RUN,
            job_name="train",
            event_time=NOW,
            inputs=[raw, TYPED],
            outputs=[out, PLAIN],
        ),
    ]
    for document in documents:
        sink.write(document)
    sink.close()
    sink.write(documents[0])  # reopened, appended
    sink.close()
    lines = target.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [*documents, documents[0]]
    assert validate_lines(target) == []


def test_a_directory_target_and_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        JsonLinesSink(tmp_path).write({"eventType": "START"})
    with pytest.raises(InvalidInputError, match="not one of"):
        event_document("DONE", run_id=RUN, job_name="j", event_time=NOW)
    with pytest.raises(InvalidInputError, match="timezone-aware"):
        event_document("START", run_id=RUN, job_name="j", event_time=datetime(2026, 1, 1))
    with pytest.raises(InvalidInputError, match="UUID"):
        event_document("START", run_id="not-a-uuid", job_name="j", event_time=NOW)
    assert not os.listdir(tmp_path)
