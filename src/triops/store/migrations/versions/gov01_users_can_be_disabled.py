"""governance: users can be disabled; approvals are consumed once and name the policy version they satisfy

Revision ID: gov01
Revises: web01
Create Date: 2026-11-30 18:09:30.694280
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "gov01"
down_revision = "web01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("disabled_ms", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("approval_requests") as batch:
        batch.add_column(sa.Column("policy_digest", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("consumed_ms", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("approval_requests") as batch:
        batch.drop_column("consumed_ms")
        batch.drop_column("policy_digest")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("disabled_ms")
