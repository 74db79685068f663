"""The Alembic migrations create exactly the schema the code defines (no drift)."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from triops.store.engine import create_store
from triops.store.migrate import VERSION_TABLE, upgrade
from triops.store.schema import metadata


def test_migrations_match_the_table_definitions(tmp_path: Path) -> None:
    store = create_store(f"sqlite:///{tmp_path / 'fresh.db'}")
    upgrade(store)
    with store.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        diff = compare_metadata(context, metadata)
    store.dispose()
    assert diff == [], (
        f"add a revision: `.venv/bin/python tools/new_migration.py REV_ID 'what changes'`: {diff}"
    )
