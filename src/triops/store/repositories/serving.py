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

from triops.store.tables_serving import prediction_batches as B
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


_BATCH_COLUMNS = (
    "request_id",
    "model",
    "version",
    "model_version_id",
    "alias",
    "time_ms",
    "rows",
    "inputs",
    "outputs",
    "scores",
    "latency_ms",
    "principal",
)


def insert_log(conn: Connection, records: Sequence[Sequence[Any]]) -> None:
    """Insert a flush of the log writer: per-prediction rows (12 fields, ``_COLUMNS``) and batch records
    (``_BATCH_COLUMNS``, told apart by their ``rows`` field), each kind in one ``executemany``."""
    rows = [r for r in records if not hasattr(r, "rows")]
    batches = [tuple(r) for r in records if hasattr(r, "rows")]
    insert_predictions(conn, rows)
    if batches:
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        sql = (
            f"INSERT INTO {B.name} ({', '.join(_BATCH_COLUMNS)}) VALUES ({', '.join([mark] * len(_BATCH_COLUMNS))})"
            " ON CONFLICT (request_id) DO NOTHING"
        )
        conn.exec_driver_sql(sql, batches)


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
    starting after the ``(time_ms, id)`` cursor ``after``; ``inputs``/``output`` decoded. Batch records are
    expanded into their rows and merged in."""
    rows = list(_select_rows(conn, model, version, since_ms, until_ms, after, limit, ids))
    expanded = _select_batch_rows(conn, model, version, since_ms, until_ms, after, limit, ids)
    if not expanded:
        yield from rows
        return
    merged = sorted(rows + expanded, key=lambda r: (r["time_ms"], r["id"]))
    yield from merged[:limit] if limit is not None else merged


def _select_rows(
    conn: Connection,
    model: str,
    version: int | None,
    since_ms: int | None,
    until_ms: int | None,
    after: tuple[int, str] | None,
    limit: int | None,
    ids: Sequence[str] | None,
) -> Iterator[dict[str, Any]]:
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


def _select_batch_rows(
    conn: Connection,
    model: str,
    version: int | None,
    since_ms: int | None,
    until_ms: int | None,
    after: tuple[int, str] | None,
    limit: int | None,
    ids: Sequence[str] | None,
) -> list[dict[str, Any]]:
    """The rows of the batch records in range, after the cursor; enough of them for ``limit`` (batches are
    read in time order until ``limit`` rows are in hand and the next batch is later than the last)."""
    query = sa.select(B).where(B.c.model == model)
    if version is not None:
        query = query.where(B.c.version == version)
    if since_ms is not None:
        query = query.where(B.c.time_ms >= since_ms)
    if until_ms is not None:
        query = query.where(B.c.time_ms < until_ms)
    if after is not None:
        query = query.where(B.c.time_ms >= after[0])
    wanted: dict[str, set[int]] | None = None
    if ids is not None:
        wanted = {}
        for pid in ids:
            request, _, index = str(pid).partition("/")
            if index.isdigit():
                wanted.setdefault(request, set()).add(int(index))
        if not wanted:
            return []
        query = query.where(B.c.request_id.in_(list(wanted)))
    out: list[dict[str, Any]] = []
    last_time: int | None = None
    for record in conn.execute(query.order_by(B.c.time_ms, B.c.request_id)):
        batch = record._mapping
        if limit is not None and len(out) >= limit and last_time is not None and batch["time_ms"] > last_time:
            break
        rows = expand_batch(batch, None if wanted is None else wanted.get(batch["request_id"], set()))
        if after is not None:
            rows = [r for r in rows if (r["time_ms"], r["id"]) > after]
        out.extend(rows)
        last_time = batch["time_ms"]
    return out


def expand_batch(batch: Any, only: set[int] | None = None) -> list[dict[str, Any]]:
    """The prediction rows of one batch record (``only``: just these row indexes)."""
    n = int(batch["rows"])
    columns = orjson.loads(batch["inputs"]) if batch["inputs"] is not None else None
    outputs = orjson.loads(batch["outputs"])
    scores = orjson.loads(batch["scores"]) if batch["scores"] is not None else None
    request = batch["request_id"]
    names = list(columns) if columns is not None else []
    indexes = range(n) if only is None else sorted(i for i in only if i < n)
    return [
        {
            "id": f"{request}/{i}",
            "request_id": request,
            "model": batch["model"],
            "version": batch["version"],
            "model_version_id": batch["model_version_id"],
            "alias": batch["alias"],
            "time_ms": batch["time_ms"],
            "inputs": None if columns is None else {c: columns[c][i] for c in names},
            "output": outputs[i],
            "score": None if scores is None else scores[i],
            "latency_ms": batch["latency_ms"],
            "principal": batch["principal"],
        }
        for i in indexes
    ]


def batch_rows(conn: Connection, request_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
    """Request id → (model, rows) of the batch records among ``request_ids``."""
    out: dict[str, tuple[str, int]] = {}
    ids = list(dict.fromkeys(request_ids))
    for start in range(0, len(ids), 500):
        query = sa.select(B.c.request_id, B.c.model, B.c.rows).where(
            B.c.request_id.in_(ids[start : start + 500])
        )
        for request, model, rows in conn.execute(query):
            out[str(request)] = (str(model), int(rows))
    return out


def count_predictions(
    conn: Connection, *, model: str | None = None, version: int | None = None
) -> dict[tuple[str, int], int]:
    """Logged predictions per (model, version): rows and the rows of batch records."""
    out: dict[tuple[str, int], int] = {}
    for table, counted in ((P, sa.func.count()), (B, sa.func.sum(B.c.rows))):
        query = sa.select(table.c.model, table.c.version, counted).group_by(table.c.model, table.c.version)
        if model is not None:
            query = query.where(table.c.model == model)
        if version is not None:
            query = query.where(table.c.version == version)
        for m, v, n in conn.execute(query):
            out[(str(m), int(v))] = out.get((str(m), int(v)), 0) + int(n or 0)
    return out
