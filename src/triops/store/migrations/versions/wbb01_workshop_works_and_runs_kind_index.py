"""workshop: learners' saved roadmaps and Wardley maps; runs: index by kind for the pipeline runs page

Revision ID: wbb01
Revises: cmp01
Create Date: 2026-11-30 21:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "wbb01"
down_revision = "cmp01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workshop_works",
        sa.Column("learner_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("saved_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("learner_id", "kind", name=op.f("pk_workshop_works")),
    )
    op.create_index("ix_workshop_works_session", "workshop_works", ["session_id"], unique=False)
    op.create_index("ix_runs_kind_start_id", "runs", ["kind", "start_ms", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_runs_kind_start_id", table_name="runs")
    op.drop_index("ix_workshop_works_session", table_name="workshop_works")
    op.drop_table("workshop_works")
