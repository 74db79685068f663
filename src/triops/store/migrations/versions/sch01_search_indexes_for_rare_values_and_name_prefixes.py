"""search: (key, value, run_id) indexes on params and tags, a case-folded name index on SQLite

Revision ID: sch01
Revises: hok01
Create Date: 2026-11-30 21:45:00.000000

A search counts a filter's matches from these indexes and starts from the rarest conjunct; an ordering by a
param or tag walks its values in order. PostgreSQL compares text in the "C" collation (byte order), so its
value columns are indexed in that collation. The name index serves LIKE/ILIKE prefixes on SQLite only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "sch01"
down_revision = "hok01"
branch_labels = None
depends_on = None


def _value() -> str | sa.TextClause:
    return sa.text('value COLLATE "C"') if op.get_bind().dialect.name == "postgresql" else "value"


def upgrade() -> None:
    with op.batch_alter_table("params", schema=None) as batch_op:
        batch_op.drop_index("ix_params_key")
    op.create_index("ix_params_key_value", "params", ["key", _value(), "run_id"], unique=False)
    op.create_index("ix_tags_key_value", "tags", ["key", _value(), "run_id"], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        op.create_index("ix_runs_name_nocase", "runs", [sa.text("name COLLATE NOCASE")], unique=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("ix_runs_name_nocase", table_name="runs")
    op.drop_index("ix_tags_key_value", table_name="tags")
    op.drop_index("ix_params_key_value", table_name="params")
    with op.batch_alter_table("params", schema=None) as batch_op:
        batch_op.create_index("ix_params_key", ["key"], unique=False)
