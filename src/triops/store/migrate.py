"""Alembic migrations applied on open (and by ``triops db upgrade``); a store whose revision this triops does
not know was written by a newer triops and is refused without being touched."""

from __future__ import annotations

import functools
import re
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


_ASSIGNMENT = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.MULTILINE)


def plain_chain_head(versions: Path = MIGRATIONS_DIR / "versions") -> str | None:
    """The head revision read from the migration files without alembic, or None if they are not one plain chain
    (alembic then decides). Importing alembic costs more CPU than the rest of a CLI command's start-up, and
    nearly every open finds the store already at head."""
    parents: dict[str, str | None] = {}
    for path in versions.glob("*.py"):
        found = dict(_ASSIGNMENT.findall(path.read_text(encoding="utf-8")))
        if path.name == "__init__.py" and not found:
            continue
        revision, parent = found.get("revision", ""), found.get("down_revision", "")
        if not re.fullmatch(r"[\"'][\w-]+[\"']", revision) or not re.fullmatch(
            r"None|[\"'][\w-]+[\"']", parent
        ):
            return None  # a merge (a tuple of parents) or a computed value: alembic reads it
        parents[revision[1:-1]] = None if parent == "None" else parent[1:-1]
    heads = set(parents) - {p for p in parents.values() if p is not None}
    return heads.pop() if len(heads) == 1 else None


@functools.cache
def _shipped_head() -> str | None:
    return plain_chain_head()


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
    if before is not None and before == _shipped_head():
        return before, before
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
