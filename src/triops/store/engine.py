"""Opening the SQL store: URL parsing, transactions with retry and the first probe of a new engine.

SQLite specifics (a private new file, pragmas, damaged files) live in store/sqlite.py."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from triops.errors import ConfigError, StoreCorruptError, StoreError
from triops.store.sqlite import Synchronous, sqlite_engine
from triops.store.sqlite_file import corrupt_error, is_corruption

SUPPORTED_SCHEMES = ("sqlite:///PATH", "postgresql+psycopg://USER@HOST:PORT/DB", "http(s)://HOST:PORT")
T = TypeVar("T")


def _is_busy(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "database is locked" in text or "database is busy" in text or "deadlock detected" in text


class Store:
    """The SQL store: an engine plus transaction helpers. Repositories take connections from here."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url
        self.dialect: str = engine.dialect.name

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One write transaction. On SQLite it takes the write lock up front (BEGIN IMMEDIATE) so that
        concurrent writers queue on the busy timeout instead of failing on a lock upgrade."""
        with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.begin()
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            else:
                conn.commit()

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """One read transaction: every statement in it sees the same state of the store (SQLite's
        driver runs each statement on its own otherwise; PostgreSQL is asked for REPEATABLE READ)."""
        with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                conn.exec_driver_sql("BEGIN")
            else:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
                conn.begin()
            try:
                yield conn
            finally:
                conn.rollback()

    def write(self, fn: Callable[[Connection], T], attempts: int = 8) -> T:
        """Run ``fn`` in a write transaction, retrying when the database reports it is busy or deadlocked."""
        delay = 0.02
        for attempt in range(attempts):
            try:
                with self.begin() as conn:
                    return fn(conn)
            except (OperationalError, DBAPIError) as exc:
                if not _is_busy(exc) or attempt == attempts - 1:
                    raise
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 1.0)
        raise StoreError("unreachable")  # pragma: no cover

    def dispose(self) -> None:
        self.engine.dispose()


def create_store(
    url: str, *, busy_timeout_ms: int = 30_000, sqlite_synchronous: Synchronous = "NORMAL"
) -> Store:
    """An engine for ``url``; raises ConfigError naming the URL and the supported schemes if it is not one.

    Open a store once per process and share the Store (``Workspace.acting_as`` does): see store/sqlite.py."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ConfigError(
            f"cannot parse store URL {url!r}", hint=f"supported: {', '.join(SUPPORTED_SCHEMES)}"
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = sqlite_engine(parsed, busy_timeout_ms=busy_timeout_ms, synchronous=sqlite_synchronous)
    elif backend == "postgresql":
        if parsed.get_driver_name() not in ("psycopg", "psycopg2"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = sa.create_engine(parsed, pool_pre_ping=True, pool_size=4, max_overflow=8)
    else:
        raise ConfigError(
            f"unsupported store URL scheme {parsed.drivername!r} in {url!r}",
            hint=f"supported: {', '.join(SUPPORTED_SCHEMES)}",
        )
    store = Store(engine, url)
    _probe(store)
    return store


def _probe(store: Store) -> None:
    try:
        with store.connect() as conn:
            if store.dialect == "sqlite":
                conn.exec_driver_sql("PRAGMA schema_version").scalar()
            else:
                conn.exec_driver_sql("SELECT 1").scalar()
    except StoreCorruptError:
        store.dispose()
        raise
    except sa.exc.DatabaseError as exc:
        store.dispose()
        orig = getattr(exc, "orig", exc)
        if is_corruption(exc):
            raise corrupt_error(store.engine.url.database or store.url) from exc
        raise StoreError(
            f"cannot connect to the store at {_redact(store.url)}: {orig}",
            hint="check that the database server is running and the URL is right",
        ) from exc


def _redact(url: str) -> str:
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url
