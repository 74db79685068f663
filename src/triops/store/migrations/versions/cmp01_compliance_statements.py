"""compliance: human statements recorded for framework items

Revision ID: cmp01
Revises: mlr01
Create Date: 2026-11-30 21:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "cmp01"
down_revision = "mlr01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "compliance_statements",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("framework", sa.String(length=40), nullable=False),
        sa.Column("item", sa.String(length=40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=250), nullable=False),
        sa.Column("recorded_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_statements")),
    )
    with op.batch_alter_table("compliance_statements", schema=None) as batch_op:
        batch_op.create_index(
            "ix_compliance_statements_item", ["framework", "item", "recorded_ms"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("compliance_statements", schema=None) as batch_op:
        batch_op.drop_index("ix_compliance_statements_item")
    op.drop_table("compliance_statements")
