"""The store opens, migrates, refuses what it must refuse and never overwrites a file it cannot read."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from triops.errors import ConfigError, StoreCorruptError, StoreVersionError
from triops.store.engine import Store, create_store
from triops.store.migrate import VERSION_TABLE, current_revision, known_revisions, plain_chain_head, upgrade


def test_store_fixture_is_migrated_to_head(store: Store) -> None:
    assert current_revision(store) == known_revisions()[1]


def test_sqlite_store_uses_wal(sqlite_store: Store) -> None:
    with sqlite_store.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_bad_url_names_the_url_and_the_supported_schemes() -> None:
    with pytest.raises(ConfigError) as info:
        create_store("mysql://root@localhost/x")
    assert "mysql://root@localhost/x" in str(info.value)
    assert "sqlite:///" in str(info.value) and "postgresql+psycopg://" in str(info.value)


def test_unparseable_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="cannot parse store URL"):
        create_store("::not a url::")


def test_corrupt_sqlite_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    garbage = b"this is not a database" * 100
    path.write_bytes(garbage)
    with pytest.raises(StoreCorruptError, match="left untouched"):
        create_store(f"sqlite:///{path}")
    assert path.read_bytes() == garbage


def test_truncated_sqlite_file_is_refused(tmp_path: Path, sqlite_template: Path) -> None:
    path = tmp_path / "store.db"
    path.write_bytes(sqlite_template.read_bytes()[:200])
    with pytest.raises(StoreCorruptError):
        store = create_store(f"sqlite:///{path}")
        upgrade(store)
    assert len(path.read_bytes()) == 200


def test_store_from_a_newer_triops_is_refused_and_not_altered(store: Store) -> None:
    with store.begin() as conn:
        conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '9999_future'"))
    with pytest.raises(StoreVersionError, match="newer triops"):
        upgrade(store)
    assert current_revision(store) == "9999_future"


def test_upgrade_twice_is_a_no_op(store: Store) -> None:
    head = known_revisions()[1]
    assert upgrade(store) == (head, head)


def test_the_head_read_without_alembic_is_alembics_head() -> None:
    revisions, head = known_revisions()
    assert plain_chain_head() == head and head in revisions


def test_migrations_that_are_not_one_plain_chain_are_left_to_alembic(tmp_path: Path) -> None:
    chain = {
        "a.py": 'revision = "a"\ndown_revision = None\n',
        "b.py": 'revision: str = "b"\ndown_revision = "a"\n',
    }
    for name, text in chain.items():
        (tmp_path / name).write_text(text)
    assert plain_chain_head(tmp_path) == "b"
    (tmp_path / "c.py").write_text('revision = "c"\ndown_revision = "a"\n')  # two heads
    assert plain_chain_head(tmp_path) is None
    (tmp_path / "c.py").write_text('revision = "c"\ndown_revision = ("a", "b")\n')  # a merge
    assert plain_chain_head(tmp_path) is None


def test_snapshot_reads_one_state_of_the_store(store: Store) -> None:
    """Statements in ``Store.snapshot`` do not see what is committed meanwhile (the FOCUS export's row
    count and rows come from one)."""
    from triops.store.repositories.runs import ensure_project
    from triops.store.tables import projects

    count = sa.select(sa.func.count()).select_from(projects)
    store.write(lambda conn: ensure_project(conn, "before", 1))
    with store.snapshot() as conn:
        seen = conn.execute(count).scalar_one()
        store.write(lambda other: ensure_project(other, "during", 2))
        assert conn.execute(count).scalar_one() == seen
    with store.connect() as conn:
        assert conn.execute(count).scalar_one() == seen + 1
