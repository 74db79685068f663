"""finops attribution serving predictions allocations focus periods

Revision ID: fin01
Revises: run01
Create Date: 2026-11-30 18:09:18.317755
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "fin01"
down_revision = "run01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "finops_allocations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("label", sa.String(length=250), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("by", sa.String(length=20), nullable=False),
        sa.Column("amount_micros", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=250), nullable=True),
        sa.CheckConstraint("amount_micros >= 0", name=op.f("ck_finops_allocations_allocation_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finops_allocations")),
        sa.UniqueConstraint("label", "period", "by", name=op.f("uq_finops_allocations_label_period_by")),
    )
    op.create_table(
        "finops_allocation_shares",
        sa.Column("allocation_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("amount_micros", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["allocation_id"],
            ["finops_allocations.id"],
            name=op.f("fk_finops_allocation_shares_allocation_id_finops_allocations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("allocation_id", "key", name=op.f("pk_finops_allocation_shares")),
    )
    with op.batch_alter_table("finops_costs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("predictions", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_finops_costs_run", ["run_id"], unique=False)

    with op.batch_alter_table("finops_focus_imports", schema=None) as batch_op:
        batch_op.create_index("ix_finops_focus_imports_sha256", ["sha256"], unique=False)

    with op.batch_alter_table("finops_focus_rows", schema=None) as batch_op:
        batch_op.add_column(sa.Column("billing_period_start_ms", sa.BigInteger(), nullable=True))
        batch_op.create_index(
            "ix_finops_focus_rows_period",
            ["provider", "billing_account_id", "billing_period_start_ms"],
            unique=False,
        )

    with op.batch_alter_table("finops_usage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("predictions", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("finops_usage", schema=None) as batch_op:
        batch_op.drop_column("predictions")

    with op.batch_alter_table("finops_focus_rows", schema=None) as batch_op:
        batch_op.drop_index("ix_finops_focus_rows_period")
        batch_op.drop_column("billing_period_start_ms")

    with op.batch_alter_table("finops_focus_imports", schema=None) as batch_op:
        batch_op.drop_index("ix_finops_focus_imports_sha256")

    with op.batch_alter_table("finops_costs", schema=None) as batch_op:
        batch_op.drop_index("ix_finops_costs_run")
        batch_op.drop_column("predictions")

    op.drop_table("finops_allocation_shares")
    op.drop_table("finops_allocations")
