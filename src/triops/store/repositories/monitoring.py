"""Monitors, evaluated windows, delayed labels and alerts: the rows ``ws.monitoring`` reads and writes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from triops.store.tables_monitoring import monitor_alerts as A
from triops.store.tables_monitoring import monitor_windows as W
from triops.store.tables_monitoring import monitors as M
from triops.store.tables_monitoring import prediction_labels as L
from triops.store.tables_serving import predictions as P

_CHUNK = 500  # ids per IN (...) query: well under SQLite's and PostgreSQL's parameter limits


def monitor(conn: Connection, model: str, version: int) -> dict[str, Any] | None:
    row = conn.execute(sa.select(M).where(M.c.model == model, M.c.version == version)).first()
    return None if row is None else dict(row._mapping)


def monitor_by_id(conn: Connection, monitor_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(M).where(M.c.id == monitor_id)).first()
    return None if row is None else dict(row._mapping)


def save_monitor(conn: Connection, values: dict[str, Any]) -> None:
    existing = monitor(conn, values["model"], values["version"])
    if existing is None:
        conn.execute(M.insert().values(**values))
    else:
        conn.execute(
            M.update()
            .where(M.c.id == existing["id"])
            .values(**{k: v for k, v in values.items() if k != "id"})
        )


def monitors(conn: Connection, model: str | None = None) -> list[dict[str, Any]]:
    query = sa.select(M).order_by(M.c.model, M.c.version)
    if model is not None:
        query = query.where(M.c.model == model)
    return [dict(r._mapping) for r in conn.execute(query)]


def windows(conn: Connection, monitor_id: str) -> list[dict[str, Any]]:
    query = sa.select(W).where(W.c.monitor_id == monitor_id).order_by(W.c.seq)
    return [dict(r._mapping) for r in conn.execute(query)]


def latest_windows(conn: Connection, monitor_ids: Sequence[str]) -> dict[str, tuple[int, dict[str, Any]]]:
    """Per monitor: how many windows were evaluated and the newest one (without its full report)."""
    out: dict[str, tuple[int, dict[str, Any]]] = {}
    for start in range(0, len(monitor_ids), _CHUNK):
        chunk = list(monitor_ids[start : start + _CHUNK])
        per_monitor = sa.select(W.c.monitor_id, sa.func.count(), sa.func.max(W.c.seq))
        counts = {
            m: (int(n), int(last))
            for m, n, last in conn.execute(
                per_monitor.where(W.c.monitor_id.in_(chunk)).group_by(W.c.monitor_id)
            )
        }
        if not counts:
            continue
        newest = sa.select(
            W.c.monitor_id, W.c.seq, W.c.start_ms, W.c.end_ms, W.c.rows, W.c.labelled, W.c.facts
        )
        keys = [sa.and_(W.c.monitor_id == m, W.c.seq == last) for m, (_, last) in counts.items()]
        for row in conn.execute(newest.where(sa.or_(*keys))).mappings():
            out[row["monitor_id"]] = (counts[row["monitor_id"]][0], dict(row))
    return out


def save_window(conn: Connection, values: dict[str, Any]) -> str:
    """Insert or replace the window ``(monitor_id, seq)``; returns its id (kept on replace)."""
    found = conn.execute(
        sa.select(W.c.id).where(W.c.monitor_id == values["monitor_id"], W.c.seq == values["seq"])
    ).scalar()
    if found is None:
        conn.execute(W.insert().values(**values))
        return str(values["id"])
    conn.execute(W.update().where(W.c.id == found).values(**{k: v for k, v in values.items() if k != "id"}))
    return str(found)


def known_predictions(conn: Connection, ids: Sequence[str]) -> dict[str, str]:
    """Prediction id → model, for the ids that are in the prediction log (as rows, or as rows of a batch
    record: ``<request id>/<row>`` with the row within the batch)."""
    from triops.store.repositories.serving import batch_rows

    out: dict[str, str] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        for pid, model in conn.execute(sa.select(P.c.id, P.c.model).where(P.c.id.in_(chunk))):
            out[str(pid)] = str(model)
    split = [(pid, *str(pid).partition("/")[::2]) for pid in ids if pid not in out]
    batches = batch_rows(conn, [request for _, request, index in split if index.isdigit()])
    for pid, request, index in split:
        found = batches.get(request)
        if found is not None and index.isdigit() and str(int(index)) == index and int(index) < found[1]:
            out[str(pid)] = found[0]
    return out


def labels(conn: Connection, ids: Sequence[str]) -> dict[str, Any]:
    """Prediction id → label, for the ids that have one."""
    out: dict[str, Any] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        for pid, label in conn.execute(
            sa.select(L.c.prediction_id, L.c.label).where(L.c.prediction_id.in_(chunk))
        ):
            out[str(pid)] = label
    return out


def insert_labels(conn: Connection, rows: Iterable[dict[str, Any]]) -> None:
    batch = list(rows)
    if batch:
        conn.execute(L.insert(), batch)


def alert_keys(conn: Connection, monitor_id: str) -> set[tuple[str, str]]:
    """(window id, policy) of every alert this monitor raised."""
    query = sa.select(A.c.window_id, A.c.policy).where(A.c.monitor_id == monitor_id)
    return {(str(w), str(p)) for w, p in conn.execute(query)}


def insert_alert(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(A.insert().values(**values))


def update_alert(conn: Connection, alert_id: str, **values: Any) -> None:
    conn.execute(A.update().where(A.c.id == alert_id).values(**values))


def alert(conn: Connection, alert_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(A).where(A.c.id == alert_id)).first()
    return None if row is None else dict(row._mapping)


def alerts(conn: Connection, *, model: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    query = sa.select(A).order_by(A.c.created_ms.desc(), A.c.id.desc()).limit(limit)
    if model is not None:
        query = query.where(A.c.model == model)
    return [dict(r._mapping) for r in conn.execute(query)]


# -- schedules and leases ------------------------------------------------------------------------------------
def due_monitors(conn: Connection, now_ms: int) -> list[dict[str, Any]]:
    """Scheduled monitors whose next run is due and whose lease is free (or expired), oldest due first."""
    query = (
        sa.select(M)
        .where(
            M.c.every_s.is_not(None),
            M.c.next_due_ms <= now_ms,
            sa.or_(M.c.lease_until_ms.is_(None), M.c.lease_until_ms < now_ms),
        )
        .order_by(M.c.next_due_ms, M.c.id)
    )
    return [dict(r._mapping) for r in conn.execute(query)]


def take_lease(conn: Connection, monitor_id: str, owner: str, now_ms: int, until_ms: int) -> bool:
    """Take the monitor's run lease when it is free, expired or already ``owner``'s; one conditional UPDATE,
    so of two processes racing for it exactly one wins (on SQLite and on PostgreSQL alike)."""
    result = conn.execute(
        M.update()
        .where(
            M.c.id == monitor_id,
            sa.or_(
                M.c.lease_owner.is_(None),
                M.c.lease_until_ms.is_(None),
                M.c.lease_until_ms < now_ms,
                M.c.lease_owner == owner,
            ),
        )
        .values(lease_owner=owner, lease_until_ms=until_ms)
    )
    return bool(result.rowcount == 1)


def renew_lease(conn: Connection, monitor_id: str, owner: str, until_ms: int) -> bool:
    result = conn.execute(
        M.update().where(M.c.id == monitor_id, M.c.lease_owner == owner).values(lease_until_ms=until_ms)
    )
    return bool(result.rowcount == 1)


def release_lease(conn: Connection, monitor_id: str, owner: str, **after: Any) -> None:
    """Give the lease up (only ``owner``'s), recording ``after`` (last run, next due) in the same UPDATE."""
    conn.execute(
        M.update()
        .where(M.c.id == monitor_id, M.c.lease_owner == owner)
        .values(lease_owner=None, lease_until_ms=None, **after)
    )
