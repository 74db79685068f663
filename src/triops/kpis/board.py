"""The per-project scorecard: KPI definitions evaluated over store facts, snapshots kept over time, trends.

Status is ``met`` / ``missed`` against the target in the KPI's direction, ``no target`` when none is set and
``no data`` when a fact behind the formula is missing (shown as "no data yet", never as zero). The trend
compares the value with the previous snapshot's: ``better`` / ``worse`` / ``same`` in the KPI's direction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa

from triops.domain.ids import new_id
from triops.kpis.definitions import KpiDefinition
from triops.kpis.facts import Facts
from triops.store.engine import Store
from triops.store.schema import metadata

CURRENCY_UNIT = "currency"
HISTORY_LIMIT = 30


@dataclass(frozen=True, slots=True)
class KpiRow:
    project: str
    name: str
    pillar: str
    formula: str
    value: float | None
    unit: str
    target: float | None
    direction: str
    owner: str
    status: str
    low: float | None = None
    high: float | None = None
    note: str = ""
    trend: str = ""
    history: tuple[float | None, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "history": list(self.history)}


def status_of(value: float | None, target: float | None, higher_is_better: bool) -> str:
    if value is None:
        return "no data"
    if target is None:
        return "no target"
    met = value >= target if higher_is_better else value <= target
    return "met" if met else "missed"


def trend_of(value: float | None, previous: float | None, higher_is_better: bool) -> str:
    if value is None or previous is None:
        return ""
    if abs(value - previous) <= 1e-12 * max(1.0, abs(previous)):
        return "same"
    return "better" if (value > previous) == higher_is_better else "worse"


def _unit(kpi: KpiDefinition, facts: Facts) -> str:
    if kpi.unit != CURRENCY_UNIT:
        if kpi.unit == "metric" and kpi.formula.facts:
            return facts.units.get(kpi.formula.facts[0], kpi.unit)
        return kpi.unit
    currencies = {facts.units[f] for f in kpi.formula.facts if f in facts.units}
    return currencies.pop() if len(currencies) == 1 else CURRENCY_UNIT


def _note(kpi: KpiDefinition, facts: Facts, value: float | None) -> str:
    for fact in kpi.formula.facts:
        if fact in facts.notes:
            return facts.notes[fact]
    if value is None:
        missing = [f for f in kpi.formula.facts if facts.values.get(f) is None]
        return "no data yet: " + ", ".join(missing) if missing else "no data yet"
    return ""


def evaluate(
    project: str,
    definitions: Sequence[KpiDefinition],
    facts: Facts,
    history: Mapping[str, Sequence[float | None]] | None = None,
) -> list[KpiRow]:
    rows = []
    for kpi in definitions:
        value = kpi.formula.evaluate(facts.values)
        interval = facts.intervals.get(kpi.formula.text) if len(kpi.formula.facts) == 1 else None
        past = tuple((history or {}).get(kpi.name, ()))
        rows.append(
            KpiRow(
                project=project,
                name=kpi.name,
                pillar=kpi.pillar,
                formula=kpi.formula.text,
                value=value,
                unit=_unit(kpi, facts),
                target=kpi.target,
                direction=kpi.direction,
                owner=kpi.owner,
                status=status_of(value, kpi.target, kpi.higher_is_better),
                low=interval[0] if interval else None,
                high=interval[1] if interval else None,
                note=_note(kpi, facts, value),
                trend=trend_of(value, past[-1] if past else None, kpi.higher_is_better),
                history=past,
            )
        )
    return rows


def record_snapshot(store: Store, rows: Sequence[KpiRow], now_ms: int, user: str) -> str:
    """Store one snapshot of ``rows`` (one row per KPI); returns the snapshot id."""
    table = metadata.tables["kpi_snapshots"]
    snapshot_id = new_id(now_ms)
    values = [
        {
            "id": new_id(now_ms),
            "snapshot_id": snapshot_id,
            "project": r.project,
            "kpi": r.name,
            "pillar": r.pillar,
            "value": r.value,
            "unit": r.unit,
            "target": r.target,
            "status": r.status,
            "taken_ms": now_ms,
            "taken_by": user,
        }
        for r in rows
    ]
    if values:
        store.write(lambda conn: conn.execute(table.insert(), values))
    return snapshot_id


def load_history(
    conn: sa.Connection, project: str, limit: int = HISTORY_LIMIT
) -> dict[str, list[float | None]]:
    """Per KPI, the values of the last ``limit`` snapshots of ``project``, oldest first."""
    table = metadata.tables["kpi_snapshots"]
    rows = conn.execute(
        sa.select(table.c.kpi, table.c.value, table.c.taken_ms)
        .where(table.c.project == project)
        .order_by(table.c.taken_ms.desc(), table.c.id.desc())
        .limit(limit * 50)
    ).all()
    out: dict[str, list[float | None]] = {}
    for kpi, value, _ in reversed(rows):
        out.setdefault(kpi, []).append(value)
    return {k: v[-limit:] for k, v in out.items()}


__all__ = ["KpiRow", "evaluate", "load_history", "record_snapshot", "status_of", "trend_of"]
