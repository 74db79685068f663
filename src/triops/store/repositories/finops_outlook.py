"""What the forecast and the recommendations read, aggregated or narrowed in SQL: daily spend per currency
(summed by the database, one row per day and currency), the currencies in use, the columns the
recommendation rules need (no record objects, tags as their JSON text) and a fingerprint of the cost
records that changes whenever one is added or removed (the key of cached recommendations)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from triops.store.tables_finops import finops_costs, finops_focus_rows, finops_usage

if TYPE_CHECKING:
    import polars as pl

DAY_MS = 86_400_000


def _scope(project: str | None) -> list[Any]:
    return [] if project is None else [finops_costs.c.project == project]


def daily_totals(
    conn: Connection, *, project: str | None = None, start_ms: int | None = None
) -> list[tuple[int, str, int]]:
    """``(days since the epoch (UTC), currency, cost_micros)`` per day and currency with spend."""
    day = (finops_costs.c.started_ms // DAY_MS).label("day")
    where = _scope(project)
    if start_ms is not None:
        where.append(finops_costs.c.started_ms >= start_ms)
    stmt = (
        sa.select(day, finops_costs.c.currency, sa.func.sum(finops_costs.c.cost_micros))
        .where(*where)
        .group_by(day, finops_costs.c.currency)
    )
    return [(int(d), str(c), int(v or 0)) for d, c, v in conn.execute(stmt)]


def scope_daily_totals(
    conn: Connection, *, scope: str, name: str, start_ms: int, end_ms: int
) -> list[tuple[int, str, int]]:
    """A budget scope's spend per day and currency in a window, metered plus imported FOCUS rows (what
    ``spent_by_currency`` adds up for the budget, day by day)."""
    column = finops_costs.c[scope]  # project, team or cost_centre: a column of its own
    day = (finops_costs.c.started_ms // DAY_MS).label("day")
    statements = [
        sa.select(day, finops_costs.c.currency, sa.func.sum(finops_costs.c.cost_micros))
        .where(column == name, finops_costs.c.started_ms >= start_ms, finops_costs.c.started_ms < end_ms)
        .group_by(day, finops_costs.c.currency)
    ]
    rows_col = {"project": finops_focus_rows.c.project, "team": finops_focus_rows.c.team}.get(scope)
    if rows_col is not None:
        start = finops_focus_rows.c.charge_period_start_ms
        focus_day = (start // DAY_MS).label("day")
        statements.append(
            sa.select(focus_day, finops_focus_rows.c.currency, sa.func.sum(finops_focus_rows.c.billed_micros))
            .where(rows_col == name, start >= start_ms, start < end_ms)
            .group_by(focus_day, finops_focus_rows.c.currency)
        )
    return [(int(d), str(c), int(v or 0)) for stmt in statements for d, c, v in conn.execute(stmt)]


def cost_currencies(conn: Connection, *, project: str | None = None) -> list[str]:
    stmt = sa.select(finops_costs.c.currency).where(*_scope(project)).distinct()
    return sorted(str(c) for (c,) in conn.execute(stmt))


def cost_fingerprint(conn: Connection, *, project: str | None = None) -> tuple[Any, ...]:
    """Count, latest id and total of the cost records in scope (records are only ever appended or deleted
    with their usage, so any change moves one of these)."""
    stmt = sa.select(
        sa.func.count(),
        sa.func.max(finops_costs.c.usage_id),
        sa.func.sum(finops_costs.c.cost_micros),
        sa.func.max(finops_costs.c.ended_ms),
    ).where(*_scope(project))
    row = conn.execute(stmt).one()
    return tuple(row)


USAGE_COLUMNS = (
    "id",
    "run_id",
    "pipeline",
    "step",
    "started_ms",
    "ended_ms",
    "wall_s",
    "cpu_s",
    "peak_rss_bytes",
    "requested_cpu",
    "requested_memory_gb",
)
COST_COLUMNS = (
    "usage_id",
    "started_ms",
    "ended_ms",
    "cpu_micros",
    "memory_micros",
    "cost_micros",
    "currency",
)


def recommendation_frames(
    conn: Connection, *, project: str | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The usage and cost columns the recommendation rules read, as two frames (``tags`` as JSON text)."""
    import polars as pl

    usage_where = [] if project is None else [finops_usage.c.project == project]
    usage_stmt = sa.select(
        *(finops_usage.c[name] for name in USAGE_COLUMNS), sa.cast(finops_usage.c.tags, sa.Text).label("tags")
    ).where(*usage_where)
    cost_stmt = sa.select(*(finops_costs.c[name] for name in COST_COLUMNS)).where(*_scope(project))
    usage_schema = {
        "id": pl.String,
        "run_id": pl.String,
        "pipeline": pl.String,
        "step": pl.String,
        "started_ms": pl.Int64,
        "ended_ms": pl.Int64,
        "wall_s": pl.Float64,
        "cpu_s": pl.Float64,
        "peak_rss_bytes": pl.Int64,
        "requested_cpu": pl.Float64,
        "requested_memory_gb": pl.Float64,
        "tags": pl.String,
    }
    cost_schema = {
        "usage_id": pl.String,
        "started_ms": pl.Int64,
        "ended_ms": pl.Int64,
        "cpu_micros": pl.Int64,
        "memory_micros": pl.Int64,
        "cost_micros": pl.Int64,
        "currency": pl.String,
    }
    usage = pl.DataFrame(conn.execute(usage_stmt).fetchall(), schema=usage_schema, orient="row")
    costs = pl.DataFrame(conn.execute(cost_stmt).fetchall(), schema=cost_schema, orient="row")
    return usage, costs


__all__ = [
    "cost_currencies",
    "cost_fingerprint",
    "daily_totals",
    "recommendation_frames",
    "scope_daily_totals",
]
