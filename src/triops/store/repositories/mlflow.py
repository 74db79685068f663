"""Store reads and writes the MLflow-compatible surface needs beyond the tracking repository.

Experiments are projects (their id is the project id; the project named ``default`` is MLflow's
experiment ``0``). A run deleted through MLflow keeps every record and carries the tag
``triops.lifecycle_stage = deleted``. Imported objects keep their MLflow id in a tag, so a re-import finds
them (``imported_run_ids``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from triops.store.tables import latest_metrics, projects, runs, tags


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
    "imported_run_ids",
    "last_run_ms",
    "latest_metric_rows",
    "project_by_id",
    "project_by_name",
    "rename_run",
    "set_run_status",
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
