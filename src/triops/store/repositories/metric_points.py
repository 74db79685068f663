"""Metric points, the tracking hot path: a batch goes in as a few multi-row statements (SQLite) or one
``unnest`` insert (PostgreSQL), and ``latest_metrics`` (the value search filters and orders on) moves forward
with one upsert per key. The caller has checked that the run is still running."""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from triops.store.tables import latest_metrics

MetricRow = tuple[str, float, int, int]  # key, value, step, timestamp_ms
_KEY = operator.itemgetter(0)
_STEP_TIME = operator.itemgetter(2, 3)


def insert_metric_points(conn: Connection, run_id: str, rows: Sequence[MetricRow]) -> None:
    """Append metric points and move each key's latest value forward (by step, then time)."""
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        _insert_metrics_sqlite(conn, run_id, rows)
    else:
        _insert_metrics_postgresql(conn, run_id, rows)
    # each key's row of the highest (step, timestamp), the later of equal ones: a stable sort in C, then the
    # last row of a key wins (a Python comparison loop was a tenth of a 1,000-metric batch)
    ordered = sorted(rows, key=_STEP_TIME)
    latest: dict[str, MetricRow] = dict(zip(map(_KEY, ordered), ordered, strict=True))
    if sqlite:
        _upsert_latest_sqlite(conn, run_id, latest.values())
    else:
        _upsert_latest_postgresql(conn, run_id, latest.values())


def _upsert_latest_postgresql(conn: Connection, run_id: str, rows: Iterable[MetricRow]) -> None:
    conn.execute(
        _postgresql_latest_upsert(),
        [
            {
                "run_id": run_id,
                "key": k,
                "value": 0.0 if v != v else v,
                "is_nan": v != v,
                "step": s,
                "timestamp_ms": t,
            }
            for k, v, s, t in rows
        ],
    )


@functools.cache
def _postgresql_latest_upsert() -> Any:
    """The statement moving each key's latest value forward, built once: building it (the ``excluded`` alias
    and its column proxies) cost a twentieth of a 1,000-metric batch."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert  # loaded by PostgreSQL stores only

    stmt = pg_insert(latest_metrics)
    newer = sa.or_(
        stmt.excluded.step > latest_metrics.c.step,
        sa.and_(
            stmt.excluded.step == latest_metrics.c.step,
            stmt.excluded.timestamp_ms >= latest_metrics.c.timestamp_ms,
        ),
    )
    return stmt.on_conflict_do_update(
        index_elements=["run_id", "key"],
        set_={c: getattr(stmt.excluded, c) for c in ("value", "is_nan", "step", "timestamp_ms")},
        where=newer,
    )


# the same upsert as _postgresql_latest_upsert, as SQLite text on the driver's cursor: one prepared statement per
# connection, and none of SQLAlchemy's per-execute work (a tenth of a millisecond of a LogBatch request)
_SQLITE_LATEST_UPSERT = (
    "INSERT INTO latest_metrics (run_id, key, value, is_nan, step, timestamp_ms) "
    "VALUES (?1, ?2, coalesce(?3, 0.0), ?3 IS NULL, ?4, ?5) "
    "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value, is_nan = excluded.is_nan, "
    "step = excluded.step, timestamp_ms = excluded.timestamp_ms "
    "WHERE excluded.step > latest_metrics.step OR "
    "(excluded.step = latest_metrics.step AND excluded.timestamp_ms >= latest_metrics.timestamp_ms)"
)


def _upsert_latest_sqlite(conn: Connection, run_id: str, rows: Iterable[MetricRow]) -> None:
    raw = conn.connection.dbapi_connection
    assert raw is not None
    cur = raw.cursor()
    try:
        cur.executemany(_SQLITE_LATEST_UPSERT, [(run_id, *row) for row in rows])
    finally:
        cur.close()


_SQLITE_ROWS_PER_INSERT = 1000  # 4 bound values a row: well under SQLite's 32,766 variables


@functools.lru_cache(maxsize=32)
def _sqlite_metrics_insert(n: int) -> str:
    """One INSERT of ``n`` rows: ``?1`` is the run, then key, value, step, timestamp per row. SQLite binds
    NaN as NULL, so ``coalesce``/``IS NULL`` store it as value 0 with its flag; infinities stay as they are."""
    rows = ", ".join(
        f"(?1, ?{j}, coalesce(?{j + 1}, 0.0), ?{j + 1} IS NULL, ?{j + 2}, ?{j + 3})"
        for j in range(2, 2 + 4 * n, 4)
    )
    return f"INSERT INTO metrics (run_id, key, value, is_nan, step, timestamp_ms) VALUES {rows}"


def _sqlite_chunks(n: int) -> list[int]:
    """Row counts of the statements for ``n`` rows: full ones, then powers of two, so a few statement
    texts (each prepared once per connection) serve every batch size."""
    sizes = [_SQLITE_ROWS_PER_INSERT] * (n // _SQLITE_ROWS_PER_INSERT)
    rest = n % _SQLITE_ROWS_PER_INSERT
    bit = 512
    while rest:
        if rest >= bit:
            sizes.append(bit)
            rest -= bit
        bit //= 2
    return sizes


def _insert_metrics_sqlite(conn: Connection, run_id: str, rows: Sequence[MetricRow]) -> None:
    # A few statements of many rows each, not executemany: the driver would otherwise release and re-take
    # the GIL for every row, which convoys with the thread that is logging; and binding values costs less
    # than SQLite taking them apart from JSON (json_each), which profiled at a third more CPU a batch.
    raw = conn.connection.dbapi_connection
    assert raw is not None
    cur = raw.cursor()
    try:
        start = 0
        for size in _sqlite_chunks(len(rows)):
            chunk = rows[start : start + size]
            cur.execute(_sqlite_metrics_insert(size), (run_id, *itertools.chain.from_iterable(chunk)))
            start += size
    finally:
        cur.close()


def _insert_metrics_postgresql(conn: Connection, run_id: str, rows: Sequence[MetricRow]) -> None:
    keys, values, steps, stamps = zip(*rows, strict=True)
    nans = [v != v for v in values]
    conn.exec_driver_sql(
        "INSERT INTO metrics (run_id, key, value, is_nan, step, timestamp_ms) "
        "SELECT %s, * FROM unnest(%s::text[], %s::float8[], %s::boolean[], %s::bigint[], %s::bigint[])",
        (
            run_id,
            list(keys),
            [0.0 if n else v for v, n in zip(values, nans, strict=True)],
            nans,
            list(steps),
            list(stamps),
        ),
    )
