"""finops_costs: a (model_version, pipeline) index for the serving cost a model version's gates read

Revision ID: reg01
Revises: sch01
Create Date: 2026-12-01 04:30:00.000000

Every stage change or guarded alias move reads the cost of serving the version (``gate_facts``); without
this index that read scanned every cost line (3.2 ms of a stage change on a store of 33,000 lines).
"""

from __future__ import annotations

from alembic import op

revision = "reg01"
down_revision = "sch01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_finops_costs_model_version", "finops_costs", ["model_version", "pipeline"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_finops_costs_model_version", table_name="finops_costs")
