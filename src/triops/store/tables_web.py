"""Web-app tables: browser sessions made from API tokens, and KPI snapshots taken over time.

A session row stores only the sha256 of its cookie value and the id of the token it was made from, so a
revoked or expired token ends every session made from it at the next request. KPI snapshots are one row per
KPI and project per snapshot, so the scorecard can show a trend without recomputing the past.
"""

from __future__ import annotations

import sqlalchemy as sa

from triops.store.metadata import metadata

ID = sa.String(36)
NAME = sa.String(250)

web_sessions = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("token_id", ID, nullable=False),
    sa.Column("user_name", NAME, nullable=False),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("expires_ms", sa.BigInteger, nullable=False),
    sa.Column("ended_ms", sa.BigInteger),
    sa.Index("ix_web_sessions_token", "token_id"),
)

kpi_snapshots = sa.Table(
    "kpi_snapshots",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("snapshot_id", ID, nullable=False),
    sa.Column("project", NAME, nullable=False),
    sa.Column("kpi", NAME, nullable=False),
    sa.Column("pillar", sa.String(20), nullable=False),
    sa.Column("value", sa.Float(precision=53)),
    sa.Column("unit", sa.String(40), nullable=False),
    sa.Column("target", sa.Float(precision=53)),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("taken_ms", sa.BigInteger, nullable=False),
    sa.Column("taken_by", NAME, nullable=False),
    sa.Index("ix_kpi_snapshots_project_kpi_taken", "project", "kpi", "taken_ms"),
)
