"""Pipeline runs, step runs, lineage edges and the step cache: SQL only (SQLAlchemy Core, bound parameters).

Writes are batched by the runner: one transaction records many step runs, edges and cache entries.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from triops.errors import NotFoundError
from triops.store.bulk import insert_rows, update_rows
from triops.store.tables_pipelines import cache_entries, lineage_edges, pipeline_runs, step_runs


@dataclass(frozen=True, slots=True)
class PipelineRunRow:
    run_id: str
    pipeline: str
    target: str
    params: dict[str, Any]
    executor: str
    on_failure: str
    use_cache: bool
    resumed_from: str | None
    created_ms: int


@dataclass(frozen=True, slots=True)
class StepRunRow:
    id: str
    run_id: str
    step: str
    function: str
    position: int
    upstream: list[str]
    status: str
    resources: dict[str, float]
    executor: str
    attempt: int = 0
    cache_key: str | None = None
    cached_from: str | None = None
    started_ms: int | None = None
    ended_ms: int | None = None
    error: str | None = None
    traceback: str | None = None
    wall_s: float | None = None
    cpu_s: float | None = None
    peak_rss_bytes: int | None = None
    bytes_read: int | None = None
    bytes_written: int | None = None
    gpu_s: float | None = None
    gpu_model: str | None = None
    import_s: float | None = None
    step_memory_bytes: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class LineageEdge:
    step_run_id: str
    direction: str  # "in" or "out"
    name: str
    sha256: str
    size: int
    media_type: str
    materializer: str


@dataclass(frozen=True, slots=True)
class CacheEntry:
    cache_key: str
    step: str
    step_run_id: str
    outputs: list[dict[str, Any]] = field(default_factory=list)
    created_ms: int = 0


_MUTABLE = (
    "status",
    "attempt",
    "cache_key",
    "cached_from",
    "started_ms",
    "ended_ms",
    "error",
    "traceback",
    "wall_s",
    "cpu_s",
    "peak_rss_bytes",
    "bytes_read",
    "bytes_written",
    "gpu_s",
    "gpu_model",
    "import_s",
    "step_memory_bytes",
)


def create_pipeline_run(conn: Connection, row: PipelineRunRow) -> None:
    conn.execute(pipeline_runs.insert().values(**asdict(row)))


def get_pipeline_run(conn: Connection, run_id: str) -> PipelineRunRow:
    row = conn.execute(sa.select(pipeline_runs).where(pipeline_runs.c.run_id == run_id)).mappings().first()
    if row is None:
        raise NotFoundError(
            f"run {run_id!r} is not a pipeline run", hint="list pipeline runs with `triops runs list`"
        )
    return PipelineRunRow(**dict(row))


_STEP_FIELDS = tuple(f.name for f in fields(StepRunRow))
_EDGE_FIELDS = tuple(f.name for f in fields(LineageEdge))
_CACHE_FIELDS = tuple(f.name for f in fields(CacheEntry))
# one C-level getter per row: a run writes every step's row at least twice
_step_values = operator.attrgetter(*_STEP_FIELDS)
_mutable_values = operator.attrgetter(*_MUTABLE, "id")
_edge_values = operator.attrgetter(*_EDGE_FIELDS)
_cache_values = operator.attrgetter(*_CACHE_FIELDS)


def insert_step_runs(conn: Connection, rows: Sequence[StepRunRow]) -> None:
    insert_rows(conn, step_runs, _STEP_FIELDS, [_step_values(r) for r in rows])


def update_step_runs(conn: Connection, rows: Sequence[StepRunRow]) -> None:
    """Write the mutable columns (status, timing, error, metering) of ``rows``, matched by id."""
    # every step is written at least twice (start, end): the driver's executemany keeps that cheap
    values = [_mutable_values(r) for r in rows]
    update_rows(conn, step_runs, "id", _MUTABLE, values)


def _step_row(mapping: Any) -> StepRunRow:
    return StepRunRow(**dict(mapping))


def list_step_runs(conn: Connection, run_id: str) -> list[StepRunRow]:
    rows = conn.execute(
        sa.select(step_runs).where(step_runs.c.run_id == run_id).order_by(step_runs.c.position)
    ).mappings()
    return [_step_row(r) for r in rows]


def get_step_runs(conn: Connection, ids: Sequence[str]) -> list[StepRunRow]:
    if not ids:
        return []
    rows = conn.execute(sa.select(step_runs).where(step_runs.c.id.in_(list(ids)))).mappings()
    return [_step_row(r) for r in rows]


def insert_edges(conn: Connection, edges: Sequence[LineageEdge]) -> None:
    values = [_edge_values(e) for e in edges]
    insert_rows(
        conn, lineage_edges, _EDGE_FIELDS, values, skip_conflicts_on=("step_run_id", "direction", "name")
    )


def edges_of(conn: Connection, step_run_ids: Sequence[str]) -> list[LineageEdge]:
    if not step_run_ids:
        return []
    rows = conn.execute(
        sa.select(lineage_edges)
        .where(lineage_edges.c.step_run_id.in_(list(step_run_ids)))
        .order_by(lineage_edges.c.step_run_id, lineage_edges.c.direction, lineage_edges.c.name)
    ).mappings()
    return [LineageEdge(**dict(r)) for r in rows]


def edges_with_artifact(conn: Connection, sha256: str, direction: str) -> list[LineageEdge]:
    rows = conn.execute(
        sa.select(lineage_edges)
        .where(lineage_edges.c.sha256 == sha256, lineage_edges.c.direction == direction)
        .order_by(lineage_edges.c.step_run_id)
    ).mappings()
    return [LineageEdge(**dict(r)) for r in rows]


def artifact_by_prefix(conn: Connection, prefix: str) -> list[str]:
    rows = conn.execute(
        sa.select(lineage_edges.c.sha256)
        .where(lineage_edges.c.sha256.startswith(prefix, autoescape=True))
        .distinct()
    ).scalars()
    return sorted(rows)


def put_cache_entries(conn: Connection, entries: Sequence[CacheEntry]) -> None:
    """Record cache entries; a key already present keeps its first outputs (same key, same content)."""
    insert_rows(
        conn,
        cache_entries,
        _CACHE_FIELDS,
        [_cache_values(e) for e in entries],
        skip_conflicts_on=("cache_key",),
    )


def get_cache_entry(conn: Connection, cache_key: str) -> CacheEntry | None:
    row = (
        conn.execute(sa.select(cache_entries).where(cache_entries.c.cache_key == cache_key))
        .mappings()
        .first()
    )
    return None if row is None else CacheEntry(**dict(row))


def delete_cache_entry(conn: Connection, cache_key: str) -> None:
    conn.execute(cache_entries.delete().where(cache_entries.c.cache_key == cache_key))


__all__ = [
    "CacheEntry",
    "LineageEdge",
    "PipelineRunRow",
    "StepRunRow",
    "artifact_by_prefix",
    "create_pipeline_run",
    "delete_cache_entry",
    "edges_of",
    "edges_with_artifact",
    "get_cache_entry",
    "get_pipeline_run",
    "get_step_runs",
    "insert_edges",
    "insert_step_runs",
    "list_step_runs",
    "put_cache_entries",
    "update_step_runs",
]
