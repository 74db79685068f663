"""The rule records compiled from a data contract: ``Rule`` (with its ``Threshold`` and quality dimension),
``RuleSet``, ``UnsupportedRule`` (something the contract asks that triops cannot check, named by its field)
and the ODCS vocabularies they draw on (metric names, ``mustBe…`` operators, severities). Pure data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from open_data_contract_standard.model import DataQuality

from triops.errors import DataContractError

DIMENSIONS = ("completeness", "validity", "uniqueness", "freshness")
_DIMENSION_OF = {
    "required": "completeness",
    "null_values": "completeness",
    "missing_values": "completeness",
    "unique": "uniqueness",
    "duplicate_values": "uniqueness",
    "freshness": "freshness",
    "source_age": "freshness",
    "retention": "freshness",
}
METRICS = {
    # v3.1 metric names (also accepted under the deprecated ``rule:`` key)
    "nullValues": "null_values",
    "missingValues": "missing_values",
    "invalidValues": "invalid_values",
    "duplicateValues": "duplicate_values",
    "rowCount": "row_count",
    # v3.0.x rule names
    "nullCheck": "null_values",
    "duplicateCount": "duplicate_values",
    "validValues": "invalid_values",
    "between": "out_of_range",
    "minCheck": "out_of_range",
    "maxCheck": "out_of_range",
}
METRIC_ARGUMENTS = {
    "null_values": set(),
    "missing_values": {"missingValues"},
    "invalid_values": {"validValues", "pattern"},
    "duplicate_values": {"properties"},
    "row_count": set(),
    "out_of_range": set(),
}
_OPS = (
    "mustBe",
    "mustNotBe",
    "mustBeGreaterThan",
    "mustBeGreaterOrEqualTo",
    "mustBeLessThan",
    "mustBeLessOrEqualTo",
    "mustBeBetween",
    "mustNotBeBetween",
)
SEVERITIES = {"error": "error", "warning": "warning", "warn": "warning", "info": "info"}
NOT_ROW_LEVEL = ("row_count", "sql", "freshness", "source_age", "contract_date")


@dataclass(frozen=True, slots=True)
class Threshold:
    """``mustBe…`` comparisons of ODCS, on a count of rows or a percentage of rows."""

    checks: tuple[tuple[str, Any], ...]
    unit: str = "rows"

    def passes(self, value: Any) -> bool:
        return all(_compare(op, value, bound) for op, bound in self.checks)

    def describe(self) -> str:
        suffix = "%" if self.unit == "percent" else ""
        return " and ".join(f"{op} {bound}{suffix}" for op, bound in self.checks)


def _compare(op: str, value: Any, bound: Any) -> bool:
    if op == "mustBe":
        return bool(value == bound)
    if op == "mustNotBe":
        return bool(value != bound)
    if op == "mustBeGreaterThan":
        return bool(value > bound)
    if op == "mustBeGreaterOrEqualTo":
        return bool(value >= bound)
    if op == "mustBeLessThan":
        return bool(value < bound)
    if op == "mustBeLessOrEqualTo":
        return bool(value <= bound)
    low, high = bound
    inside = bool(low <= value <= high)
    return inside if op == "mustBeBetween" else not inside


ZERO = Threshold((("mustBe", 0),))


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    kind: str
    column: str | None
    severity: str
    description: str
    params: Mapping[str, Any] = field(default_factory=dict)
    threshold: Threshold = ZERO
    location: str = ""
    """The contract field the rule comes from, e.g. ``schema[0].properties[2].quality[0]``."""

    @property
    def dimension(self) -> str:
        return _DIMENSION_OF.get(self.kind, "validity")

    @property
    def row_level(self) -> bool:
        """True when single rows fail the rule (so failing rows can be sampled)."""
        return self.kind not in NOT_ROW_LEVEL


@dataclass(frozen=True, slots=True)
class UnsupportedRule:
    """Something in the contract triops cannot check, named by its field."""

    location: str
    what: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"location": self.location, "what": self.what, "reason": self.reason}

    def error(self) -> DataContractError:
        return DataContractError(
            f"{self.location} ({self.what}): {self.reason}",
            hint="remove it or rewrite it as a rule triops runs (see docs/dataops.md#rules-triops-runs); "
            "or pass --skip-unsupported (skip_unsupported=True) to check the rest and list it as not checked",
            detail={"field": self.location, "what": self.what},
        )


class UnsupportedError(Exception):
    """Raised while compiling a rule triops cannot run; carries the ``UnsupportedRule`` to report."""

    def __init__(self, item: UnsupportedRule) -> None:
        super().__init__(item.reason)
        self.item = item


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[Rule, ...]
    skipped: tuple[UnsupportedRule, ...] = ()


def unsupported(location: str, what: str, reason: str) -> UnsupportedError:
    return UnsupportedError(UnsupportedRule(location, what, reason))


def severity_of(value: str | None, where: str) -> str:
    text = (value or "error").strip().lower()
    if text not in SEVERITIES:
        raise unsupported(
            f"{where}.severity", str(value), "is not a severity triops knows (error, warning, info)"
        )
    return SEVERITIES[text]


def threshold_of(q: DataQuality, default: Threshold, where: str) -> Threshold:
    checks = tuple((op, getattr(q, op)) for op in _OPS if getattr(q, op) is not None)
    unit_text = (q.unit or "rows").strip().lower()
    if unit_text not in ("rows", "row", "percent", "%"):
        raise unsupported(f"{where}.unit", str(q.unit), "is not a unit triops measures (rows or percent)")
    unit = "percent" if unit_text in ("percent", "%") else "rows"
    return Threshold(checks, unit) if checks else Threshold(default.checks, unit)


__all__ = [
    "DIMENSIONS",
    "METRICS",
    "METRIC_ARGUMENTS",
    "NOT_ROW_LEVEL",
    "SEVERITIES",
    "ZERO",
    "Rule",
    "RuleSet",
    "Threshold",
    "UnsupportedError",
    "UnsupportedRule",
    "severity_of",
    "threshold_of",
    "unsupported",
]
