"""KPI definitions: the defaults every project gets, and a TOML file that adds or overrides them per project.

``kpis.toml`` (in the triops home, or passed explicitly)::

    [[kpi]]                       # applies to every project
    name = "contract pass rate"
    pillar = "dataops"            # dataops | mlops | finops | governance | serving | monitoring
    formula = "contracts.passed / contracts.checked * 100"
    target = 95
    direction = "higher"          # higher | lower (which way is better)
    owner = "data steward"
    unit = "%"

    [[project.churn.kpi]]         # applies to project "churn" only; same name overrides the default
    name = "model performance"
    formula = "model.roc_auc"
    target = 0.8

Every key is checked: an unknown key, pillar or direction is an error naming the entry and the key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from triops.errors import InvalidInputError
from triops.kpis.formula import Formula, parse_formula

PILLARS = ("dataops", "mlops", "finops", "governance", "serving", "monitoring")
DIRECTIONS = ("higher", "lower")
_KEYS = {"name", "pillar", "formula", "target", "direction", "owner", "unit"}


@dataclass(frozen=True, slots=True)
class KpiDefinition:
    name: str
    pillar: str
    formula: Formula
    target: float | None
    direction: str
    owner: str
    unit: str

    @property
    def higher_is_better(self) -> bool:
        return self.direction == "higher"


def _default(
    name: str, pillar: str, formula: str, target: float | None, direction: str, owner: str, unit: str
) -> KpiDefinition:
    return KpiDefinition(name, pillar, parse_formula(formula, name), target, direction, owner, unit)


# Cost facts carry the project's one currency as their unit; with costs in several currencies they are
# missing (never summed unconverted). Serving and monitoring facts come from those areas' fact providers.
DEFAULT_KPIS: tuple[KpiDefinition, ...] = (
    _default("data quality score", "dataops", "quality.score", 90, "higher", "data steward", "0-100"),
    _default(
        "contract pass rate",
        "dataops",
        "contracts.passed / contracts.checked * 100",
        95,
        "higher",
        "data steward",
        "%",
    ),
    _default("model performance", "mlops", "model.performance", None, "higher", "ML engineer", "metric"),
    _default("largest fairness gap", "mlops", "fairness.gap", 0.1, "lower", "risk officer", "gap"),
    _default("open drift alerts", "monitoring", "drift.open_alerts", 0, "lower", "ML engineer", "alerts"),
    _default("lead time data to production", "mlops", "lead_time.days", 30, "lower", "ML engineer", "days"),
    _default("cost per run", "finops", "cost.total / cost.runs", None, "lower", "FinOps analyst", "currency"),
    _default(
        "cost per 1,000 predictions",
        "serving",
        "serving.cost / predictions.count * 1000",
        None,
        "lower",
        "FinOps analyst",
        "currency",
    ),
    _default("budget burn", "finops", "budget.burn_pct", 100, "lower", "FinOps analyst", "%"),
    _default(
        "cost per quality point",
        "finops",
        "cost.total / quality.score",
        None,
        "lower",
        "FinOps analyst",
        "currency",
    ),
    _default("audit verified", "governance", "audit.verified", 1, "higher", "risk officer", "yes=1"),
    _default("pending approvals", "governance", "approvals.pending", 0, "lower", "risk officer", "requests"),
)


def _entry(raw: Any, where: str, base: KpiDefinition | None) -> KpiDefinition:
    if not isinstance(raw, Mapping):
        raise InvalidInputError(f"{where} must be a table of keys")
    unknown = set(raw) - _KEYS
    if unknown:
        raise InvalidInputError(f"{where}: unknown key {sorted(unknown)[0]!r}", hint=f"use {sorted(_KEYS)}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError(f"{where}: 'name' is required (a non-empty string)")
    if base is None and "formula" not in raw:
        raise InvalidInputError(f"{where} ({name}): 'formula' is required for a new KPI")
    pillar = raw.get("pillar", base.pillar if base else "mlops")
    if pillar not in PILLARS:
        raise InvalidInputError(f"{where} ({name}): pillar {pillar!r} is not one of {', '.join(PILLARS)}")
    direction = raw.get("direction", base.direction if base else "higher")
    if direction not in DIRECTIONS:
        raise InvalidInputError(f"{where} ({name}): direction {direction!r} must be 'higher' or 'lower'")
    target = raw.get("target", base.target if base else None)
    if target is not None and (isinstance(target, bool) or not isinstance(target, int | float)):
        raise InvalidInputError(f"{where} ({name}): target must be a number")
    for key in ("owner", "unit", "formula"):
        if key in raw and not isinstance(raw[key], str):
            raise InvalidInputError(f"{where} ({name}): {key} must be a string")
    formula = parse_formula(raw["formula"], f"{where} ({name}) formula") if "formula" in raw else None
    made = KpiDefinition(
        name=name.strip(),
        pillar=pillar,
        formula=formula or (base.formula if base else parse_formula("0")),
        target=None if target is None else float(target),
        direction=direction,
        owner=raw.get("owner", base.owner if base else ""),
        unit=raw.get("unit", base.unit if base else ""),
    )
    return made


def _merge(into: dict[str, KpiDefinition], entries: Any, where: str) -> None:
    if not isinstance(entries, list):
        raise InvalidInputError(f"{where} must be an array of tables ([[{where}]])")
    for i, raw in enumerate(entries):
        name = raw.get("name") if isinstance(raw, Mapping) else None
        base = into.get(name) if isinstance(name, str) else None
        made = _entry(raw, f"{where}[{i}]", base)
        into[made.name] = made


def load_definitions(text: str | None, project: str) -> tuple[KpiDefinition, ...]:
    """The KPIs of ``project``: the defaults, then the file's ``[[kpi]]``, then its ``[[project.P.kpi]]``."""
    found = {d.name: d for d in DEFAULT_KPIS}
    if not text:
        return tuple(found.values())
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(f"kpis.toml is not valid TOML: {exc}") from None
    unknown = set(data) - {"kpi", "project"}
    if unknown:
        raise InvalidInputError(
            f"kpis.toml: unknown top-level key {sorted(unknown)[0]!r}",
            hint="use [[kpi]] or [[project.NAME.kpi]]",
        )
    _merge(found, data.get("kpi", []), "kpi")
    projects = data.get("project", {})
    if not isinstance(projects, Mapping):
        raise InvalidInputError("kpis.toml: 'project' must be a table of projects")
    mine = projects.get(project)
    if isinstance(mine, Mapping):
        extra = set(mine) - {"kpi"}
        if extra:
            raise InvalidInputError(f"kpis.toml: project.{project}: unknown key {sorted(extra)[0]!r}")
        _merge(found, mine.get("kpi", []), f"project.{project}.kpi")
    return tuple(found.values())


def read_definitions_file(path: Path | None) -> str | None:
    if path is None or not path.exists():
        return None
    return path.read_text(encoding="utf-8")


__all__ = [
    "DEFAULT_KPIS",
    "DIRECTIONS",
    "PILLARS",
    "KpiDefinition",
    "load_definitions",
    "read_definitions_file",
]
