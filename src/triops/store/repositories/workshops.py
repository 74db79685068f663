"""Rows of live workshops: sessions by join code, learners by the hash of their browser key, answers (the
first answer to a scenario stands) and the latest simulation outcome of each group."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from triops.domain.ids import new_id
from triops.store.tables_workshop import (
    workshop_answers,
    workshop_group_runs,
    workshop_learners,
    workshop_maturity,
    workshop_polls,
    workshop_sessions,
    workshop_votes,
    workshop_works,
)


def _session(row: Any) -> dict[str, Any]:
    d = dict(row)
    d["tools"] = [t for t in d["tools"].split(",") if t]
    if isinstance(d.get("prefill"), str):
        d["prefill"] = json.loads(d["prefill"])
    return d


def create_session(conn: Connection, values: dict[str, Any], now_ms: int) -> dict[str, Any]:
    row = {**values, "id": new_id(now_ms), "tools": ",".join(values["tools"]), "created_ms": now_ms}
    conn.execute(workshop_sessions.insert().values(**row, closed_ms=None))
    return _session({**row, "closed_ms": None})


def find_session(conn: Connection, code: str) -> dict[str, Any] | None:
    row = (
        conn.execute(sa.select(workshop_sessions).where(workshop_sessions.c.code == code)).mappings().first()
    )
    return None if row is None else _session(row)


def list_sessions(conn: Connection, facilitator: str | None) -> list[dict[str, Any]]:
    query = sa.select(workshop_sessions).order_by(workshop_sessions.c.created_ms.desc())
    if facilitator is not None:
        query = query.where(workshop_sessions.c.facilitator == facilitator)
    return [_session(r) for r in conn.execute(query).mappings()]


def close_session(conn: Connection, session_id: str, now_ms: int) -> None:
    conn.execute(
        workshop_sessions.update()
        .where(workshop_sessions.c.id == session_id, workshop_sessions.c.closed_ms.is_(None))
        .values(closed_ms=now_ms)
    )


def delete_session(conn: Connection, session_id: str) -> None:
    tables = (
        workshop_answers,
        workshop_group_runs,
        workshop_maturity,
        workshop_votes,
        workshop_polls,
        workshop_works,
    )
    for table in (*tables, workshop_learners):
        conn.execute(table.delete().where(table.c.session_id == session_id))
    conn.execute(workshop_sessions.delete().where(workshop_sessions.c.id == session_id))


def find_learner(conn: Connection, key_hash: str) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(workshop_learners).where(workshop_learners.c.key_hash == key_hash)
    ).mappings()
    found = row.first()
    return None if found is None else dict(found)


def learner_named(conn: Connection, session_id: str, name: str) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(workshop_learners).where(
            workshop_learners.c.session_id == session_id, workshop_learners.c.display_name == name
        )
    ).mappings()
    found = row.first()
    return None if found is None else dict(found)


def add_learner(conn: Connection, values: dict[str, Any], now_ms: int) -> dict[str, Any]:
    row = {**values, "id": new_id(now_ms), "joined_ms": now_ms}
    conn.execute(workshop_learners.insert().values(**row))
    return row


def learners(conn: Connection, session_id: str) -> list[dict[str, Any]]:
    query = (
        sa.select(workshop_learners.c.id, workshop_learners.c.display_name, workshop_learners.c.joined_ms)
        .where(workshop_learners.c.session_id == session_id)
        .order_by(workshop_learners.c.joined_ms, workshop_learners.c.display_name)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def find_answer(conn: Connection, learner_id: str, scenario_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(workshop_answers).where(
            workshop_answers.c.learner_id == learner_id, workshop_answers.c.scenario_id == scenario_id
        )
    ).mappings()
    found = row.first()
    return None if found is None else dict(found)


def add_answer(conn: Connection, values: dict[str, Any], now_ms: int) -> None:
    conn.execute(workshop_answers.insert().values(**values, answered_ms=now_ms))


def learner_answers(conn: Connection, learner_id: str) -> dict[str, str]:
    """One learner's answers (scenario id to letter), read by the primary key's learner prefix."""
    t = workshop_answers
    query = sa.select(t.c.scenario_id, t.c.letter).where(t.c.learner_id == learner_id)
    return {r.scenario_id: r.letter for r in conn.execute(query)}


def answers(conn: Connection, session_id: str) -> list[dict[str, Any]]:
    query = sa.select(workshop_answers).where(workshop_answers.c.session_id == session_id)
    return [dict(r) for r in conn.execute(query).mappings()]


def save_group_run(conn: Connection, values: dict[str, Any], now_ms: int) -> None:
    """The group's latest run replaces its earlier one (the projector compares where groups ended up)."""
    table = workshop_group_runs
    conn.execute(
        table.delete().where(
            table.c.session_id == values["session_id"], table.c.group_name == values["group_name"]
        )
    )
    conn.execute(table.insert().values(**values, ran_ms=now_ms))


def group_runs(conn: Connection, session_id: str) -> list[dict[str, Any]]:
    table = workshop_group_runs
    query = sa.select(table).where(table.c.session_id == session_id).order_by(table.c.group_name)
    rows = [dict(r) for r in conn.execute(query).mappings()]
    for r in rows:  # some drivers hand JSON back as text
        for key in ("choices", "outcome"):
            if isinstance(r[key], str):
                r[key] = json.loads(r[key])
    return rows


def save_maturity(conn: Connection, values: dict[str, Any], now_ms: int) -> None:
    """A learner's latest self-assessment replaces the earlier one."""
    table = workshop_maturity
    conn.execute(table.delete().where(table.c.learner_id == values["learner_id"]))
    conn.execute(table.insert().values(**values, assessed_ms=now_ms))


def maturity_rows(conn: Connection, session_id: str) -> list[dict[str, Any]]:
    table = workshop_maturity
    rows = [
        dict(r) for r in conn.execute(sa.select(table).where(table.c.session_id == session_id)).mappings()
    ]
    for r in rows:
        for key in ("answers", "pillars"):
            if isinstance(r[key], str):
                r[key] = json.loads(r[key])
    return rows


def add_poll(conn: Connection, session_id: str, question: str, options: list[str], now_ms: int) -> str:
    poll_id = new_id(now_ms)
    conn.execute(
        workshop_polls.insert().values(
            id=poll_id, session_id=session_id, question=question, options=options, opened_ms=now_ms
        )
    )
    return poll_id


def polls(conn: Connection, session_id: str) -> list[dict[str, Any]]:
    """The session's polls, newest first, each with its votes per option."""
    query = sa.select(workshop_polls).where(workshop_polls.c.session_id == session_id)
    rows = [dict(r) for r in conn.execute(query.order_by(workshop_polls.c.opened_ms.desc())).mappings()]
    votes = conn.execute(
        sa.select(workshop_votes.c.poll_id, workshop_votes.c.learner_id, workshop_votes.c.choice).where(
            workshop_votes.c.session_id == session_id
        )
    ).all()
    for r in rows:
        if isinstance(r["options"], str):
            r["options"] = json.loads(r["options"])
        mine = [v for v in votes if v.poll_id == r["id"]]
        r["counts"] = [sum(1 for v in mine if v.choice == i) for i in range(len(r["options"]))]
        r["voters"] = {v.learner_id: v.choice for v in mine}
    return rows


def add_vote(conn: Connection, values: dict[str, Any], now_ms: int) -> bool:
    """False when the learner already voted in this poll (the first vote stands)."""
    t = workshop_votes
    found = conn.execute(
        sa.select(t.c.choice).where(t.c.poll_id == values["poll_id"], t.c.learner_id == values["learner_id"])
    ).first()
    if found is not None:
        return False
    conn.execute(t.insert().values(**values, voted_ms=now_ms))
    return True


def save_work(conn: Connection, values: dict[str, Any], now_ms: int) -> None:
    """A learner's saved roadmap or map replaces the one saved before."""
    table = workshop_works
    conn.execute(
        table.delete().where(table.c.learner_id == values["learner_id"], table.c.kind == values["kind"])
    )
    conn.execute(table.insert().values(**values, saved_ms=now_ms))


def works(conn: Connection, session_id: str) -> list[dict[str, Any]]:
    """Every saved roadmap and map of a session with its learner's display name, by name then kind."""
    table = workshop_works
    query = (
        sa.select(table, workshop_learners.c.display_name)
        .join(workshop_learners, workshop_learners.c.id == table.c.learner_id)
        .where(table.c.session_id == session_id)
        .order_by(workshop_learners.c.display_name, table.c.kind)
    )
    rows = [dict(r) for r in conn.execute(query).mappings()]
    for r in rows:
        if isinstance(r["content"], str):
            r["content"] = json.loads(r["content"])
    return rows
