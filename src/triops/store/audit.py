"""Appending to and reading the audit chain (SQL). Every pillar calls ``append_event`` inside the
transaction of the change it records, so the change and its audit event commit or roll back together.

Sequence numbers are unique and gap-free under concurrent writers: the append first *updates* the single
``audit_head`` row, which takes that row's write lock (PostgreSQL) or the database write lock (SQLite, where
``Store.begin`` already opened ``BEGIN IMMEDIATE``); a second writer waits there until the first commits or
rolls back, then reads the head the first one left.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection

from triops.domain.audit_chain import GENESIS_HASH, AuditEvent, seal_event
from triops.errors import InvalidInputError
from triops.store.tables_governance import audit_checkpoints, audit_events, audit_head

EVENT_COLS = [
    audit_events.c.seq,
    audit_events.c.at_ms,
    audit_events.c.actor,
    audit_events.c.action,
    audit_events.c.object_type,
    audit_events.c.object_id,
    audit_events.c.project,
    audit_events.c.before_json,
    audit_events.c.after_json,
    audit_events.c.prev_hash,
    audit_events.c.hash,
]

_BUMP = (
    sa.update(audit_head)
    .where(audit_head.c.id == 1)
    .values(seq=audit_head.c.seq + 1)
    .returning(audit_head.c.seq, audit_head.c.hash)
)
_BUMP_BY = (
    sa.update(audit_head)
    .where(audit_head.c.id == 1)
    .values(seq=audit_head.c.seq + sa.bindparam("events", type_=sa.BigInteger))
    .returning(audit_head.c.seq, audit_head.c.hash)
)
_SET_HASH = sa.update(audit_head).where(audit_head.c.id == 1).values(hash=sa.bindparam("head_hash"))
_READ_HEAD = sa.select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
_INSERT_EVENT = sa.insert(audit_events)


def _limit(text: str, what: str, limit: int) -> str:
    if not isinstance(text, str) or not text:
        raise InvalidInputError(f"audit {what} must be a non-empty string, got {text!r:.60}")
    if len(text) > limit:
        raise InvalidInputError(f"audit {what} is {len(text)} characters; the limit is {limit}")
    return text


def _ensure_head(conn: Connection) -> None:
    values = {"id": 1, "seq": 0, "hash": GENESIS_HASH}
    dialect = conn.dialect.name
    stmt: Any
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql  # loaded by PostgreSQL stores only

        stmt = postgresql.insert(audit_head).values(values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(audit_head).values(values).on_conflict_do_nothing()
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported stores
        stmt = sa.insert(audit_head).values(values)
    conn.execute(stmt)


def append_event(
    conn: Connection,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    project: str | None = None,
    at_ms: int | None = None,
) -> int:
    """Append one event to the chain in the caller's transaction; returns its sequence number."""
    _limit(actor, "actor", 250)
    _limit(action, "action", 100)
    _limit(object_type, "object type", 100)
    _limit(str(object_id), "object id", 500)
    if project is not None:
        _limit(project, "project", 100)
    when = time.time_ns() // 1_000_000 if at_ms is None else int(at_ms)
    bumped = conn.execute(_BUMP).first()
    if bumped is None:
        _ensure_head(conn)
        bumped = conn.execute(_BUMP).one()
    seq, head_hash = bumped
    event = seal_event(
        seq=int(seq),
        at_ms=when,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        project=project,
        before=before,
        after=after,
        prev_hash=str(head_hash),
    )
    conn.execute(_INSERT_EVENT, event._asdict())
    conn.execute(_SET_HASH, {"head_hash": event.hash})
    return event.seq


def head(conn: Connection) -> tuple[int, str]:
    """(last sequence number, its hash) as the head row says; (0, genesis) for an empty log."""
    row = conn.execute(_READ_HEAD).first()
    return (0, GENESIS_HASH) if row is None else (int(row[0]), str(row[1]))


def iter_events(conn: Connection, *, after_seq: int = 0, batch: int = 20_000) -> Iterator[AuditEvent]:
    """Every event from ``after_seq + 1`` on, in sequence order, read in keyset-paged batches."""
    last = after_seq
    while True:
        rows = conn.execute(
            sa.select(*EVENT_COLS).where(audit_events.c.seq > last).order_by(audit_events.c.seq).limit(batch)
        ).all()
        for row in rows:
            yield AuditEvent(*row)
        if len(rows) < batch:
            return
        last = int(rows[-1][0])


def iter_rows(
    conn: Connection, *, after_seq: int = 0, up_to: int | None = None, batch: int = 50_000
) -> Iterator[tuple[Any, ...]]:
    """Event rows in ``EVENT_COLUMNS`` order with ``after_seq`` < seq ≤ ``up_to``: what verify reads.

    The columns need no type processing, so rows come straight from the DBAPI cursor as plain tuples:
    verification reads every event, and building SQLAlchemy rows would cost a third of its time.
    """
    last = after_seq
    while True:
        stmt = sa.select(*EVENT_COLS).where(audit_events.c.seq > last)
        if up_to is not None:
            stmt = stmt.where(audit_events.c.seq <= up_to)
        result = conn.execute(stmt.order_by(audit_events.c.seq).limit(batch))
        rows: Sequence[Any] = result.cursor.fetchall() if result.cursor is not None else []
        result.close()
        yield from rows
        if len(rows) < batch:
            return
        last = int(rows[-1][0])


def list_events(
    conn: Connection,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    project: str | None = None,
    actor: str | None = None,
    limit: int = 100,
    descending: bool = True,
) -> list[AuditEvent]:
    stmt = sa.select(*EVENT_COLS)
    if object_type is not None:
        stmt = stmt.where(audit_events.c.object_type == object_type)
    if object_id is not None:
        stmt = stmt.where(audit_events.c.object_id == object_id)
    if project is not None:
        stmt = stmt.where(audit_events.c.project == project)
    if actor is not None:
        stmt = stmt.where(audit_events.c.actor == actor)
    order = audit_events.c.seq.desc() if descending else audit_events.c.seq
    return [AuditEvent(*row) for row in conn.execute(stmt.order_by(order).limit(max(1, min(limit, 100_000))))]


def get_event(conn: Connection, seq: int) -> AuditEvent | None:
    row = conn.execute(sa.select(*EVENT_COLS).where(audit_events.c.seq == seq)).first()
    return None if row is None else AuditEvent(*row)


def event_hash_at(conn: Connection, seq: int) -> str | None:
    value = conn.execute(sa.select(audit_events.c.hash).where(audit_events.c.seq == seq)).scalar()
    return None if value is None else str(value)


_INSERT_CHECKPOINT = sa.insert(audit_checkpoints)


def add_checkpoint(
    conn: Connection, *, seq: int, event_hash: str, at_ms: int, key_id: str, signature: str
) -> None:
    values = {"seq": seq, "event_hash": event_hash, "at_ms": at_ms, "key_id": key_id, "signature": signature}
    conn.execute(_INSERT_CHECKPOINT, values)


def list_checkpoints(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(sa.select(audit_checkpoints).order_by(audit_checkpoints.c.seq)).mappings()
    return [dict(r) for r in rows]


def last_checkpoint(conn: Connection) -> dict[str, Any] | None:
    """The newest checkpoint (one row, by the primary key)."""
    row = conn.execute(sa.select(audit_checkpoints).order_by(audit_checkpoints.c.seq.desc()).limit(1))
    found = row.mappings().first()
    return None if found is None else dict(found)


_UNSEALED = sa.select(
    audit_head.c.seq > sa.func.coalesce(sa.select(sa.func.max(audit_checkpoints.c.seq)).scalar_subquery(), 0)
).where(audit_head.c.id == 1)


def unsealed(conn: Connection) -> bool:
    """Whether events were appended since the last checkpoint (one query: the head row and the newest
    checkpoint's sequence number)."""
    return bool(conn.execute(_UNSEALED).scalar())


_HEAD_AND_LAST_CHECKPOINT = sa.select(
    audit_head.c.seq, audit_head.c.hash, sa.select(sa.func.max(audit_checkpoints.c.seq)).scalar_subquery()
).where(audit_head.c.id == 1)


def head_and_last_checkpoint(conn: Connection) -> tuple[int, str, int]:
    """``head`` and ``last_checkpoint_seq`` in one statement: (last sequence number, its hash, the sequence
    number of the newest checkpoint, 0 before the first)."""
    row = conn.execute(_HEAD_AND_LAST_CHECKPOINT).first()
    if row is None:
        return 0, GENESIS_HASH, last_checkpoint_seq(conn)
    return int(row[0]), str(row[1]), int(row[2] or 0)


def last_checkpoint_seq(conn: Connection) -> int:
    value = conn.execute(sa.select(sa.func.max(audit_checkpoints.c.seq))).scalar()
    return int(value or 0)


def append_events(conn: Connection, events: list[dict[str, Any]]) -> int:
    """Append many events (each the keyword arguments of ``append_event``) in one go: the head moves once,
    the chain is sealed in order, the rows go in one ``executemany``. Returns the last sequence number."""
    if not events:
        return head(conn)[0]
    for e in events:
        _limit(e["actor"], "actor", 250)
        _limit(e["action"], "action", 100)
        _limit(e["object_type"], "object type", 100)
        _limit(str(e["object_id"]), "object id", 500)
        if e.get("project") is not None:
            _limit(e["project"], "project", 100)
    bumped = conn.execute(_BUMP_BY, {"events": len(events)}).first()
    if bumped is None:
        _ensure_head(conn)
        bumped = conn.execute(_BUMP_BY, {"events": len(events)}).one()
    last, prev = int(bumped[0]), str(bumped[1])
    rows = []
    for offset, e in enumerate(events):
        event = seal_event(
            seq=last - len(events) + 1 + offset,
            at_ms=time.time_ns() // 1_000_000 if e.get("at_ms") is None else int(e["at_ms"]),
            actor=e["actor"],
            action=e["action"],
            object_type=e["object_type"],
            object_id=str(e["object_id"]),
            project=e.get("project"),
            before=e.get("before"),
            after=e.get("after"),
            prev_hash=prev,
        )
        prev = event.hash
        rows.append(event._asdict())
    conn.execute(_INSERT_EVENT, rows)
    conn.execute(_SET_HASH, {"head_hash": prev})
    return last
