"""Many rows in one driver ``executemany``, for the per-step hot path of pipeline runs.

SQLAlchemy's compiled ``insert``/``update`` process parameters row by row in Python; for a pipeline of
trivial steps that cost more than SQLite's own work. These helpers render the statement once per call
(unqualified table names, so PostgreSQL's ``search_path`` applies as it does for Core) and hand the driver
plain tuples. JSON columns are serialised here (orjson, or ``json.dumps`` as SQLAlchemy's ``JSON`` type
would for what orjson refuses) and cast on PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection


def _json_text(value: Any) -> str:
    """The JSON text of a column value, read back by ``json.loads`` as SQLAlchemy's ``JSON`` type would
    have written it: orjson's (several per step, a few times faster), ``json.dumps`` for what orjson does
    not take (a subclass of a builtin type, an integer over 64 bits)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


def _mark(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def insert_rows(
    conn: Connection,
    table: sa.Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    skip_conflicts_on: Sequence[str] | None = None,
) -> None:
    """``INSERT`` ``rows`` (tuples in ``columns`` order); with ``skip_conflicts_on``, rows whose key exists
    are left as they are (``ON CONFLICT (…) DO NOTHING``, the same on SQLite and PostgreSQL)."""
    if not rows:
        return
    mark = _mark(conn)
    json_at = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, sa.JSON)]
    cast = conn.dialect.name == "postgresql"
    marks = [f"CAST({mark} AS JSON)" if cast and i in json_at else mark for i in range(len(columns))]
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join(marks)})"
    if skip_conflicts_on:
        sql += f" ON CONFLICT ({', '.join(skip_conflicts_on)}) DO NOTHING"
    if json_at:
        converted = []
        for row in rows:
            values = list(row)
            for i in json_at:
                values[i] = _json_text(values[i])
            converted.append(tuple(values))
        rows = converted
    conn.exec_driver_sql(sql, [tuple(r) for r in rows])


def update_rows(
    conn: Connection, table: sa.Table, key: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """``UPDATE`` ``columns`` of the rows matched by ``key``; each row is (*values, key value)."""
    if not rows:
        return
    mark = _mark(conn)
    assignments = ", ".join(f"{c} = {mark}" for c in columns)
    conn.exec_driver_sql(
        f"UPDATE {table.name} SET {assignments} WHERE {key} = {mark}", [tuple(r) for r in rows]
    )
