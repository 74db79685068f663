"""Stored results of the strategy tools (maturity assessments, scenario quizzes), so progress shows over time."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from triops.domain.ids import new_id
from triops.store.tables import assessments


def save_assessment(
    conn: Connection, kind: str, summary: dict[str, Any], payload: dict[str, Any], now_ms: int
) -> str:
    assessment_id = new_id(now_ms)
    conn.execute(
        assessments.insert().values(
            id=assessment_id, kind=kind, project_id=None, created_ms=now_ms, summary=summary, payload=payload
        )
    )
    return assessment_id


def list_assessments(conn: Connection, kind: str, limit: int = 100) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(assessments.c.id, assessments.c.created_ms, assessments.c.summary, assessments.c.payload)
        .where(assessments.c.kind == kind)
        .order_by(assessments.c.created_ms.desc())
        .limit(limit)
    ).mappings()
    return [dict(r) for r in rows]
