"""monitoring tables

Revision ID: mon01
Revises: srv01
Create Date: 2026-11-30 18:23:30.853216
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "mon01"
down_revision = "srv01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitors",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.String(length=36), nullable=False),
        sa.Column("project", sa.String(length=250), nullable=False),
        sa.Column("reference_dataset_id", sa.String(length=36), nullable=False),
        sa.Column("window", sa.String(length=32), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("sensitive", sa.JSON(), nullable=False),
        sa.Column("bins", sa.Integer(), nullable=False),
        sa.Column("contract", sa.Text(), nullable=True),
        sa.Column("policies", sa.Text(), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=250), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitors")),
        sa.UniqueConstraint("model", "version", name="uq_monitors_model_version"),
    )
    op.create_table(
        "prediction_labels",
        sa.Column("prediction_id", sa.String(length=64), nullable=False),
        sa.Column("label", sa.JSON(), nullable=False),
        sa.Column("logged_ms", sa.BigInteger(), nullable=False),
        sa.Column("logged_by", sa.String(length=250), nullable=False),
        sa.PrimaryKeyConstraint("prediction_id", name=op.f("pk_prediction_labels")),
    )
    op.create_table(
        "monitor_windows",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("monitor_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=False),
        sa.Column("first_id", sa.String(length=64), nullable=False),
        sa.Column("last_id", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("labelled", sa.Integer(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("evaluated_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["monitor_id"], ["monitors.id"], name=op.f("fk_monitor_windows_monitor_id_monitors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_windows")),
        sa.UniqueConstraint("monitor_id", "seq", name="uq_monitor_windows_seq"),
    )
    op.create_table(
        "monitor_alerts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("monitor_id", sa.String(length=36), nullable=False),
        sa.Column("window_id", sa.String(length=36), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("policy", sa.String(length=250), nullable=False),
        sa.Column("expr", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=32), nullable=False),
        sa.Column("on_breach", sa.String(length=32), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("webhook", sa.Text(), nullable=True),
        sa.Column("delivery", sa.JSON(), nullable=True),
        sa.Column("action", sa.JSON(), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["monitor_id"], ["monitors.id"], name=op.f("fk_monitor_alerts_monitor_id_monitors")
        ),
        sa.ForeignKeyConstraint(
            ["window_id"], ["monitor_windows.id"], name=op.f("fk_monitor_alerts_window_id_monitor_windows")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_alerts")),
    )
    with op.batch_alter_table("monitor_alerts", schema=None) as batch_op:
        batch_op.create_index("ix_monitor_alerts_model_created", ["model", "created_ms"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("monitor_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_monitor_alerts_model_created")

    op.drop_table("monitor_alerts")
    op.drop_table("monitor_windows")
    op.drop_table("prediction_labels")
    op.drop_table("monitors")
