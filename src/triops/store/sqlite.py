"""SQLite specifics: creating the file privately, the connection pragmas, and damaged files as one clear error.

Two rules keep several processes safe on one SQLite file (see SQLite's "How To Corrupt An SQLite Database
File", section 2.2): this process never opens the database file with anything but SQLite once a connection
exists (closing *any* descriptor of the file drops every POSIX lock the process holds on it, and the next
process to close its last connection then deletes the WAL this one is still writing to), and it keeps one
engine per store. So a new file is made before the first connection, and a file that is not a database
is recognised by SQLite itself when it first reads it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from triops.files import create_private_file
from triops.store.sqlite_file import MMAP_BYTES, corrupt_error, is_corruption

Synchronous = Literal["NORMAL", "FULL"]
SYNCHRONOUS_CHOICES: tuple[str, ...] = ("NORMAL", "FULL")


def sqlite_engine(url: sa.URL, *, busy_timeout_ms: int, synchronous: Synchronous) -> Engine:
    """An engine for one SQLite file: WAL, the busy timeout, ``synchronous`` as chosen, foreign keys on."""
    if synchronous not in SYNCHRONOUS_CHOICES:
        raise ValueError(synchronous)
    database = url.database or ""
    in_memory = database in ("", ":memory:")
    if not in_memory:
        # made before SQLite opens it: SQLite gives the -wal and -shm files the database file's mode
        create_private_file(Path(database))
    engine = sa.create_engine(
        url,
        connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
        poolclass=sa.pool.StaticPool if in_memory else sa.pool.QueuePool,
        **({} if in_memory else {"pool_size": 4, "max_overflow": 8}),
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # Autocommit at the driver level: we issue BEGIN ourselves (pysqlite's own BEGIN is deferred).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute(f"PRAGMA synchronous = {synchronous}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA case_sensitive_like = ON")
        # reads through the OS page cache shared by every connection and process, without copying pages
        # into each connection's own 2 MB cache: searches probing runs at random read half the CPU
        cur.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
        cur.close()

    @event.listens_for(engine, "handle_error")
    def _on_error(context: Any) -> None:
        # a damaged page can surface in any statement, long after the file opened fine
        if is_corruption(context.original_exception):
            raise corrupt_error(database) from context.original_exception

    return engine
