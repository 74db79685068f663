"""monitoring: monitor schedules, run leases and the evaluation dataset of the feedback loop

Revision ID: mns01
Revises: mlr01
Create Date: 2026-11-30 21:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "mns01"
down_revision = "mlr01"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("every_s", sa.Integer()),
    ("next_due_ms", sa.BigInteger()),
    ("lease_owner", sa.String(length=250)),
    ("lease_until_ms", sa.BigInteger()),
    ("last_run_ms", sa.BigInteger()),
    ("last_run", sa.JSON()),
    ("evaluation_dataset", sa.String(length=250)),
)


def upgrade() -> None:
    with op.batch_alter_table("monitors") as batch:
        for name, type_ in _COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("monitors") as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
