"""Shared fixtures: a fresh store on SQLite and on PostgreSQL for every contract test.

PostgreSQL is never skipped silently: if it cannot be reached, the tests that need it fail with the reason.
Each pytest session creates its own PostgreSQL schema and drops it at the end.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from triops.governance.roles import bootstrap_owner
from triops.settings import Settings
from triops.store.engine import Store, create_store
from triops.store.migrate import VERSION_TABLE, known_revisions, upgrade
from triops.store.schema import metadata

# With PYTHONDONTWRITEBYTECODE set (some shells and CI images set it), every console-script, server and worker
# process the tests start would compile triops and its dependencies again: ~1.6 s of CPU each, hundreds of
# them. The tests write bytecode to the (ignored) __pycache__ folders instead; xdist workers and subprocesses
# inherit this environment.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False

PG_BASE_URL = os.environ.get("TRIOPS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


#: markers of the suite's longest tests (tens of seconds each)
LONG_MARKERS = ("slow", "shared_store")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules with a long test run first: with ``-n 2`` a long test started last keeps one worker busy while
    the other has nothing left to do. (xdist's loadgroup already sends its groups first.) The order within a
    module is kept, so module-scoped fixtures are set up no more often."""
    long_modules = {
        item.path for item in items if any(next(item.iter_markers(m), None) for m in LONG_MARKERS)
    }
    items.sort(key=lambda item: item.path not in long_modules)


def _pg_url(schema: str) -> str:
    return f"{PG_BASE_URL}?options=-csearch_path%3D{schema}"


def _migrate(store: Store) -> None:
    upgrade(store)
    # Tables added since the migration was last generated still get created for tests;
    # tests/store/test_migrations.py fails until the migration catches up.
    metadata.create_all(store.engine)


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    schema = f"triops_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = sa.create_engine(PG_BASE_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except sa.exc.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL at {PG_BASE_URL} is not reachable ({exc.orig}); start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` (make test does this)"
        )
    url = _pg_url(schema)
    store = create_store(url)
    _migrate(store)
    store.dispose()
    yield url
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "store.db"
    store = create_store(f"sqlite:///{path}")
    _migrate(store)
    with store.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store.dispose()
    return path


def _truncate_all(store: Store) -> None:
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with store.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {names} CASCADE")
        # a test may have moved the schema revision (e.g. to simulate a newer triops): put it back
        conn.execute(
            sa.text(f"UPDATE {VERSION_TABLE} SET version_num = :head"), {"head": known_revisions()[1]}
        )


@pytest.fixture
def sqlite_store_url(sqlite_template: Path, tmp_path: Path) -> str:
    target = tmp_path / "store.db"
    shutil.copyfile(sqlite_template, target)
    return f"sqlite:///{target}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh, migrated, empty store on each backend."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_store_url")
    else:
        url = request.getfixturevalue("pg_schema_url")
        store = create_store(url)
        _truncate_all(store)
        # a PostgreSQL store is never bootstrapped implicitly: the test's user is made its admin, as
        # `triops init --admin NAME` does (a SQLite store makes its first user the owner by itself)
        bootstrap_owner(store, Settings.load().acting_user)
        store.dispose()
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A fresh, migrated, empty Store on SQLite and on PostgreSQL (the contract-test fixture)."""
    s = create_store(store_url)
    if s.dialect == "postgresql":
        _truncate_all(s)  # the raw store starts empty: no owner binding, no audit event
    yield s
    s.dispose()


@pytest.fixture
def sqlite_store(sqlite_store_url: str) -> Iterator[Store]:
    s = create_store(sqlite_store_url)
    yield s
    s.dispose()


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Every test gets its own TRIOPS_HOME, so nothing writes a .triops folder into the working tree, and the
    CLI's cached workspace is closed after each test."""
    from triops.cli import context

    monkeypatch.setenv("TRIOPS_HOME", str(tmp_path_factory.mktemp("home")))
    # the audit key and witness live outside TRIOPS_HOME, under these by default: one pair per test
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
    monkeypatch.delenv("TRIOPS_STORE_URL", raising=False)
    yield
    context.close_workspace()
    context.STATE.store_url = None
    context.STATE.token = None
    context.STATE.debug = False
