"""Prediction-log rows: the batched insert the log writer makes and the reads ``ws.serving`` offers.

Inserts go through one driver ``executemany`` with JSON already serialised (orjson) by the writer thread;
reads return raw rows in (time, id) order, decoded here once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from triops.store.tables_serving import predictions as P

_COLUMNS = (
    "id",
    "request_id",
    "model",
    "version",
    "model_version_id",
    "alias",
    "time_ms",
    "inputs",
    "output",
    "score",
    "latency_ms",
    "principal",
)
_JSON = {"inputs", "output"}


def insert_predictions(conn: Connection, rows: Sequence[Sequence[Any]]) -> None:
    """Insert rows in ``_COLUMNS`` order; ``inputs`` and ``output`` are JSON text (or ``None``). A row whose
    id is already stored is skipped, so a flush retried after a lost commit never duplicates a row."""
    if not rows:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    cast = conn.dialect.name == "postgresql"
    marks = [f"CAST({mark} AS JSON)" if cast and c in _JSON else mark for c in _COLUMNS]
    sql = f"INSERT INTO {P.name} ({', '.join(_COLUMNS)}) VALUES ({', '.join(marks)}) ON CONFLICT (id) DO NOTHING"
    conn.exec_driver_sql(sql, [tuple(r) for r in rows])


def _decode(value: Any) -> Any:
    if isinstance(value, str | bytes):
        return orjson.loads(value)
    return value


def select_predictions(
    conn: Connection,
    *,
    model: str,
    version: int | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
    after: tuple[int, str] | None = None,
    limit: int | None = None,
    ids: Sequence[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Rows of ``model`` (and ``version``) with ``since_ms <= time_ms < until_ms``, in (time, id) order,
    starting after the ``(time_ms, id)`` cursor ``after``; ``inputs``/``output`` decoded."""
    cols = [P.c[c] if c not in _JSON else sa.type_coerce(P.c[c], sa.Text).label(c) for c in _COLUMNS]
    query = sa.select(*cols).where(P.c.model == model)
    if version is not None:
        query = query.where(P.c.version == version)
    if since_ms is not None:
        query = query.where(P.c.time_ms >= since_ms)
    if until_ms is not None:
        query = query.where(P.c.time_ms < until_ms)
    if after is not None:
        query = query.where(
            sa.or_(P.c.time_ms > after[0], sa.and_(P.c.time_ms == after[0], P.c.id > after[1]))
        )
    if ids is not None:
        query = query.where(P.c.id.in_(list(ids)))
    query = query.order_by(P.c.time_ms, P.c.id)
    if limit is not None:
        query = query.limit(limit)
    for row in conn.execute(query):
        out = dict(row._mapping)
        out["inputs"] = _decode(out["inputs"])
        out["output"] = _decode(out["output"])
        yield out


def count_predictions(
    conn: Connection, *, model: str | None = None, version: int | None = None
) -> dict[tuple[str, int], int]:
    """Logged predictions per (model, version)."""
    query = sa.select(P.c.model, P.c.version, sa.func.count()).group_by(P.c.model, P.c.version)
    if model is not None:
        query = query.where(P.c.model == model)
    if version is not None:
        query = query.where(P.c.version == version)
    return {(str(m), int(v)): int(n) for m, v, n in conn.execute(query)}
