"""The audit hash chain, as pure functions: canonical JSON, event hashes, checkpoint payloads, verification.

An audit event is hashed as SHA-256 over the canonical JSON of all its fields, including its sequence number
and the hash of the event before it (``prev_hash``; the first event links to ``GENESIS_HASH``). Canonical
JSON here means: object keys sorted, no whitespace, UTF-8 (non-ASCII kept as is), numbers in their shortest
round-trip form, non-finite floats as ``null`` (orjson with ``OPT_SORT_KEYS``). ``before``/``after`` payloads
are kept as canonical JSON text, so verification re-hashes stored bytes without re-encoding them.

Changing, deleting, inserting or reordering a stored event breaks the chain at a sequence number that
``verify_events`` reports; a signed checkpoint (see ``triops.governance.audit``) pins the hash at its
sequence number so a rewritten chain or a truncated tail is caught too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

from triops.errors import InvalidInputError

GENESIS_HASH = "0" * 64
CHECKPOINT_KIND = "triops.audit.checkpoint/v1"
MAX_PROBLEMS = 100

# The order of a stored event's columns; verification reads rows positionally in this order.
EVENT_COLUMNS = (
    "seq",
    "at_ms",
    "actor",
    "action",
    "object_type",
    "object_id",
    "project",
    "before_json",
    "after_json",
    "prev_hash",
    "hash",
)
EXPORT_FIELDS = (*EVENT_COLUMNS[:7], "before", "after", "prev_hash", "hash")


def canonical_json(value: Any) -> bytes:
    """Canonical JSON bytes: sorted keys, no whitespace, UTF-8."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError as exc:
        raise InvalidInputError(
            f"audit payload is not JSON-serialisable: {exc}",
            hint="use str keys and JSON values (str, int, float, bool, None, list, dict)",
        ) from exc


def canonical_text(value: Any) -> str:
    return canonical_json(value).decode("utf-8")


def event_body(
    *,
    seq: int,
    at_ms: int,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    project: str | None,
    before_json: str,
    after_json: str,
    prev_hash: str,
) -> bytes:
    """The canonical JSON of an event (without its own hash): the bytes that are hashed."""
    # Keys are written in sorted order; the payloads are already canonical text, embedded verbatim.
    return orjson.dumps(
        {
            "action": action,
            "actor": actor,
            "after": orjson.Fragment(after_json),
            "at_ms": at_ms,
            "before": orjson.Fragment(before_json),
            "object_id": object_id,
            "object_type": object_type,
            "prev_hash": prev_hash,
            "project": project,
            "seq": seq,
        }
    )


class AuditEvent(NamedTuple):
    """One stored audit event; a tuple in ``EVENT_COLUMNS`` order so rows and records verify alike."""

    seq: int
    at_ms: int
    actor: str
    action: str
    object_type: str
    object_id: str
    project: str | None
    before_json: str
    after_json: str
    prev_hash: str
    hash: str

    @property
    def before(self) -> Any:
        return orjson.loads(self.before_json)

    @property
    def after(self) -> Any:
        return orjson.loads(self.after_json)

    def to_dict(self) -> dict[str, Any]:
        """The event as plain JSON values (payloads decoded), e.g. for a JSON Lines export."""
        return {
            "seq": self.seq,
            "at_ms": self.at_ms,
            "actor": self.actor,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "project": self.project,
            "before": self.before,
            "after": self.after,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditEvent:
        """Inverse of ``to_dict``; payloads are re-encoded canonically."""
        try:
            return cls(
                seq=int(data["seq"]),
                at_ms=int(data["at_ms"]),
                actor=str(data["actor"]),
                action=str(data["action"]),
                object_type=str(data["object_type"]),
                object_id=str(data["object_id"]),
                project=None if data.get("project") is None else str(data["project"]),
                before_json=canonical_text(data.get("before")),
                after_json=canonical_text(data.get("after")),
                prev_hash=str(data["prev_hash"]),
                hash=str(data["hash"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"not an audit event: {exc!r}", hint=f"an event has the fields {', '.join(EXPORT_FIELDS)}"
            ) from exc


def seal_event(
    *,
    seq: int,
    at_ms: int,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    project: str | None,
    before: Any,
    after: Any,
    prev_hash: str,
) -> AuditEvent:
    """Build the next event of a chain: payloads made canonical, hash computed."""
    before_json = canonical_text(before)
    after_json = canonical_text(after)
    body = event_body(
        seq=seq,
        at_ms=at_ms,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        project=project,
        before_json=before_json,
        after_json=after_json,
        prev_hash=prev_hash,
    )
    digest = hashlib.sha256(body).hexdigest()
    return AuditEvent(
        seq, at_ms, actor, action, object_type, object_id, project, before_json, after_json, prev_hash, digest
    )


def checkpoint_payload(*, seq: int, event_hash: str, at_ms: int) -> bytes:
    """The canonical bytes a checkpoint signature covers."""
    return canonical_json({"kind": CHECKPOINT_KIND, "seq": seq, "event_hash": event_hash, "at_ms": at_ms})


@dataclass(frozen=True, slots=True)
class ChainProblem:
    seq: int
    kind: str  # modified | missing | broken_link | out_of_order | truncated | rewritten | checkpoint
    message: str


@dataclass(slots=True)
class ChainReport:
    """The outcome of a verification: ``ok`` or the first bad sequence number and every problem found."""

    checked: int = 0
    checkpoints_checked: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    first_seq: int = 0
    first_prev: str = ""
    problems: list[ChainProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad_seq(self) -> int | None:
        return min((p.seq for p in self.problems), default=None)

    def add(self, seq: int, kind: str, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(ChainProblem(seq, kind, message))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "checkpoints_checked": self.checkpoints_checked,
            "last_seq": self.last_seq,
            "first_bad_seq": self.first_bad_seq,
            "problems": [{"seq": p.seq, "kind": p.kind, "message": p.message} for p in self.problems],
        }


def verify_segment(
    events: Iterable[Sequence[Any]],
    *,
    checkpoints: Mapping[int, str] | None = None,
    start_seq: int | None = 1,
    start_prev: str | None = GENESIS_HASH,
) -> ChainReport:
    """Re-hash events read in ``seq`` order (rows in ``EVENT_COLUMNS`` order) and report where they break.

    ``start_seq``/``start_prev`` are the number and link the first event must have; ``None`` takes them
    from the first event (a segment of a longer chain, whose boundaries ``merge_segments`` checks).
    """
    report = ChainReport()
    pins = dict(checkpoints or {})
    pinned = sorted(pins)
    dumps = orjson.dumps
    fragment = orjson.Fragment
    sha256 = hashlib.sha256
    expected = -1 if start_seq is None else start_seq
    prev = "" if start_prev is None else start_prev
    checked = 0
    for row in events:
        seq, at_ms, actor, action, otype, oid, project, before_json, after_json, prev_hash, digest = row
        if checked == 0:
            report.first_seq, report.first_prev = seq, prev_hash
            if start_seq is None:
                expected = seq
            if start_prev is None:
                prev = prev_hash
        checked += 1
        if seq != expected:
            if seq > expected:
                report.add(expected, "missing", f"events {expected}..{seq - 1} are missing (deleted)")
            else:
                report.add(seq, "out_of_order", f"event {seq} appears after event {expected - 1}")
        if prev_hash != prev:
            report.add(seq, "broken_link", f"event {seq} does not link to the hash of the event before it")
        body = dumps(
            {
                "action": action,
                "actor": actor,
                "after": fragment(after_json),
                "at_ms": at_ms,
                "before": fragment(before_json),
                "object_id": oid,
                "object_type": otype,
                "prev_hash": prev_hash,
                "project": project,
                "seq": seq,
            }
        )
        if sha256(body).hexdigest() != digest:
            report.add(seq, "modified", f"event {seq} does not match its hash (modified or moved)")
        if seq in pins and pins[seq] != digest:
            earlier = [c for c in pinned if c < seq]
            start = earlier[-1] + 1 if earlier else 1
            report.add(
                start, "rewritten", f"events {start}..{seq} differ from the signed checkpoint at {seq}"
            )
        prev = digest
        expected = seq + 1 if seq >= expected else expected
    report.checked = checked
    if checked:
        report.last_seq = expected - 1
        report.last_hash = prev
    else:
        report.last_seq = (start_seq or 1) - 1
        report.last_hash = start_prev or GENESIS_HASH
    return report


def check_tail(report: ChainReport, checkpoints: Mapping[int, str], head_seq: int | None) -> ChainReport:
    """Add a ``truncated`` problem if a signed checkpoint or the head lies beyond the last event."""
    last = report.last_seq
    beyond = sorted(c for c in checkpoints if c > last)
    if beyond:
        report.add(
            last + 1,
            "truncated",
            f"events after {last} are missing; a signed checkpoint exists at {beyond[-1]}",
        )
    elif head_seq is not None and head_seq > last:
        report.add(last + 1, "truncated", f"events after {last} are missing; the log head says {head_seq}")
    report.checkpoints_checked = len(checkpoints)
    return report


def merge_segments(segments: Sequence[ChainReport]) -> ChainReport:
    """Join the reports of consecutive segments (each verified with ``start_seq=None, start_prev=None``),
    checking that each segment continues the one before it."""
    merged = ChainReport()
    expected, prev = 1, GENESIS_HASH
    for seg in segments:
        if seg.checked:
            first = seg.first_seq
            if first > expected:
                merged.add(expected, "missing", f"events {expected}..{first - 1} are missing (deleted)")
            if seg.first_prev != prev:
                merged.add(
                    first, "broken_link", f"event {first} does not link to the hash of the event before it"
                )
            expected, prev = seg.last_seq + 1, seg.last_hash
        merged.checked += seg.checked
        for problem in seg.problems:
            merged.add(problem.seq, problem.kind, problem.message)
    merged.last_seq, merged.last_hash = expected - 1, prev
    return merged


def verify_events(
    events: Iterable[Sequence[Any]],
    *,
    checkpoints: Mapping[int, str] | None = None,
    head_seq: int | None = None,
) -> ChainReport:
    """Verify a whole chain from its first event: hashes, links, numbering, checkpoints and its tail.

    ``checkpoints`` maps a sequence number to the event hash a *verified* signed checkpoint recorded;
    ``head_seq`` is the last sequence number the store's head says was written. Both catch a truncated tail.
    """
    pins = dict(checkpoints or {})
    return check_tail(verify_segment(events, checkpoints=pins), pins, head_seq)
