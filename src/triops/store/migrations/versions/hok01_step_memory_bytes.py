"""step memory: each step's own peak memory on step runs and usage records

Revision ID: hok01
Revises: mns01
Create Date: 2026-11-30 22:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "hok01"
down_revision = "mns01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("step_runs") as batch:
        batch.add_column(sa.Column("step_memory_bytes", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("finops_usage") as batch:
        batch.add_column(sa.Column("step_memory_bytes", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("finops_usage") as batch:
        batch.drop_column("step_memory_bytes")
    with op.batch_alter_table("step_runs") as batch:
        batch.drop_column("step_memory_bytes")
