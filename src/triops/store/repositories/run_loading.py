"""Reading whole runs (attributes, params, tags, latest metrics, artifacts) for a list of run ids.

Five statements whatever the number of runs; the ids travel as one bound value the database unpacks, so a
page of 1,000 runs does not render 1,000 parameters into each statement. ``load_runs`` builds ``Run``
records; ``load_run_wires`` builds the JSON wire form of the same runs directly (what ``run_to_wire(
run.to_dict())`` gives), which a listing of 100,000 runs over HTTP needs without the records in between.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from triops.domain.clock import from_ms
from triops.domain.records import ArtifactRef, Run, RunStatus
from triops.domain.wire import float_to_wire
from triops.store.tables import artifacts, latest_metrics, params, projects, run_artifacts, runs, tags


def id_set(conn: Connection, ids: list[str]) -> Any:
    """``ids`` as one bound value the database unpacks (SQLite ``json_each``, PostgreSQL ``unnest``)."""
    if len(ids) <= 20:
        return ids
    if conn.dialect.name == "sqlite":
        values = sa.func.json_each(sa.bindparam("ids_json", orjson.dumps(ids).decode())).table_valued("value")
        return sa.select(values.c.value)
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return sa.select(sa.func.unnest(sa.bindparam("ids_array", ids, type_=ARRAY(sa.String))))
    return ids


@dataclass
class _Parts:
    base: dict[str, Any]
    params: dict[str, dict[str, str]]
    tags: dict[str, dict[str, str]]
    metrics: dict[str, dict[str, float]]
    artifacts: dict[str, list[ArtifactRef]]


def _parts(conn: Connection, ids: list[str]) -> _Parts:
    wanted = id_set(conn, ids)
    columns = (
        runs.c.id,
        projects.c.name,
        runs.c.name,
        runs.c.status,
        runs.c.kind,
        runs.c.start_ms,
        runs.c.end_ms,
        runs.c.error,
        runs.c.user_name,
        runs.c.parent_id,
    )
    query = (
        sa.select(*columns).join(projects, projects.c.id == runs.c.project_id).where(runs.c.id.in_(wanted))
    )
    base = {row[0]: row for row in conn.execute(query).all()}  # fetchall: one call, not one per row
    p: dict[str, dict[str, str]] = {i: {} for i in ids}
    t: dict[str, dict[str, str]] = {i: {} for i in ids}
    m: dict[str, dict[str, float]] = {i: {} for i in ids}
    a: dict[str, list[ArtifactRef]] = {i: [] for i in ids}
    for rid, k, v in conn.execute(
        sa.select(params.c.run_id, params.c.key, params.c.value).where(params.c.run_id.in_(wanted))
    ).all():
        p[rid][k] = v
    for rid, k, v in conn.execute(
        sa.select(tags.c.run_id, tags.c.key, tags.c.value).where(tags.c.run_id.in_(wanted))
    ).all():
        t[rid][k] = v
    for rid, k, v, nan in conn.execute(
        sa.select(
            latest_metrics.c.run_id, latest_metrics.c.key, latest_metrics.c.value, latest_metrics.c.is_nan
        ).where(latest_metrics.c.run_id.in_(wanted))
    ).all():
        m[rid][k] = math.nan if nan else float(v)
    for rid, name, sha, size, media in conn.execute(
        sa.select(
            run_artifacts.c.run_id,
            run_artifacts.c.name,
            artifacts.c.sha256,
            artifacts.c.size,
            artifacts.c.media_type,
        )
        .join(artifacts, artifacts.c.sha256 == run_artifacts.c.sha256)
        .where(run_artifacts.c.run_id.in_(wanted))
        .order_by(run_artifacts.c.name)
    ):
        a[rid].append(ArtifactRef(name, sha, int(size), media))
    return _Parts(base, p, t, m, a)


def load_runs(conn: Connection, run_ids: Sequence[str]) -> list[Run]:
    """Full Run records (params, tags, latest metrics, artifacts) for ``run_ids``, in the order given."""
    if not run_ids:
        return []
    ids = list(run_ids)
    parts = _parts(conn, ids)
    out = []
    for rid in ids:
        row = parts.base.get(rid)
        if row is None:
            continue
        _, project, name, status, kind, start_ms, end_ms, error, user, parent = row
        out.append(
            Run(
                id=rid,
                project=project,
                name=name,
                status=RunStatus(status),
                kind=kind,
                start_time=from_ms(start_ms),
                end_time=from_ms(end_ms) if end_ms is not None else None,
                error=error,
                user=user,
                params=parts.params[rid],
                tags=parts.tags[rid],
                metrics=parts.metrics[rid],
                artifacts=tuple(parts.artifacts[rid]),
                parent_id=parent,
            )
        )
    return out


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


def load_run_wires(conn: Connection, run_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The JSON wire form of the runs ``run_ids`` (as ``run_to_wire(run.to_dict())``), in the order given."""
    if not run_ids:
        return []
    ids = list(run_ids)
    parts = _parts(conn, ids)
    out = []
    for rid in ids:
        row = parts.base.get(rid)
        if row is None:
            continue
        _, project, name, status, kind, start_ms, end_ms, error, user, parent = row
        out.append(
            {
                "id": rid,
                "project": project,
                "name": name,
                "status": status,
                "kind": kind,
                "start_time": _iso(start_ms),
                "end_time": _iso(end_ms) if end_ms is not None else None,
                "duration_s": None if end_ms is None else (end_ms - start_ms) / 1000,
                "error": error,
                "user": user,
                "parent_id": parent,
                "params": parts.params[rid],
                "tags": parts.tags[rid],
                "metrics": {k: float_to_wire(v) for k, v in parts.metrics[rid].items()},
                "artifacts": [
                    {"name": a.name, "sha256": a.sha256, "size": a.size, "media_type": a.media_type}
                    for a in parts.artifacts[rid]
                ],
            }
        )
    return out
