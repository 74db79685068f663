"""Opening the SQL store: URL parsing, SQLite pragmas (WAL, busy timeout), transactions with retry,
corrupt-file detection and the Alembic migration gate (a newer store is refused, never altered)."""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from triops.errors import ConfigError, StoreCorruptError, StoreError

SUPPORTED_SCHEMES = ("sqlite:///PATH", "postgresql+psycopg://USER@HOST:PORT/DB", "http(s)://HOST:PORT")
_SQLITE_HEADER = b"SQLite format 3\x00"
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


def _check_sqlite_file(path: Path) -> None:
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        with path.open("rb") as fh:
            header = fh.read(16)
    except OSError as exc:
        raise StoreCorruptError(
            f"cannot read store file {path}: {exc}", hint="check its permissions"
        ) from exc
    if header != _SQLITE_HEADER:
        raise StoreCorruptError(
            f"{path} is not a triops store (not an SQLite database); it was left untouched",
            hint="move it aside or point TRIOPS_HOME / the store URL at another directory",
        )


def _sqlite_engine(url: sa.URL, busy_timeout_ms: int) -> Engine:
    database = url.database or ""
    if database and database != ":memory:":
        path = Path(database)
        _check_sqlite_file(path)
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url,
        connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
        poolclass=sa.pool.QueuePool if database not in ("", ":memory:") else sa.pool.StaticPool,
        pool_size=4,
        max_overflow=8,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # Autocommit at the driver level: we issue BEGIN ourselves (pysqlite's own BEGIN is deferred).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA case_sensitive_like = ON")
        cur.close()

    return engine


def create_store(url: str, *, busy_timeout_ms: int = 30_000) -> Store:
    """An engine for ``url``; raises ConfigError naming the URL and the supported schemes if it is not one."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ConfigError(
            f"cannot parse store URL {url!r}", hint=f"supported: {', '.join(SUPPORTED_SCHEMES)}"
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = _sqlite_engine(parsed, busy_timeout_ms)
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
    except sa.exc.DatabaseError as exc:
        orig = getattr(exc, "orig", exc)
        if isinstance(orig, sqlite3.DatabaseError) and (
            "not a database" in str(orig) or "malformed" in str(orig)
        ):
            raise StoreCorruptError(
                f"{store.url} is not a readable SQLite database; it was left untouched",
                hint="move the file aside or restore it from a backup",
            ) from exc
        raise StoreError(
            f"cannot connect to the store at {_redact(store.url)}: {orig}",
            hint="check that the database server is running and the URL is right",
        ) from exc


def _redact(url: str) -> str:
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url
