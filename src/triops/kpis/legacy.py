"""The shared KPI scorecard: data quality × model performance × cost efficiency, read off one store.

Each KPI is a named figure with a target and a direction, computed from records other pillars wrote:
dataset-version quality scores (DataOps), evaluation metrics (MLOps) and priced cost records (FinOps).
A KPI with no records behind it is reported as missing, never as zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from triops.store.engine import Store
from triops.store.schema import metadata


@dataclass(frozen=True, slots=True)
class Kpi:
    name: str
    value: float | None
    target: float
    higher_is_better: bool
    unit: str
    source: str

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "met": self.met}


@dataclass(frozen=True, slots=True)
class Scorecard:
    kpis: tuple[Kpi, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"kpis": [k.to_dict() for k in self.kpis]}


def _latest_quality(conn: sa.Connection) -> float | None:
    table = metadata.tables.get("dataset_versions")
    if table is None or "score" not in table.c:
        return None
    value = conn.execute(sa.select(table.c.score).order_by(table.c.created_ms.desc()).limit(1)).scalar()
    return None if value is None else float(value)


def _best_metric(conn: sa.Connection, key: str) -> float | None:
    latest = metadata.tables["latest_metrics"]
    value = conn.execute(
        sa.select(sa.func.max(latest.c.value)).where(latest.c.key == key, latest.c.is_nan == sa.false())
    ).scalar()
    return None if value is None else float(value)


def _cost_by_currency(conn: sa.Connection) -> dict[str, int]:
    table = metadata.tables.get("finops_costs")
    if table is None or "cost_micros" not in table.c:
        return {}
    stmt = sa.select(table.c.currency, sa.func.sum(table.c.cost_micros)).group_by(table.c.currency)
    return {str(c): int(v or 0) for c, v in conn.execute(stmt)}


def _total_cost(
    by_currency: Mapping[str, int], currency: str | None, rates: Mapping[str, Decimal] | None
) -> tuple[int | None, str, str]:
    """(total micros or None, its currency, a note): amounts in different currencies are converted with
    the catalog's rates to ``currency``, never added unconverted."""
    from triops.errors import InvalidInputError
    from triops.finops.rollups import convert_micros

    if not by_currency:
        return None, currency or "", "priced usage records"
    if len(by_currency) == 1:
        [(only, amount)] = by_currency.items()
        if currency is None or currency == only or not rates:
            return amount, only, "priced usage records"
    target = currency or sorted(by_currency)[0]
    try:
        total = sum(convert_micros(v, c, target, rates or {}) for c, v in by_currency.items())
    except InvalidInputError:
        names = ", ".join(sorted(by_currency))
        return None, target, f"costs are in {names}; add dated [rates] to the price catalog to add them"
    return total, target, f"priced usage records, converted to {target} with the catalog's rates"


def scorecard(
    store: Store,
    *,
    quality_target: float = 90.0,
    metric: str = "auc",
    metric_target: float = 0.65,
    cost_per_point_target: float = 0.01,
    currency: str | None = None,
    rates: Mapping[str, Decimal] | None = None,
) -> Scorecard:
    """The three shared KPIs plus their product view: cost per quality-and-performance point."""
    with store.connect() as conn:
        quality = _latest_quality(conn)
        performance = _best_metric(conn, metric)
        by_currency = _cost_by_currency(conn)
    cost, cost_currency, cost_note = _total_cost(by_currency, currency, rates)
    cost_units = None if cost is None else cost / 1_000_000
    per_point = None
    if cost_units is not None and quality and performance:
        per_point = cost_units / (quality * performance)
    return Scorecard(
        (
            Kpi("data quality score", quality, quality_target, True, "0-100", "latest dataset version"),
            Kpi(f"model {metric}", performance, metric_target, True, metric, "best tracked run"),
            Kpi(
                "metered cost", cost_units, float("inf"), False, cost_currency or "currency units", cost_note
            ),
            Kpi(
                "cost per quality × performance point",
                per_point,
                cost_per_point_target,
                False,
                f"{cost_currency or 'currency'} / point",
                "cost ÷ (quality × metric)",
            ),
        )
    )
