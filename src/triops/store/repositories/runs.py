"""Runs, params, tags, metrics and run artifacts: writes and point reads.

Metric inserts are the hot path: the statements live in ``metric_points``; this module checks the run is still
running first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from triops.domain.ids import new_id
from triops.domain.records import Metric, Run, RunStatus, StoredArtifact
from triops.errors import ConflictError, InvalidInputError, NotFoundError
from triops.store.bulk import insert_rows
from triops.store.repositories.metric_points import MetricRow as MetricRow  # re-exported
from triops.store.repositories.metric_points import insert_metric_points
from triops.store.repositories.run_loading import load_runs as load_runs  # re-exported
from triops.store.tables import (
    artifacts,
    metrics,
    params,
    projects,
    run_artifacts,
    runs,
    tags,
)


def _insert(conn: Connection, table: sa.Table) -> Any:
    if conn.dialect.name == "postgresql":
        # imported here: a SQLite process (every CLI command on a local store) never loads the dialect
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    return sqlite_insert(table)


def ensure_project(conn: Connection, name: str, now_ms: int) -> str:
    found = conn.execute(sa.select(projects.c.id).where(projects.c.name == name)).scalar()
    if found is not None:
        return str(found)
    stmt = _insert(conn, projects).values(id=new_id(now_ms), name=name, created_ms=now_ms)
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))
    return str(conn.execute(sa.select(projects.c.id).where(projects.c.name == name)).scalar_one())


def project_names(conn: Connection) -> list[str]:
    return list(conn.execute(sa.select(projects.c.name).order_by(projects.c.name)).scalars())


def create_run(
    conn: Connection,
    *,
    run_id: str,
    project_id: str,
    name: str,
    kind: str,
    start_ms: int,
    user_name: str | None,
    tags: Mapping[str, str],
    parent_id: str | None = None,
) -> None:
    if parent_id is not None:
        _require_parent(conn, parent_id)
    conn.execute(
        runs.insert().values(
            id=run_id,
            project_id=project_id,
            name=name,
            kind=kind,
            status=RunStatus.RUNNING.value,
            start_ms=start_ms,
            user_name=user_name,
            parent_id=parent_id,
        )
    )
    set_tags(conn, run_id, tags)


MAX_NESTING = 1000  # a walk up the parents stops here: deeper is a broken chain, not a real experiment


def _require_parent(conn: Connection, parent_id: str) -> None:
    if conn.execute(sa.select(runs.c.id).where(runs.c.id == parent_id)).first() is None:
        raise NotFoundError(
            f"parent run {parent_id!r} does not exist",
            hint="nest the run under an existing run (`triops runs list`)",
            detail={"field": "parent_id"},
        )


def set_parent(conn: Connection, run_id: str, parent_id: str | None) -> None:
    """Nest ``run_id`` under ``parent_id`` (``None``: at the top). A run is never its own ancestor."""
    _require_run(conn, run_id)
    if parent_id is not None:
        _require_parent(conn, parent_id)
        current: str | None = parent_id
        for _ in range(MAX_NESTING):
            if current is None:
                break
            if current == run_id:
                raise InvalidInputError(
                    f"run {run_id} cannot be nested under {parent_id}: it would be its own ancestor",
                    hint="choose a parent that is not the run itself or one of its children",
                    detail={"field": "parent_id"},
                )
            current = conn.execute(sa.select(runs.c.parent_id).where(runs.c.id == current)).scalar()
        else:
            raise InvalidInputError(
                f"run {parent_id} is nested more than {MAX_NESTING} levels deep",
                hint="nest the run under a run nearer the top",
                detail={"field": "parent_id"},
            )
    conn.execute(runs.update().where(runs.c.id == run_id).values(parent_id=parent_id))


# built once: every write to a run (each MLflow LogBatch …) reads these, and building a select cost more
# than running it
_RUN_PROJECT = (
    sa.select(projects.c.name, runs.c.status)
    .join(runs, runs.c.project_id == projects.c.id)
    .where(runs.c.id == sa.bindparam("run_id"))
)
_RUN_STATUS = sa.select(runs.c.status).where(runs.c.id == sa.bindparam("run_id"))


def run_project_status(conn: Connection, run_id: str) -> tuple[str, str]:
    """The name of the project ``run_id`` belongs to, and the run's status, in one read."""
    row = conn.execute(_RUN_PROJECT, {"run_id": run_id}).first()
    if row is None:
        raise NotFoundError(f"run {run_id!r} does not exist", hint="list runs with `triops runs list`")
    return str(row[0]), str(row[1])


def run_project(conn: Connection, run_id: str) -> str:
    """The name of the project ``run_id`` belongs to."""
    return run_project_status(conn, run_id)[0]


def _require_run(conn: Connection, run_id: str) -> None:
    if conn.execute(sa.select(runs.c.id).where(runs.c.id == run_id)).first() is None:
        raise NotFoundError(f"run {run_id!r} does not exist", hint="list runs with `triops runs list`")


def run_status(conn: Connection, run_id: str) -> str:
    found = conn.execute(_RUN_STATUS, {"run_id": run_id}).scalar()
    if found is None:
        raise NotFoundError(f"run {run_id!r} does not exist", hint="list runs with `triops runs list`")
    return str(found)


def finish_run(conn: Connection, run_id: str, status: str, end_ms: int, error: str | None) -> None:
    """End a run. A run ends once: RUNNING is not an end, and an ended run keeps its status (the same status
    again is a no-op). A run marked LOST whose process turns out to be alive may still record its real end."""
    final = RunStatus(status)
    if not final.is_terminal or final is RunStatus.LOST:
        raise InvalidInputError(
            f"status: {status!r} is not a status a run can be finished with",
            hint="finish a run as FINISHED, FAILED or KILLED",
        )
    current = run_status(conn, run_id)
    if current == status:
        return
    if current not in (RunStatus.RUNNING.value, RunStatus.LOST.value):
        raise ConflictError(
            f"run {run_id} already ended as {current}; it cannot become {status}",
            hint="a run ends once; start a new run (or `triops runs resume` a failed one)",
        )
    conn.execute(runs.update().where(runs.c.id == run_id).values(status=status, end_ms=end_ms, error=error))


def require_running(conn: Connection, run_id: str, what: str) -> None:
    """Refuse ``what`` (e.g. "metrics") on a run that has ended: it would be accepted and never read."""
    current = run_status(conn, run_id)
    if current != RunStatus.RUNNING.value:
        _refuse_ended(run_id, current, what)


def _refuse_ended(run_id: str, status: str, what: str) -> None:
    raise ConflictError(
        f"run {run_id} ended as {status}; {what} logged after the end of a run are refused",
        hint="log before the run ends (inside its `with` block), or start a new run",
    )


def log_params(conn: Connection, run_id: str, values: Mapping[str, str]) -> None:
    """Params are immutable: the same value again is a no-op, a different value is a ConflictError."""
    if not values:
        return
    existing: dict[str, str] = {
        k: v
        for k, v in conn.execute(
            sa.select(params.c.key, params.c.value).where(
                params.c.run_id == run_id, params.c.key.in_(list(values))
            )
        )
    }
    for key, value in values.items():
        if key in existing and existing[key] != value:
            raise ConflictError(
                f"param {key!r} of run {run_id} is already {existing[key]!r}; cannot change it to {value!r}",
                hint="params are immutable; log a new run, or use a tag or metric for values that change",
            )
    new = [{"run_id": run_id, "key": k, "value": v} for k, v in values.items() if k not in existing]
    if new:
        conn.execute(params.insert(), new)


def set_tags(conn: Connection, run_id: str, values: Mapping[str, str]) -> None:
    if not values:
        return
    stmt = _insert(conn, tags)
    stmt = stmt.on_conflict_do_update(index_elements=["run_id", "key"], set_={"value": stmt.excluded.value})
    conn.execute(stmt, [{"run_id": run_id, "key": k, "value": v} for k, v in values.items()])


def insert_metrics(
    conn: Connection, run_id: str, rows: Sequence[MetricRow], *, status: str | None = None
) -> None:
    """Append metric points and move each key's latest value forward (by step, then time). The run must
    still be RUNNING; ``status`` is the run's, when the caller read it in this transaction already."""
    if not rows:
        return
    if status is None:
        require_running(conn, run_id, "metrics")
    elif status != RunStatus.RUNNING.value:
        _refuse_ended(run_id, status, "metrics")
    insert_metric_points(conn, run_id, rows)


def metric_history(conn: Connection, run_id: str, key: str) -> list[Metric]:
    _require_run(conn, run_id)
    rows = conn.execute(
        sa.select(metrics.c.key, metrics.c.value, metrics.c.is_nan, metrics.c.step, metrics.c.timestamp_ms)
        .where(metrics.c.run_id == run_id, metrics.c.key == key)
        .order_by(metrics.c.step, metrics.c.timestamp_ms)
    )
    return [Metric(k, math.nan if nan else float(v), int(s), int(t)) for k, v, nan, s, t in rows]


def metric_histories(
    conn: Connection, run_ids: Sequence[str], keys: Sequence[str]
) -> dict[str, dict[str, list[Metric]]]:
    """The history of each of ``keys`` in each of ``run_ids`` (run id to key to points by step, then time),
    in one query: a page comparing 8 runs over 10 metrics asked 80. Unknown runs and keys are absent."""
    out: dict[str, dict[str, list[Metric]]] = {}
    if not run_ids or not keys:
        return out
    rows = conn.execute(
        sa.select(
            metrics.c.run_id,
            metrics.c.key,
            metrics.c.value,
            metrics.c.is_nan,
            metrics.c.step,
            metrics.c.timestamp_ms,
        )
        .where(metrics.c.run_id.in_(list(run_ids)), metrics.c.key.in_(list(keys)))
        .order_by(metrics.c.run_id, metrics.c.key, metrics.c.step, metrics.c.timestamp_ms)
    )
    for run_id, k, v, nan, s, t in rows:
        out.setdefault(run_id, {}).setdefault(k, []).append(
            Metric(k, math.nan if nan else float(v), int(s), int(t))
        )
    return out


def add_run_artifact(conn: Connection, run_id: str, name: str, stored: StoredArtifact, now_ms: int) -> None:
    _require_run(conn, run_id)
    stmt = _insert(conn, artifacts).values(
        sha256=stored.sha256, size=stored.size, media_type=stored.media_type, created_ms=now_ms
    )
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["sha256"]))
    current = conn.execute(
        sa.select(run_artifacts.c.sha256).where(
            run_artifacts.c.run_id == run_id, run_artifacts.c.name == name
        )
    ).scalar()
    if current is not None and current != stored.sha256:
        raise ConflictError(
            f"run {run_id} already has an artifact named {name!r} with other content",
            hint="artifacts are immutable; log it under another name",
        )
    if current is None:
        conn.execute(
            run_artifacts.insert().values(run_id=run_id, name=name, sha256=stored.sha256, created_ms=now_ms)
        )


def add_run_artifacts(
    conn: Connection, run_id: str, items: Sequence[tuple[str, StoredArtifact]], now_ms: int
) -> None:
    """Record many named artifacts of a run at once (pipeline outputs); names already recorded are kept."""
    if not items:
        return
    _require_run(conn, run_id)
    blobs = {s.sha256: s for _, s in items}
    insert_rows(
        conn,
        artifacts,
        ("sha256", "size", "media_type", "created_ms"),
        [(s.sha256, s.size, s.media_type, now_ms) for s in blobs.values()],
        skip_conflicts_on=("sha256",),
    )
    insert_rows(
        conn,
        run_artifacts,
        ("run_id", "name", "sha256", "created_ms"),
        [(run_id, name, s.sha256, now_ms) for name, s in items],
        skip_conflicts_on=("run_id", "name"),
    )


def get_run(conn: Connection, run_id: str) -> Run:
    found = load_runs(conn, [run_id])
    if not found:
        raise NotFoundError(f"run {run_id!r} does not exist", hint="list runs with `triops runs list`")
    return found[0]


def projects_with_artifact(conn: Connection, sha256: str) -> list[str]:
    """Names of the projects with a run that logged the blob ``sha256`` (who may read it)."""
    rows = conn.execute(
        sa.select(projects.c.name)
        .distinct()
        .join(runs, runs.c.project_id == projects.c.id)
        .join(run_artifacts, run_artifacts.c.run_id == runs.c.id)
        .where(run_artifacts.c.sha256 == sha256)
    )
    return [str(name) for (name,) in rows]


def resolve_run_id(conn: Connection, text: str) -> str:
    """A full run id from itself or from a unique tail of at least 8 characters (as `runs list` shows)."""
    if conn.execute(sa.select(runs.c.id).where(runs.c.id == text)).first() is not None:
        return text
    if len(text) >= 8 and all(c in "0123456789abcdef-" for c in text.lower()):
        matches = list(
            conn.execute(sa.select(runs.c.id).where(runs.c.id.like(f"%{text.lower()}")).limit(5)).scalars()
        )
        if len(matches) == 1:
            return str(matches[0])
        if matches:
            raise NotFoundError(
                f"run id ending {text!r} is ambiguous: {', '.join(matches)}", hint="give more characters"
            )
    raise NotFoundError(f"run {text!r} does not exist", hint="list runs with `triops runs list`")
