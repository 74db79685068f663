"""workshop: live strategy workshop sessions

Revision ID: wks01
Revises: bch01
Create Date: 2026-11-30 19:50:34.291918
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "wks01"
down_revision = "bch01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workshop_answers",
        sa.Column("learner_id", sa.String(length=36), nullable=False),
        sa.Column("scenario_id", sa.String(length=100), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("letter", sa.String(length=2), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("best_score", sa.Integer(), nullable=False),
        sa.Column("answered_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("learner_id", "scenario_id", name=op.f("pk_workshop_answers")),
    )
    with op.batch_alter_table("workshop_answers", schema=None) as batch_op:
        batch_op.create_index("ix_workshop_answers_session", ["session_id"], unique=False)

    op.create_table(
        "workshop_group_runs",
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("group_name", sa.String(length=60), nullable=False),
        sa.Column("run_by", sa.String(length=36), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=False),
        sa.Column("ran_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("session_id", "group_name", name=op.f("pk_workshop_group_runs")),
    )
    op.create_table(
        "workshop_learners",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=60), nullable=False),
        sa.Column("joined_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workshop_learners")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_workshop_learners_key_hash")),
        sa.UniqueConstraint("session_id", "display_name", name="uq_workshop_learners_name"),
    )
    op.create_table(
        "workshop_maturity",
        sa.Column("learner_id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("pillars", sa.JSON(), nullable=False),
        sa.Column("assessed_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("learner_id", name=op.f("pk_workshop_maturity")),
    )
    with op.batch_alter_table("workshop_maturity", schema=None) as batch_op:
        batch_op.create_index("ix_workshop_maturity_session", ["session_id"], unique=False)

    op.create_table(
        "workshop_polls",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("question", sa.String(length=300), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("opened_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workshop_polls")),
    )
    with op.batch_alter_table("workshop_polls", schema=None) as batch_op:
        batch_op.create_index("ix_workshop_polls_session", ["session_id"], unique=False)

    op.create_table(
        "workshop_sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("title", sa.String(length=250), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("tools", sa.String(length=200), nullable=False),
        sa.Column("questions", sa.Integer(), nullable=False),
        sa.Column("prefill", sa.JSON(), nullable=True),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("facilitator", sa.String(length=250), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("closed_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workshop_sessions")),
        sa.UniqueConstraint("code", name=op.f("uq_workshop_sessions_code")),
    )
    op.create_table(
        "workshop_votes",
        sa.Column("poll_id", sa.String(length=36), nullable=False),
        sa.Column("learner_id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("choice", sa.Integer(), nullable=False),
        sa.Column("voted_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("poll_id", "learner_id", name=op.f("pk_workshop_votes")),
    )


def downgrade() -> None:
    op.drop_table("workshop_votes")
    op.drop_table("workshop_sessions")
    with op.batch_alter_table("workshop_polls", schema=None) as batch_op:
        batch_op.drop_index("ix_workshop_polls_session")

    op.drop_table("workshop_polls")
    with op.batch_alter_table("workshop_maturity", schema=None) as batch_op:
        batch_op.drop_index("ix_workshop_maturity_session")

    op.drop_table("workshop_maturity")
    op.drop_table("workshop_learners")
    op.drop_table("workshop_group_runs")
    with op.batch_alter_table("workshop_answers", schema=None) as batch_op:
        batch_op.drop_index("ix_workshop_answers_session")

    op.drop_table("workshop_answers")
