"""runs: indexes for newest-first pages by (project, start, id) and (start, id)

Revision ID: bch01
Revises: gov01
Create Date: 2026-11-30 18:24:03.575584
"""

from __future__ import annotations

from alembic import op

revision = "bch01"
down_revision = "gov01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_runs_project_start"))
        batch_op.create_index("ix_runs_project_start_id", ["project_id", "start_ms", "id"], unique=False)
        batch_op.create_index("ix_runs_start_id", ["start_ms", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index("ix_runs_start_id")
        batch_op.drop_index("ix_runs_project_start_id")
        batch_op.create_index(batch_op.f("ix_runs_project_start"), ["project_id", "start_ms"], unique=False)
