"""monitoring and serving: monitor schedules, run leases, the evaluation dataset of the feedback loop;
the prediction log's batch table

Revision ID: mns01
Revises: nst01
Create Date: 2026-11-30 21:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "mns01"
down_revision = "nst01"
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
    op.create_table(
        "prediction_batches",
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.String(length=36), nullable=False),
        sa.Column("alias", sa.String(length=100), nullable=True),
        sa.Column("time_ms", sa.BigInteger(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("inputs", sa.Text(), nullable=True),
        sa.Column("outputs", sa.Text(), nullable=False),
        sa.Column("scores", sa.Text(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("principal", sa.String(length=250), nullable=True),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_prediction_batches")),
    )
    op.create_index(
        "ix_prediction_batches_model_version_time",
        "prediction_batches",
        ["model", "version", "time_ms"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_prediction_batches_model_version_time", table_name="prediction_batches")
    op.drop_table("prediction_batches")
    with op.batch_alter_table("monitors") as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
