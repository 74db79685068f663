"""Store reads and writes the MLflow-compatible surface needs beyond the tracking repository.

Experiments are projects (their id is the project id; the project named ``default`` is MLflow's
experiment ``0``). A run deleted through MLflow keeps every record and carries the tag
``triops.lifecycle_stage = deleted``. Imported objects keep their MLflow id in a tag, so a re-import finds
them (``imported_run_ids``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from triops.store.bulk import insert_rows
from triops.store.tables import latest_metrics, params, projects, runs, tags


class ProjectRow(NamedTuple):
    id: str
    name: str
    created_ms: int


def project_by_id(conn: Connection, project_id: str) -> ProjectRow | None:
    row = conn.execute(
        sa.select(projects.c.id, projects.c.name, projects.c.created_ms).where(projects.c.id == project_id)
    ).first()
    return None if row is None else ProjectRow(str(row[0]), str(row[1]), int(row[2]))


def project_by_name(conn: Connection, name: str) -> ProjectRow | None:
    row = conn.execute(
        sa.select(projects.c.id, projects.c.name, projects.c.created_ms).where(projects.c.name == name)
    ).first()
    return None if row is None else ProjectRow(str(row[0]), str(row[1]), int(row[2]))


def all_projects(conn: Connection) -> list[ProjectRow]:
    rows = conn.execute(
        sa.select(projects.c.id, projects.c.name, projects.c.created_ms).order_by(projects.c.created_ms)
    )
    return [ProjectRow(str(i), str(n), int(c)) for i, n, c in rows]


def last_run_ms(conn: Connection, project_id: str) -> int | None:
    found = conn.execute(
        sa.select(sa.func.max(runs.c.start_ms)).where(runs.c.project_id == project_id)
    ).scalar()
    return None if found is None else int(found)


def delete_tag(conn: Connection, run_id: str, key: str) -> int:
    """Remove a run's tag; returns how many rows went (0 when it had no such tag)."""
    return int(conn.execute(tags.delete().where(tags.c.run_id == run_id, tags.c.key == key)).rowcount)


def rename_run(conn: Connection, run_id: str, name: str) -> None:
    conn.execute(runs.update().where(runs.c.id == run_id).values(name=name))


def set_run_status(conn: Connection, run_id: str, status: str, end_ms: int | None) -> None:
    """Status (and end time) as an MLflow client sets them: a RUNNING run has no end time."""
    conn.execute(runs.update().where(runs.c.id == run_id).values(status=status, end_ms=end_ms))


def imported_run_ids(conn: Connection, key: str, source_ids: Sequence[str]) -> dict[str, str]:
    """{source id: triops run id} for runs tagged ``key`` with one of ``source_ids``."""
    out: dict[str, str] = {}
    ids = list(source_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for run_id, value in conn.execute(
            sa.select(tags.c.run_id, tags.c.value).where(tags.c.key == key, tags.c.value.in_(chunk))
        ):
            out[str(value)] = str(run_id)
    return out


__all__ = [
    "ProjectRow",
    "all_projects",
    "delete_tag",
    "existing_run_ids",
    "imported_run_ids",
    "insert_imported_runs",
    "insert_key_values",
    "insert_metric_history",
    "last_run_ms",
    "latest_metric_rows",
    "parent_ids",
    "project_by_id",
    "project_by_name",
    "rename_run",
    "runs_with_tag",
    "set_run_status",
    "tags_with_prefix",
]


def latest_metric_rows(
    conn: Connection, run_ids: Sequence[str]
) -> dict[str, list[tuple[str, float, int, int]]]:
    """{run id: [(key, latest value, its step, its timestamp ms)]}: the metrics MLflow shows on a run."""
    out: dict[str, list[tuple[str, float, int, int]]] = {r: [] for r in run_ids}
    if not run_ids:
        return out
    lm = latest_metrics
    for rid, key, value, nan, step, ts in conn.execute(
        sa.select(lm.c.run_id, lm.c.key, lm.c.value, lm.c.is_nan, lm.c.step, lm.c.timestamp_ms).where(
            lm.c.run_id.in_(list(run_ids))
        )
    ):
        out[str(rid)].append((str(key), math.nan if nan else float(value), int(step), int(ts)))
    return out


ImportedMetric = tuple[str, str, float, int, int]  # run id, key, value, step, timestamp ms


def existing_run_ids(conn: Connection, run_ids: Sequence[str]) -> set[str]:
    ids = list(run_ids)
    if not ids:
        return set()
    return {str(r) for r in conn.execute(sa.select(runs.c.id).where(runs.c.id.in_(ids))).scalars()}


def parent_ids(conn: Connection, run_ids: Sequence[str]) -> dict[str, str | None]:
    """{run id: its parent id or None} for the runs of ``run_ids`` that exist."""
    out: dict[str, str | None] = {}
    ids = list(run_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for run_id, parent in conn.execute(
            sa.select(runs.c.id, runs.c.parent_id).where(runs.c.id.in_(chunk))
        ):
            out[str(run_id)] = None if parent is None else str(parent)
    return out


def insert_imported_runs(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Runs as imported: (id, project id, name, kind, status, start ms, end ms, user)."""
    insert_rows(
        conn, runs, ("id", "project_id", "name", "kind", "status", "start_ms", "end_ms", "user_name"), rows
    )


def insert_key_values(conn: Connection, table: str, rows: Sequence[tuple[str, str, str]]) -> None:
    """(run id, key, value) rows into ``params`` or ``tags``."""
    insert_rows(conn, params if table == "params" else tags, ("run_id", "key", "value"), rows)


def insert_metric_history(conn: Connection, rows: Sequence[ImportedMetric]) -> None:
    """Whole metric histories of many runs in one statement, and each (run, key)'s latest value."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        run_ids, keys, values, steps, stamps = (list(c) for c in zip(*rows, strict=True))
        nans = [v != v for v in values]
        conn.exec_driver_sql(
            "INSERT INTO metrics (run_id, key, value, is_nan, step, timestamp_ms) SELECT * FROM "
            "unnest(%s::text[], %s::text[], %s::float8[], %s::boolean[], %s::bigint[], %s::bigint[])",
            (
                run_ids,
                keys,
                [0.0 if n else v for v, n in zip(values, nans, strict=True)],
                nans,
                steps,
                stamps,
            ),
        )
    else:
        # one statement over a JSON array (as the tracking hot path does); NaN/inf rows (JSON has none) apart
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cur = raw.cursor()
        try:
            cur.execute(
                "INSERT INTO metrics (run_id, key, value, is_nan, step, timestamp_ms) "
                "SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2, 0, j.value ->> 3, j.value ->> 4 "
                "FROM json_each(?) AS j WHERE j.value ->> 2 IS NOT NULL",
                (orjson.dumps(rows),),
            )
            special = [r for r in rows if not math.isfinite(r[2])]
            if special:
                cur.executemany(
                    "INSERT INTO metrics (run_id, key, value, is_nan, step, timestamp_ms) VALUES (?, ?, ?, ?, ?, ?)",
                    [(r, k, 0.0 if v != v else v, v != v, st, t) for r, k, v, st, t in special],
                )
        finally:
            cur.close()
    latest: dict[tuple[str, str], ImportedMetric] = {}
    for row in rows:
        best = latest.get((row[0], row[1]))
        if best is None or (row[3], row[4]) >= (best[3], best[4]):
            latest[(row[0], row[1])] = row
    insert_rows(
        conn,
        latest_metrics,
        ("run_id", "key", "value", "is_nan", "step", "timestamp_ms"),
        [(r, k, 0.0 if v != v else v, v != v, s, t) for r, k, v, s, t in latest.values()],
    )


def runs_with_tag(conn: Connection, key: str) -> list[tuple[str, str]]:
    """(run id, value) of every run carrying the tag ``key``."""
    return [
        (str(r), str(v))
        for r, v in conn.execute(sa.select(tags.c.run_id, tags.c.value).where(tags.c.key == key))
    ]


def tags_with_prefix(
    conn: Connection, prefix: str, project_names: Sequence[str]
) -> list[tuple[str, str, str]]:
    """(run id, key, value) of tags whose key starts with ``prefix`` on runs of ``project_names``."""
    if not project_names:
        return []
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = conn.execute(
        sa.select(tags.c.run_id, tags.c.key, tags.c.value)
        .join(runs, runs.c.id == tags.c.run_id)
        .join(projects, projects.c.id == runs.c.project_id)
        .where(tags.c.key.like(f"{escaped}%", escape="\\"), projects.c.name.in_(list(project_names)))
    )
    return [(str(r), str(k), str(v)) for r, k, v in rows]
