"""web: browser sessions and KPI snapshots

Revision ID: web01
Revises: mon01
Create Date: 2026-11-30 18:08:34.402026
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "web01"
down_revision = "mon01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kpi_snapshots",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("snapshot_id", sa.String(length=36), nullable=False),
        sa.Column("project", sa.String(length=250), nullable=False),
        sa.Column("kpi", sa.String(length=250), nullable=False),
        sa.Column("pillar", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Float(precision=53), nullable=True),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("target", sa.Float(precision=53), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("taken_ms", sa.BigInteger(), nullable=False),
        sa.Column("taken_by", sa.String(length=250), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_snapshots")),
    )
    with op.batch_alter_table("kpi_snapshots", schema=None) as batch_op:
        batch_op.create_index(
            "ix_kpi_snapshots_project_kpi_taken", ["project", "kpi", "taken_ms"], unique=False
        )

    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("token_id", sa.String(length=36), nullable=False),
        sa.Column("user_name", sa.String(length=250), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.Column("ended_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_web_sessions")),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_web_sessions_token", ["token_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_web_sessions_token")

    op.drop_table("web_sessions")
    with op.batch_alter_table("kpi_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_kpi_snapshots_project_kpi_taken")

    op.drop_table("kpi_snapshots")
