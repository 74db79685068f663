"""Alembic migrations applied on open (and by ``triops db upgrade``); a store whose revision this triops does
not know was written by a newer triops and is refused without being touched."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from triops.errors import StoreVersionError
from triops.store.engine import Store

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "triops_alembic_version"


def _alembic_config(store: Store) -> object:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["store"] = store
    return cfg


def known_revisions() -> tuple[list[str], str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS_DIR))
    revisions = [rev.revision for rev in script.walk_revisions()]
    head = script.get_current_head()
    assert head is not None
    return revisions, head


def current_revision(store: Store) -> str | None:
    with store.connect() as conn:
        if not sa.inspect(conn).has_table(VERSION_TABLE):
            return None
        return conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def upgrade(store: Store) -> tuple[str | None, str]:
    """Bring the store to this triops's head revision. Returns (before, after)."""
    before = current_revision(store)
    revisions, head = known_revisions()
    if before == head:
        return before, head
    if before is not None and before not in revisions:
        raise StoreVersionError(
            f"the store at {store.url} has schema revision {before!r}, written by a newer triops; "
            "it was not changed",
            hint="upgrade triops (pip install -U triops) to use this store",
        )
    from alembic import command

    command.upgrade(_alembic_config(store), "head")  # type: ignore[arg-type]
    return before, head
