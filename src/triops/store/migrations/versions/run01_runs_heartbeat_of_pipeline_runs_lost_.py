"""runs: heartbeat of pipeline runs (LOST after a timeout); step runs: import time

Revision ID: run01
Revises: dat01
Create Date: 2026-11-30 18:15:27.607481
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "run01"
down_revision = "dat01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("heartbeat_ms", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_runs_status_heartbeat", ["status", "heartbeat_ms"], unique=False)

    with op.batch_alter_table("step_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("import_s", sa.Float(precision=53), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("step_runs", schema=None) as batch_op:
        batch_op.drop_column("import_s")

    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index("ix_runs_status_heartbeat")
        batch_op.drop_column("heartbeat_ms")
