"""The pure audit chain: canonical JSON, hashing and where verification says a tampered chain breaks."""

from __future__ import annotations

import hashlib
import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triops.domain.audit_chain import (
    GENESIS_HASH,
    AuditEvent,
    canonical_json,
    checkpoint_payload,
    event_body,
    seal_event,
    verify_events,
)
from triops.errors import InvalidInputError


def make_chain(n: int, payload: object = None) -> list[AuditEvent]:
    events: list[AuditEvent] = []
    prev = GENESIS_HASH
    for i in range(1, n + 1):
        event = seal_event(
            seq=i,
            at_ms=1_700_000_000_000 + i,
            actor="alice",
            action="model.stage",
            object_type="model_version",
            object_id=f"mv-{i}",
            project="benefits",
            before={"stage": "staging", "i": i},
            after=payload if payload is not None else {"stage": "production"},
            prev_hash=prev,
        )
        events.append(event)
        prev = event.hash
    return events


def rehash(event: AuditEvent, **changes: object) -> AuditEvent:
    """An attacker's edit: change fields and recompute the event's own hash."""
    e = event._replace(**changes)
    body = event_body(**{k: getattr(e, k) for k in e._fields if k != "hash"})
    return e._replace(hash=hashlib.sha256(body).hexdigest())


def test_canonical_json_sorts_keys_without_whitespace_in_utf8() -> None:
    assert (
        canonical_json({"b": 1, "a": {"d": [1, 2], "c": "é"}}) == '{"a":{"c":"é","d":[1,2]},"b":1}'.encode()
    )


def test_canonical_json_refuses_values_that_are_not_json() -> None:
    with pytest.raises(InvalidInputError, match="JSON"):
        canonical_json({"x": object()})
    with pytest.raises(InvalidInputError):
        canonical_json({1: "non-string key"})


def test_event_hash_is_sha256_of_canonical_event_including_seq_and_prev_hash() -> None:
    event = make_chain(1)[0]
    expected = {k: v for k, v in event.to_dict().items() if k != "hash"}
    text = json.dumps(expected, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(text.encode()).hexdigest() == event.hash
    assert event.prev_hash == GENESIS_HASH


def test_intact_chain_verifies() -> None:
    report = verify_events(make_chain(50))
    assert report.ok
    assert report.checked == 50
    assert report.last_seq == 50
    assert report.first_bad_seq is None


def test_empty_chain_verifies() -> None:
    assert verify_events([]).ok


def test_modified_event_reports_its_seq() -> None:
    events = make_chain(10)
    events[4] = events[4]._replace(actor="mallory")
    report = verify_events(events)
    assert report.first_bad_seq == 5
    assert report.problems[0].kind == "modified"


def test_modified_payload_reports_its_seq() -> None:
    events = make_chain(10)
    events[6] = events[6]._replace(after_json='{"stage":"archived"}')
    assert verify_events(events).first_bad_seq == 7


def test_modified_and_rehashed_event_breaks_the_next_link() -> None:
    events = make_chain(10)
    events[4] = rehash(events[4], actor="mallory")
    report = verify_events(events)
    assert report.first_bad_seq == 6
    assert report.problems[0].kind == "broken_link"


def test_deleted_event_reports_the_missing_seq() -> None:
    events = make_chain(10)
    del events[3]
    report = verify_events(events)
    assert report.first_bad_seq == 4
    assert report.problems[0].kind == "missing"


def test_inserted_event_with_renumbering_is_caught() -> None:
    events = make_chain(10)
    forged = rehash(events[2], seq=4, actor="mallory", prev_hash=events[2].hash)
    tail = [e._replace(seq=e.seq + 1) for e in events[3:]]
    report = verify_events([*events[:3], forged, *tail])
    # the forged event links correctly; the first original event after it no longer matches its hash
    assert report.first_bad_seq == 5


def test_inserted_event_without_renumbering_is_caught_where_it_sits() -> None:
    events = make_chain(10)
    forged = rehash(events[2], actor="mallory")
    report = verify_events([*events[:3], forged, *events[3:]])
    assert report.first_bad_seq == 3


def test_reordered_events_report_the_first_moved_seq() -> None:
    events = make_chain(10)
    a, b = events[3], events[4]
    events[3], events[4] = b._replace(seq=4), a._replace(seq=5)
    report = verify_events(events)
    assert report.first_bad_seq == 4


def test_swapped_lines_of_an_export_report_the_first_moved_seq() -> None:
    events = make_chain(10)
    events[3], events[4] = events[4], events[3]
    assert verify_events(events).first_bad_seq == 4


def test_truncated_tail_after_a_checkpoint_is_caught() -> None:
    events = make_chain(20)
    pins = {10: events[9].hash, 20: events[19].hash}
    report = verify_events(events[:15], checkpoints=pins)
    assert report.first_bad_seq == 16
    assert report.problems[0].kind == "truncated"


def test_truncated_tail_behind_the_head_is_caught() -> None:
    events = make_chain(20)
    assert verify_events(events[:18], head_seq=20).first_bad_seq == 19


def test_chain_rewritten_up_to_a_checkpoint_is_caught() -> None:
    events = make_chain(20)
    pins = {10: events[9].hash, 20: events[19].hash}
    forged = make_chain(20, payload={"stage": "forged"})
    report = verify_events(forged, checkpoints=pins)
    assert report.first_bad_seq == 1
    assert {p.kind for p in report.problems} == {"rewritten"}


def test_checkpoint_payload_is_canonical_and_covers_seq_and_hash() -> None:
    payload = checkpoint_payload(seq=10, event_hash="ab" * 32, at_ms=5)
    assert json.loads(payload) == {
        "kind": "triops.audit.checkpoint/v1",
        "seq": 10,
        "event_hash": "ab" * 32,
        "at_ms": 5,
    }
    assert payload != checkpoint_payload(seq=11, event_hash="ab" * 32, at_ms=5)


def test_event_round_trips_through_its_export_form() -> None:
    event = make_chain(3)[2]
    assert AuditEvent.from_dict(event.to_dict()) == event


def test_from_dict_names_the_missing_field() -> None:
    with pytest.raises(InvalidInputError, match="hash"):
        AuditEvent.from_dict({"seq": 1})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(payloads=st.lists(json_values, min_size=1, max_size=12), data=st.data())
def test_any_single_field_change_is_detected_at_or_after_its_seq(
    payloads: list[object], data: st.DataObject
) -> None:
    events: list[AuditEvent] = []
    prev = GENESIS_HASH
    for i, payload in enumerate(payloads, start=1):
        e = seal_event(
            seq=i,
            at_ms=i,
            actor="a",
            action="x",
            object_type="t",
            object_id=str(i),
            project=None,
            before=None,
            after={"v": payload},
            prev_hash=prev,
        )
        events.append(e)
        prev = e.hash
    assert verify_events(events).ok
    index = data.draw(st.integers(0, len(events) - 1))
    field_name = data.draw(
        st.sampled_from(["actor", "action", "object_id", "project", "at_ms", "after_json"])
    )
    new_value = {"at_ms": events[index].at_ms + 1, "project": "p", "after_json": '{"v":"tampered"}'}.get(
        field_name, "z"
    )
    if getattr(events[index], field_name) == new_value:
        return
    events[index] = events[index]._replace(**{field_name: new_value})
    assert verify_events(events).first_bad_seq == index + 1


@settings(max_examples=40, deadline=None)
@given(payload=json_values)
def test_canonical_json_is_stable_under_key_order(payload: object) -> None:
    if isinstance(payload, dict):
        reordered = dict(reversed(list(payload.items())))
        assert canonical_json(reordered) == canonical_json(payload)
    assert json.loads(canonical_json(payload)) == payload


def split_verify(events: list[AuditEvent], cuts: list[int]) -> int | None:
    from triops.domain.audit_chain import check_tail, merge_segments, verify_segment

    bounds = [0, *sorted(set(cuts)), len(events)]
    segments = [
        verify_segment(events[a:b], start_seq=None, start_prev=None) for a, b in itertools.pairwise(bounds)
    ]
    return check_tail(merge_segments(segments), {}, None).first_bad_seq


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_verifying_in_segments_finds_the_same_first_bad_seq(data: st.DataObject) -> None:
    events = make_chain(30)
    tamper = data.draw(st.sampled_from(["none", "modify", "delete", "rehash", "swap"]))
    i = data.draw(st.integers(0, 28))
    if tamper == "modify":
        events[i] = events[i]._replace(actor="mallory")
    elif tamper == "delete":
        del events[i]
    elif tamper == "rehash":
        events[i] = rehash(events[i], actor="mallory")
    elif tamper == "swap":
        events[i], events[i + 1] = events[i + 1]._replace(seq=i + 1), events[i]._replace(seq=i + 2)
    cuts = data.draw(st.lists(st.integers(1, len(events) - 1), max_size=4))
    assert split_verify(events, cuts) == verify_events(events).first_bad_seq


def test_deleting_a_whole_segment_is_reported_at_its_first_number() -> None:
    events = make_chain(30)
    assert split_verify([*events[:10], *events[20:]], [10]) == 11
