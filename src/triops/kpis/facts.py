"""Store facts per project: the named numbers KPI formulas read.

Each fact is computed from records the pillars wrote; a fact with no records behind it is absent (so its
KPIs show "no data yet"). Cost facts exist only when the project's costs are in one currency — amounts in
different currencies are never summed unconverted; ``cost.currency`` then lists them in ``notes``.

Areas that keep their own records (serving, monitoring) add facts through ``FACT_PROVIDERS``: a function
``(connection, project) -> {fact name: value}`` appended at import of that area's workspace wiring.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from triops.store.schema import metadata

FactProvider = Callable[[sa.Connection, str], dict[str, float | None]]
FACT_PROVIDERS: list[FactProvider] = []
MS_PER_DAY = 86_400_000
# the evaluation metric read as "model performance", in order of preference
PERFORMANCE_METRICS = ("roc_auc", "auc", "accuracy", "f1", "r2")


@dataclass
class Facts:
    values: dict[str, float | None] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


def _t(name: str) -> sa.Table:
    return metadata.tables[name]


def _project_id(conn: sa.Connection, project: str) -> str | None:
    projects = _t("projects")
    found = conn.execute(sa.select(projects.c.id).where(projects.c.name == project)).scalar()
    return None if found is None else str(found)


def _dataops(conn: sa.Connection, project_id: str, facts: Facts) -> None:
    dv = _t("dataset_versions")
    latest = (
        sa.select(dv.c.name, sa.func.max(dv.c.version).label("v"))
        .where(dv.c.project_id == project_id)
        .group_by(dv.c.name)
        .subquery()
    )
    score = conn.execute(
        sa.select(sa.func.avg(dv.c.score))
        .join(latest, sa.and_(dv.c.name == latest.c.name, dv.c.version == latest.c.v))
        .where(dv.c.project_id == project_id)
    ).scalar()
    if score is not None:
        facts.values["quality.score"] = float(score)
    checked, passed = conn.execute(
        sa.select(sa.func.count(), sa.func.sum(sa.case((dv.c.passed == sa.true(), 1), else_=0))).where(
            dv.c.project_id == project_id, dv.c.contract_id.is_not(None)
        )
    ).one()
    if checked:
        facts.values["contracts.checked"] = float(checked)
        facts.values["contracts.passed"] = float(passed or 0)


def _versions(conn: sa.Connection, project_id: str) -> list[dict[str, Any]]:
    """The project's model versions: of models registered in it, and — for a workspace-wide model — the
    versions whose training run ran in it."""
    mv, models, aliases, runs = _t("model_versions"), _t("models"), _t("model_aliases"), _t("runs")
    champion = (
        sa.select(aliases.c.version_id).where(
            aliases.c.model_id == mv.c.model_id, aliases.c.alias == "champion"
        )
    ).scalar_subquery()
    rows = conn.execute(
        sa.select(
            mv.c.id,
            mv.c.version,
            mv.c.stage,
            mv.c.training_datasets,
            models.c.name,
            (mv.c.id == champion).label("is_champion"),
        )
        .join(models, models.c.id == mv.c.model_id)
        .outerjoin(runs, runs.c.id == mv.c.run_id)
        .where(
            sa.or_(
                models.c.project_id == project_id,
                sa.and_(models.c.project_id.is_(None), runs.c.project_id == project_id),
            )
        )
        .order_by(models.c.name, mv.c.version)
    ).mappings()
    return [dict(r) for r in rows]


def _current(versions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per model: the champion, else the production version, else the latest."""
    by_model: dict[str, list[dict[str, Any]]] = {}
    for v in versions:
        by_model.setdefault(v["name"], []).append(v)
    chosen = []
    for rows in by_model.values():
        pick = next((r for r in rows if r["is_champion"]), None) or next(
            (r for r in reversed(rows) if r["stage"] == "production"), None
        )
        chosen.append(pick or rows[-1])
    return chosen


def _mlops(conn: sa.Connection, project_id: str, facts: Facts) -> None:
    versions = _versions(conn, project_id)
    if not versions:
        return
    ev = _t("evaluations")
    best: tuple[float, float | None, float | None, str] | None = None
    gap: float | None = None
    for v in _current(versions):
        raw = conn.execute(
            sa.select(ev.c.result)
            .where(ev.c.model_version_id == v["id"], ev.c.kind == "evaluation")
            .order_by(ev.c.created_ms.desc())
            .limit(1)
        ).scalar()
        result = json.loads(raw) if isinstance(raw, str) else (raw or {})
        metrics = result.get("metrics") or {}
        for key in PERFORMANCE_METRICS:
            m = metrics.get(key) or {}
            if m.get("value") is not None:
                if best is None or m["value"] > best[0]:
                    best = (float(m["value"]), m.get("low"), m.get("high"), key)
                break
        for report in (result.get("fairness") or {}).values():
            for key in ("demographic_parity_difference", "equalized_odds_difference"):
                value = report.get(key)
                if value is not None:
                    gap = max(gap if gap is not None else float(value), float(value))
    if best is not None:
        facts.values["model.performance"] = best[0]
        facts.units["model.performance"] = best[3]
        if best[1] is not None and best[2] is not None:
            facts.intervals["model.performance"] = (float(best[1]), float(best[2]))
    if gap is not None:
        facts.values["fairness.gap"] = gap
    _lead_time(conn, versions, facts)


def _lead_time(conn: sa.Connection, versions: list[dict[str, Any]], facts: Facts) -> None:
    """Median days from the newest training dataset version to the version's move to production."""
    audit, dv = _t("audit_events"), _t("dataset_versions")
    days: list[float] = []
    for v in versions:
        ids = (
            v["training_datasets"]
            if isinstance(v["training_datasets"], list)
            else json.loads(v["training_datasets"] or "[]")
        )
        if not ids:
            continue
        ref = f"{v['name']}/{v['version']}"
        moved = conn.execute(
            sa.select(sa.func.min(audit.c.at_ms)).where(
                audit.c.action == "model.stage",
                audit.c.object_id == ref,
                audit.c.after_json.like('%"production"%'),
            )
        ).scalar()
        data_ms = conn.execute(sa.select(sa.func.max(dv.c.created_ms)).where(dv.c.id.in_(ids))).scalar()
        if moved is not None and data_ms is not None:
            days.append(max(0, moved - data_ms) / MS_PER_DAY)
    if days:
        days.sort()
        facts.values["lead_time.days"] = days[len(days) // 2]


def _finops(conn: sa.Connection, project: str, facts: Facts) -> None:
    costs = _t("finops_costs")
    rows = conn.execute(
        sa.select(
            costs.c.currency, sa.func.sum(costs.c.cost_micros), sa.func.count(sa.distinct(costs.c.run_id))
        )
        .where(costs.c.project == project)
        .group_by(costs.c.currency)
    ).all()
    if len(rows) == 1:
        currency, micros, runs = rows[0]
        facts.values["cost.total"] = int(micros) / 1_000_000
        facts.values["cost.runs"] = float(runs)
        facts.units["cost.total"] = currency
    elif len(rows) > 1:
        facts.notes["cost.total"] = (
            "costs in " + ", ".join(sorted(r[0] for r in rows)) + ": not summed unconverted"
        )


def _governance(conn: sa.Connection, project: str, facts: Facts) -> None:
    approvals = _t("approval_requests")
    pending = conn.execute(
        sa.select(sa.func.count()).where(approvals.c.project == project, approvals.c.status == "pending")
    ).scalar()
    facts.values["approvals.pending"] = float(pending or 0)


def known_projects(conn: sa.Connection) -> list[str]:
    """Every project the store knows: registered ones and those only cost records name (FOCUS imports,
    metering of runs tracked elsewhere)."""
    projects, costs = _t("projects"), _t("finops_costs")
    names = set(conn.execute(sa.select(projects.c.name)).scalars())
    names.update(conn.execute(sa.select(costs.c.project).distinct()).scalars())
    return sorted(str(n) for n in names if n)


def gather_facts(conn: sa.Connection, project: str) -> Facts:
    """Every fact of ``project`` the store holds (plus the registered providers')."""
    facts = Facts()
    project_id = _project_id(conn, project)
    if project_id is not None:
        _dataops(conn, project_id, facts)
        _mlops(conn, project_id, facts)
    _finops(conn, project, facts)
    _governance(conn, project, facts)
    for provider in FACT_PROVIDERS:
        facts.values.update(provider(conn, project))
    return facts


__all__ = ["FACT_PROVIDERS", "PERFORMANCE_METRICS", "FactProvider", "Facts", "gather_facts", "known_projects"]
