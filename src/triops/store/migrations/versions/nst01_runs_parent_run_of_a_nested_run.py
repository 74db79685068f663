"""runs: parent run of a nested run

Revision ID: nst01
Revises: wbb01
Create Date: 2026-11-30 21:35:00.785764
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "nst01"
down_revision = "wbb01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_id", sa.String(length=36), nullable=True))
        batch_op.create_index("ix_runs_parent_start_id", ["parent_id", "start_ms", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index("ix_runs_parent_start_id")
        batch_op.drop_column("parent_id")
