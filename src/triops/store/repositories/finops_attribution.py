"""FinOps persistence for attribution: which usage is stored already (journal recovery), a run's costs
attributed to the model and dataset versions of its lineage, serving totals per model version, and
shared-cost allocations with their shares."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from triops.store.tables_finops import (
    finops_allocation_shares,
    finops_allocations,
    finops_costs,
    finops_usage,
)

ATTRIBUTABLE = ("model_version", "dataset", "team", "cost_centre")


def existing_usage_ids(conn: Connection, ids: Iterable[str]) -> set[str]:
    wanted = list(dict.fromkeys(ids))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found |= set(conn.execute(sa.select(finops_usage.c.id).where(finops_usage.c.id.in_(chunk))).scalars())
    return found


def attribute_run(conn: Connection, run_id: str, values: Mapping[str, str]) -> int:
    """Fill the run's cost records' attribution columns that are still empty; returns rows changed."""
    changed = 0
    for column, value in values.items():
        if column not in ATTRIBUTABLE or not value:
            continue
        result = conn.execute(
            finops_costs.update()
            .where(finops_costs.c.run_id == run_id, finops_costs.c[column].is_(None))
            .values({column: value})
        )
        changed += result.rowcount or 0
    return changed


def replace_allocation(conn: Connection, allocation: Mapping[str, Any], shares: Mapping[str, int]) -> None:
    """Store an allocation and its shares, replacing one with the same label, period and grouping."""
    a = finops_allocations.c
    conn.execute(
        finops_allocations.delete().where(
            a.label == allocation["label"], a.period == allocation["period"], a.by == allocation["by"]
        )
    )
    conn.execute(finops_allocations.insert().values(**allocation))
    rows = [{"allocation_id": allocation["id"], "key": k, "amount_micros": v} for k, v in shares.items()]
    if rows:
        conn.execute(finops_allocation_shares.insert(), rows)


def list_allocations(
    conn: Connection, *, period: str | None = None, by: str | None = None
) -> list[dict[str, Any]]:
    """Allocations with their shares (``shares``: key → micros), oldest first."""
    a = finops_allocations.c
    stmt = sa.select(finops_allocations).order_by(a.period, a.label)
    if period is not None:
        stmt = stmt.where(a.period == period)
    if by is not None:
        stmt = stmt.where(a.by == by)
    found = [dict(r._mapping) for r in conn.execute(stmt)]
    if not found:
        return found
    ids: Sequence[str] = [f["id"] for f in found]
    s = finops_allocation_shares.c
    shares: dict[str, dict[str, int]] = {i: {} for i in ids}
    for alloc_id, key, amount in conn.execute(
        sa.select(s.allocation_id, s.key, s.amount_micros).where(s.allocation_id.in_(ids)).order_by(s.key)
    ):
        shares[alloc_id][key] = int(amount)
    for f in found:
        f["shares"] = shares[f["id"]]
    return found


def run_lineage(conn: Connection) -> tuple[dict[str, str], dict[str, str]]:
    """run id → the model version it produced (``model/version``) and → the dataset version it
    registered (``name/version``); the first (lowest) when a run made several."""
    from triops.store.tables_dataops import dataset_versions
    from triops.store.tables_registry import model_versions, models

    mv, m, dv = model_versions.c, models.c, dataset_versions.c
    model_of: dict[str, str] = {}
    for run_id, name, version in conn.execute(
        sa.select(mv.run_id, m.name, mv.version)
        .select_from(model_versions.join(models, models.c.id == mv.model_id))
        .where(mv.run_id.is_not(None))
        .order_by(m.name, mv.version)
    ):
        model_of.setdefault(str(run_id), f"{name}/{version}")
    dataset_of: dict[str, str] = {}
    for run_id, name, version in conn.execute(
        sa.select(dv.run_id, dv.name, dv.version).where(dv.run_id.is_not(None)).order_by(dv.name, dv.version)
    ):
        dataset_of.setdefault(str(run_id), f"{name}/{version}")
    return model_of, dataset_of


# -- FOCUS re-imports ------------------------------------------------------------------------------------
def focus_import_by_sha(conn: Connection, sha256: str) -> dict[str, Any] | None:
    from triops.store.tables_finops import finops_focus_imports

    row = conn.execute(
        sa.select(finops_focus_imports).where(finops_focus_imports.c.sha256 == sha256).limit(1)
    ).first()
    return None if row is None else dict(row._mapping)


def _period_clause(keys: Iterable[tuple[str, str, int]]) -> Any:
    from triops.store.tables_finops import finops_focus_rows as r

    return sa.or_(
        *[
            sa.and_(r.c.provider == p, r.c.billing_account_id == a, r.c.billing_period_start_ms == s)
            for p, a, s in keys
        ]
    )


def imported_periods(conn: Connection, keys: Sequence[tuple[str, str, int]]) -> list[tuple[str, str, int]]:
    """Which of (provider, billing account, billing period start) already have imported rows."""
    from triops.store.tables_finops import finops_focus_rows as r

    if not keys:
        return []
    stmt = (
        sa.select(r.c.provider, r.c.billing_account_id, r.c.billing_period_start_ms)
        .where(_period_clause(keys))
        .distinct()
    )
    return [(str(p), str(a), int(s)) for p, a, s in conn.execute(stmt)]


def delete_periods(conn: Connection, keys: Sequence[tuple[str, str, int]]) -> int:
    """Delete the imported rows of those billing periods, and imports left without rows."""
    from triops.store.tables_finops import finops_focus_imports as i
    from triops.store.tables_finops import finops_focus_rows as r

    if not keys:
        return 0
    deleted = conn.execute(r.delete().where(_period_clause(keys))).rowcount or 0
    remaining = sa.select(sa.func.count()).where(r.c.import_id == i.c.id).scalar_subquery()
    conn.execute(i.update().values(rows=remaining))
    conn.execute(i.delete().where(i.c.rows == 0))
    return deleted
