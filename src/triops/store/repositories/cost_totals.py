"""Cost totals grouped in SQL (the web app's costs page): the same groupings as ``finops.rollups`` for
metered records, one row per group and currency — amounts in different currencies are never added up."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from triops.errors import InvalidInputError
from triops.store.tables_finops import finops_costs

GROUP_COLUMNS: dict[str, tuple[str, ...]] = {
    "step": ("pipeline", "step"),
    "run": ("run_id",),
    "pipeline": ("pipeline",),
    "project": ("project",),
    "team": ("team",),
    "dataset": ("dataset",),
    "model": ("model_version",),
    "environment": ("environment",),
}


def cost_totals(conn: Connection, by: str, projects: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Per group of ``by`` and currency: ``cost_micros`` and ``records``, largest first; only ``projects``
    when given."""
    if by not in GROUP_COLUMNS:
        raise InvalidInputError(
            f"cannot group costs by {by!r}", hint=f"use one of {', '.join(GROUP_COLUMNS)}"
        )
    keys = [finops_costs.c[name] for name in GROUP_COLUMNS[by]]
    total = sa.func.sum(finops_costs.c.cost_micros).label("cost_micros")
    query = sa.select(*keys, finops_costs.c.currency, total, sa.func.count().label("records")).group_by(
        *keys, finops_costs.c.currency
    )
    if projects is not None:
        query = query.where(finops_costs.c.project.in_(list(projects)))
    rows = [dict(r) for r in conn.execute(query.order_by(total.desc())).mappings()]
    for row in rows:
        row["cost_micros"] = int(row["cost_micros"] or 0)
    return rows


__all__ = ["GROUP_COLUMNS", "cost_totals"]
