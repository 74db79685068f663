"""Alembic environment: runs migrations on the Store passed in through ``config.attributes``."""

from __future__ import annotations

from alembic import context

from triops.store.schema import metadata

config = context.config
store = config.attributes["store"]

with store.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table="triops_alembic_version",
        render_as_batch=store.dialect == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
