"""mlflow registry: model tags

Revision ID: mlr01
Revises: wks01
Create Date: 2026-11-30 19:43:07.754746
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "mlr01"
down_revision = "wks01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_tags",
        sa.Column("model_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], name=op.f("fk_model_tags_model_id_models"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("model_id", "version", "key", name=op.f("pk_model_tags")),
    )


def downgrade() -> None:
    op.drop_table("model_tags")
