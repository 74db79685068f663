"""FinOps persistence (SQLAlchemy Core, bound parameters only): usage and cost records, budgets,
alerts, overrides and imported FOCUS rows. Frames go in and out as polars DataFrames."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from triops.domain.usage import UsageRecord
from triops.errors import NotFoundError
from triops.store.bulk import insert_rows
from triops.store.tables_finops import (
    finops_alerts,
    finops_budgets,
    finops_costs,
    finops_focus_imports,
    finops_focus_rows,
    finops_overrides,
    finops_usage,
)

if TYPE_CHECKING:
    import polars as pl

BATCH = 5000


def _batches(rows: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


_USAGE_COLUMNS = tuple(c.name for c in finops_usage.columns)
_usage_row = operator.attrgetter(*_USAGE_COLUMNS)


def insert_usage(conn: Connection, records: Sequence[UsageRecord]) -> int:
    """One driver ``executemany`` per 5,000 records (a pipeline run stores its steps' records in batches)."""
    rows = [_usage_row(r) for r in records]
    for chunk in _batches(rows):
        insert_rows(conn, finops_usage, _USAGE_COLUMNS, chunk)
    return len(rows)


def insert_costs(conn: Connection, costs: pl.DataFrame) -> int:
    names = {c.name for c in finops_costs.columns}
    columns = [c for c in costs.columns if c in names]
    rows = costs.select(columns).rows()
    for chunk in _batches(rows):
        insert_rows(conn, finops_costs, columns, chunk)
    return len(rows)


def _where(table: sa.Table, **filters: Any) -> list[Any]:
    clauses = []
    for key, value in filters.items():
        if value is None:
            continue
        if key == "start_ms":
            clauses.append(table.c.started_ms >= value)
        elif key == "end_ms":
            clauses.append(table.c.started_ms < value)
        else:
            clauses.append(table.c[key] == value)
    return clauses


def usage_rows(
    conn: Connection, *, project: str | None = None, start_ms: int | None = None, end_ms: int | None = None
) -> list[UsageRecord]:
    stmt = sa.select(finops_usage).where(
        *_where(finops_usage, project=project, start_ms=start_ms, end_ms=end_ms)
    )
    return [
        UsageRecord.from_dict(dict(row._mapping))
        for row in conn.execute(stmt.order_by(finops_usage.c.started_ms))
    ]


def cost_rows(
    conn: Connection,
    *,
    project: str | None = None,
    team: str | None = None,
    run_id: str | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
) -> list[dict[str, Any]]:
    stmt = sa.select(finops_costs).where(
        *_where(finops_costs, project=project, team=team, run_id=run_id, start_ms=start_ms, end_ms=end_ms)
    )
    return [dict(r._mapping) for r in conn.execute(stmt.order_by(finops_costs.c.started_ms))]


# SQLite's table order, which the batched FOCUS read follows (cost_scan checks it, cost_cursor reads in it)
_ROWID: sa.ColumnClause[Any] = sa.literal_column("finops_costs.rowid")


def _cost_columns(columns: Sequence[str]) -> sa.Select[Any]:
    return sa.select(*(finops_costs.c[c] for c in columns))


def cost_tuples(
    conn: Connection,
    columns: Sequence[str],
    *,
    project: str | None = None,
    team: str | None = None,
    run_id: str | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
) -> list[tuple[Any, ...]]:
    """Cost records as plain tuples of ``columns`` (what a polars frame is built from, row-wise), in no
    particular order (the caller sorts the frame: SQLite's ORDER BY here was a temporary B-tree costing
    a third of the read).

    The columns are text and numbers that need no type processing, so the rows come straight from the
    DBAPI cursor: building a SQLAlchemy row for each of a million records cost more than reading it."""
    stmt = _cost_columns(columns).where(
        *_where(finops_costs, project=project, team=team, run_id=run_id, start_ms=start_ms, end_ms=end_ms)
    )
    result = conn.execute(stmt)
    rows: list[tuple[Any, ...]] = list(result.cursor.fetchall()) if result.cursor is not None else []
    result.close()
    return rows


def cost_scan(conn: Connection, *, start_ms: int | None = None, end_ms: int | None = None) -> tuple[int, str]:
    """SQLite only: the number of FOCUS rows the cost records in a window make (one per resource a record
    used), and how their ``started_ms`` runs in table order: ``"ascending"`` (ties allowed),
    ``"descending"`` (strictly) or ``"unordered"``. An in-order table can be streamed in that order
    (``cost_cursor``) with no sort; every statement must share one read transaction (``Store.snapshot``).

    Two small values per record come back (a window function doing the same in SQL cost twice the CPU)."""
    import polars as pl

    c = finops_costs.c
    used = sum(
        (
            sa.case((q > 0, 1), else_=0)
            for q in (c.cpu_core_hours, c.memory_gib_hours, c.gpu_hours, c.network_gib)
        ),
        sa.literal(0),
    )
    stmt = (
        sa.select(c.started_ms, used)
        .where(*_where(finops_costs, start_ms=start_ms, end_ms=end_ms))
        .order_by(_ROWID)  # the order cost_cursor reads in
    )
    result = conn.execute(stmt)
    rows = result.cursor.fetchall() if result.cursor is not None else []
    result.close()
    scan = pl.DataFrame(rows, schema={"started_ms": pl.Int64, "used": pl.Int64}, orient="row")
    step = scan["started_ms"].diff()
    order = "ascending" if not (step < 0).any() else "descending" if not (step >= 0).any() else "unordered"
    return int(scan["used"].sum()), order


def cost_cursor(
    conn: Connection,
    columns: Sequence[str],
    *,
    descending: bool,
    start_ms: int | None = None,
    end_ms: int | None = None,
) -> Any:
    """SQLite only: an open DBAPI cursor over the cost records' ``columns`` in table order (reversed when
    ``descending``), for ``fetchmany`` in batches; the caller closes it."""
    stmt = _cost_columns(columns).where(*_where(finops_costs, start_ms=start_ms, end_ms=end_ms))
    return conn.execute(stmt.order_by(_ROWID.desc() if descending else _ROWID)).cursor


def spent_by_currency(
    conn: Connection, *, scope: str, name: str, start_ms: int, end_ms: int
) -> dict[str, int]:
    """Metered spend plus imported FOCUS spend of a project or team in a window, per currency."""
    totals: dict[str, int] = {}
    column = finops_costs.c[scope]  # project, team or cost_centre: a column of its own
    metered = (
        sa.select(finops_costs.c.currency, sa.func.sum(finops_costs.c.cost_micros))
        .where(column == name, finops_costs.c.started_ms >= start_ms, finops_costs.c.started_ms < end_ms)
        .group_by(finops_costs.c.currency)
    )
    statements = [metered]
    rows_col = {"project": finops_focus_rows.c.project, "team": finops_focus_rows.c.team}.get(scope)
    if rows_col is not None:
        statements.append(
            sa.select(finops_focus_rows.c.currency, sa.func.sum(finops_focus_rows.c.billed_micros))
            .where(
                rows_col == name,
                finops_focus_rows.c.charge_period_start_ms >= start_ms,
                finops_focus_rows.c.charge_period_start_ms < end_ms,
            )
            .group_by(finops_focus_rows.c.currency)
        )
    for stmt in statements:
        for currency, amount in conn.execute(stmt):
            totals[currency] = totals.get(currency, 0) + int(amount or 0)
    return totals


def run_totals(conn: Connection, *, project: str, pipeline: str | None, limit: int = 100) -> list[int]:
    """Total metered cost of each of the latest ``limit`` runs of a pipeline (for the p90 estimate)."""
    stmt = (
        sa.select(
            sa.func.sum(finops_costs.c.cost_micros), sa.func.max(finops_costs.c.started_ms).label("last")
        )
        .where(finops_costs.c.project == project)
        .group_by(finops_costs.c.run_id)
        .order_by(sa.desc("last"))
        .limit(limit)
    )
    if pipeline is not None:
        stmt = stmt.where(finops_costs.c.pipeline == pipeline)
    return [int(total) for total, _ in conn.execute(stmt)]


def run_totals_by_currency(
    conn: Connection, *, project: str, pipeline: str | None, limit: int = 100
) -> list[tuple[int, str]]:
    """(total, currency) of each of the latest ``limit`` runs of a pipeline, newest first."""
    c = finops_costs.c
    stmt = (
        sa.select(sa.func.sum(c.cost_micros), c.currency, sa.func.max(c.started_ms).label("last"))
        .where(c.project == project)
        .group_by(c.run_id, c.currency)
        .order_by(sa.desc("last"))
        .limit(limit)
    )
    if pipeline is not None:
        stmt = stmt.where(c.pipeline == pipeline)
    return [(int(total), str(currency)) for total, currency, _ in conn.execute(stmt)]


# built once: every guarded registry change reads it (``gate_facts``), on ix_finops_costs_model_version
_PIPELINE_COST_OF = (
    sa.select(
        finops_costs.c.currency,
        sa.func.sum(finops_costs.c.cost_micros),
        sa.func.sum(sa.func.coalesce(finops_costs.c.predictions, 0)),
    )
    .where(
        finops_costs.c.model_version == sa.bindparam("model_version"),
        finops_costs.c.pipeline == sa.bindparam("pipeline"),
    )
    .group_by(finops_costs.c.currency)
    .order_by(finops_costs.c.currency)
)


def pipeline_cost_of(conn: Connection, model_version: str, pipeline: str) -> list[tuple[str, int, int]]:
    """(currency, cost, predictions) of a model version's cost records of one pipeline (``serving``)."""
    found = conn.execute(_PIPELINE_COST_OF, {"model_version": model_version, "pipeline": pipeline})
    return [(str(cur), int(micros or 0), int(n or 0)) for cur, micros, n in found]


def _budget(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


def upsert_budget(conn: Connection, budget: Mapping[str, Any]) -> dict[str, Any]:
    """Insert a budget, or replace amount/currency/thresholds/webhook of the one with the same scope,
    name and period (keeping its id, so its alerts stay attached)."""
    existing = conn.execute(
        sa.select(finops_budgets.c.id).where(
            finops_budgets.c.scope == budget["scope"],
            finops_budgets.c.name == budget["name"],
            finops_budgets.c.period == budget["period"],
        )
    ).scalar()
    values = {
        "amount_micros": budget["amount_micros"],
        "currency": budget["currency"],
        "thresholds": list(budget["thresholds"]),
        "webhook_url": budget["webhook_url"],
    }
    if existing is None:
        conn.execute(
            finops_budgets.insert().values(
                id=budget["id"],
                scope=budget["scope"],
                name=budget["name"],
                period=budget["period"],
                created_ms=budget["created_ms"],
                **values,
            )
        )
        budget_id = budget["id"]
    else:
        conn.execute(finops_budgets.update().where(finops_budgets.c.id == existing).values(**values))
        budget_id = existing
    return get_budget(conn, budget_id)


def get_budget(conn: Connection, budget_id: str) -> dict[str, Any]:
    row = conn.execute(sa.select(finops_budgets).where(finops_budgets.c.id == budget_id)).first()
    if row is None:
        raise NotFoundError(f"budget {budget_id} not found", hint="list budgets with `triops budget list`")
    return _budget(row)


def list_budgets(conn: Connection) -> list[dict[str, Any]]:
    stmt = sa.select(finops_budgets).order_by(
        finops_budgets.c.scope, finops_budgets.c.name, finops_budgets.c.period
    )
    return [_budget(row) for row in conn.execute(stmt)]


def budgets_for(
    conn: Connection, *, project: str, team: str | None, cost_centre: str | None = None
) -> list[dict[str, Any]]:
    cond = sa.and_(finops_budgets.c.scope == "project", finops_budgets.c.name == project)
    if team:
        cond = sa.or_(cond, sa.and_(finops_budgets.c.scope == "team", finops_budgets.c.name == team))
    if cost_centre:
        cond = sa.or_(
            cond, sa.and_(finops_budgets.c.scope == "cost_centre", finops_budgets.c.name == cost_centre)
        )
    return [_budget(row) for row in conn.execute(sa.select(finops_budgets).where(cond))]


def alerted_thresholds(conn: Connection, budget_id: str, period_label: str) -> set[int]:
    stmt = sa.select(finops_alerts.c.threshold_pct).where(
        finops_alerts.c.budget_id == budget_id, finops_alerts.c.period_label == period_label
    )
    return {int(v) for v in conn.execute(stmt).scalars()}


def insert_alert(conn: Connection, alert: Mapping[str, Any]) -> None:
    conn.execute(finops_alerts.insert().values(**alert))


def list_alerts(conn: Connection, budget_id: str | None = None) -> list[dict[str, Any]]:
    stmt = sa.select(finops_alerts).order_by(finops_alerts.c.created_ms, finops_alerts.c.threshold_pct)
    if budget_id:
        stmt = stmt.where(finops_alerts.c.budget_id == budget_id)
    return [dict(r._mapping) for r in conn.execute(stmt)]


def insert_override(conn: Connection, override: Mapping[str, Any], user_name: str | None = None) -> None:
    conn.execute(finops_overrides.insert().values(**override, user_name=user_name))


def list_overrides(conn: Connection) -> list[dict[str, Any]]:
    return [
        dict(r._mapping)
        for r in conn.execute(sa.select(finops_overrides).order_by(finops_overrides.c.created_ms))
    ]


def insert_focus_import(
    conn: Connection, *, import_id: str, source: str, sha256: str, imported_ms: int, rows: pl.DataFrame
) -> int:
    conn.execute(
        finops_focus_imports.insert().values(
            id=import_id, source=source, sha256=sha256, rows=rows.height, imported_ms=imported_ms
        )
    )
    import polars as pl

    records = rows.with_columns(
        pl.lit(import_id).alias("import_id"), pl.int_range(pl.len(), dtype=pl.Int32).alias("row_no")
    ).to_dicts()
    for chunk in _batches(records):
        conn.execute(finops_focus_rows.insert(), list(chunk))
    return len(records)


def focus_totals(
    conn: Connection, *, start_ms: int | None = None, end_ms: int | None = None
) -> list[dict[str, Any]]:
    """Imported cloud spend per project and currency."""
    stmt = sa.select(
        finops_focus_rows.c.project,
        finops_focus_rows.c.currency,
        sa.func.sum(finops_focus_rows.c.billed_micros).label("cost_micros"),
        sa.func.count().label("records"),
    ).group_by(finops_focus_rows.c.project, finops_focus_rows.c.currency)
    if start_ms is not None:
        stmt = stmt.where(finops_focus_rows.c.charge_period_start_ms >= start_ms)
    if end_ms is not None:
        stmt = stmt.where(finops_focus_rows.c.charge_period_start_ms < end_ms)
    return [dict(r._mapping) for r in conn.execute(stmt)]


def focus_imports(conn: Connection) -> list[dict[str, Any]]:
    stmt = sa.select(finops_focus_imports).order_by(finops_focus_imports.c.imported_ms)
    return [dict(r._mapping) for r in conn.execute(stmt)]


def artifact_last_use(conn: Connection) -> list[dict[str, Any]]:
    """Every stored artifact with its size and the last time a run recorded it (or its creation)."""
    from triops.store.tables import artifacts, run_artifacts

    last = sa.func.coalesce(sa.func.max(run_artifacts.c.created_ms), artifacts.c.created_ms)
    name = sa.func.coalesce(sa.func.max(run_artifacts.c.name), artifacts.c.sha256)
    stmt = (
        sa.select(artifacts.c.sha256, artifacts.c.size, name.label("name"), last.label("last_used_ms"))
        .select_from(artifacts.outerjoin(run_artifacts, run_artifacts.c.sha256 == artifacts.c.sha256))
        .group_by(artifacts.c.sha256, artifacts.c.size, artifacts.c.created_ms)
    )
    return [dict(r._mapping) for r in conn.execute(stmt)]
