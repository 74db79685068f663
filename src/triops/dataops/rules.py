"""Rules: what a contract asks of the data, as plain records the check engine compiles into one query.

Schema properties give row-level rules (type, required, unique, range, length, pattern, valid values); the
ODCS quality section gives metric rules (null, missing, invalid and duplicate values, row count, SQL) whose
measured value is compared against ``mustBe…`` thresholds in rows or percent. Pure: no data is touched here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from open_data_contract_standard.model import DataQuality, SchemaObject, SchemaProperty

from triops.dataops.contracts import Contract, FreshnessSLA, freshness_sla
from triops.errors import DataContractError

DIMENSIONS = ("completeness", "validity", "uniqueness", "freshness")
_DIMENSION_OF = {
    "required": "completeness",
    "null_values": "completeness",
    "missing_values": "completeness",
    "unique": "uniqueness",
    "duplicate_values": "uniqueness",
    "freshness": "freshness",
}
_METRIC_KIND = {
    "nullValues": "null_values",
    "missingValues": "missing_values",
    "invalidValues": "invalid_values",
    "duplicateValues": "duplicate_values",
    "rowCount": "row_count",
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


@dataclass(frozen=True, slots=True)
class Threshold:
    """``mustBe…`` comparisons of ODCS, on a count of rows or a percentage of rows."""

    checks: tuple[tuple[str, Any], ...]
    unit: str = "rows"

    def passes(self, value: float) -> bool:
        return all(_compare(op, value, bound) for op, bound in self.checks)

    def describe(self) -> str:
        suffix = "%" if self.unit == "percent" else ""
        return " and ".join(f"{op} {bound}{suffix}" for op, bound in self.checks)


def _compare(op: str, value: float, bound: Any) -> bool:
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

    @property
    def dimension(self) -> str:
        return _DIMENSION_OF.get(self.kind, "validity")

    @property
    def row_level(self) -> bool:
        """True when single rows fail the rule (so failing rows can be sampled)."""
        return self.kind not in ("row_count", "sql", "freshness")


def compile_rules(contract: Contract, obj: SchemaObject) -> list[Rule]:
    rules: list[Rule] = []
    for prop in obj.properties or []:
        rules.extend(_property_rules(prop))
        for i, q in enumerate(prop.quality or []):
            rules.append(_quality_rule(q, str(prop.name), i))
    for i, q in enumerate(obj.quality or []):
        rules.append(_quality_rule(q, None, i))
    sla = freshness_sla(contract, obj)
    if sla is not None:
        rules.append(_freshness_rule(sla))
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise DataContractError(
                f"two rules share the id {rule.id!r}", hint="give quality rules distinct names"
            )
        seen.add(rule.id)
    return rules


def _property_rules(prop: SchemaProperty) -> list[Rule]:
    col = str(prop.name)
    out: list[Rule] = []
    logical = prop.logicalType
    if logical and logical not in ("string", "object", "array"):
        out.append(
            Rule(f"{col}.type", "type", col, "error", f"{col} is {logical}", {"logical_type": logical})
        )
    if prop.required:
        out.append(Rule(f"{col}.required", "required", col, "error", f"{col} is present in every row"))
    if prop.unique or (prop.primaryKey and not _composite_key(prop)):
        out.append(Rule(f"{col}.unique", "unique", col, "error", f"{col} values are unique"))
    opts = dict(prop.logicalTypeOptions or {})
    bounds: dict[str, Any] = {
        k: opts[k] for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum") if k in opts
    }
    if bounds:
        text = ", ".join(f"{k} {v}" for k, v in bounds.items())
        out.append(Rule(f"{col}.range", "range", col, "error", f"{col} within {text}", bounds))
    lengths: dict[str, Any] = {k: opts[k] for k in ("minLength", "maxLength") if k in opts}
    if lengths:
        out.append(Rule(f"{col}.length", "length", col, "error", f"{col} length within {lengths}", lengths))
    if "pattern" in opts:
        pattern = str(opts["pattern"])
        out.append(
            Rule(f"{col}.pattern", "pattern", col, "error", f"{col} matches {pattern}", {"pattern": pattern})
        )
    if prop.enum:
        values = [e.value for e in prop.enum]
        out.append(
            Rule(
                f"{col}.valid_values",
                "valid_values",
                col,
                "error",
                f"{col} in {len(values)} valid values",
                {"values": values},
            )
        )
    return out


def _composite_key(prop: SchemaProperty) -> bool:
    return prop.primaryKeyPosition is not None and prop.primaryKeyPosition > 1


def _severity(q: DataQuality) -> str:
    sev = (q.severity or "error").lower()
    return "warning" if sev == "warn" else sev


def _threshold(q: DataQuality, default: Threshold) -> Threshold:
    checks = tuple((op, getattr(q, op)) for op in _OPS if getattr(q, op) is not None)
    unit = "percent" if (q.unit or "rows").lower() in ("percent", "%") else "rows"
    return Threshold(checks, unit) if checks else Threshold(default.checks, unit)


def _quality_rule(q: DataQuality, column: str | None, index: int) -> Rule:
    owner = column or "table"
    if (q.type or "library") == "sql":
        name = q.name or f"sql_{index}"
        return Rule(
            f"{owner}.{name}",
            "sql",
            column,
            _severity(q),
            q.description or f"SQL: {q.query}",
            {"query": q.query, "engine": (q.engine or "polars").lower()},
            _threshold(q, ZERO),
        )
    if (q.type or "library") != "library":
        raise DataContractError(
            f"quality rule {q.name or index!r} on {owner!r} has type {q.type!r}, which triops cannot run",
            hint="use type library (nullValues, invalidValues, …) or type sql",
        )
    metric = str(q.metric or q.rule)
    kind = _METRIC_KIND[metric]
    args = dict(q.arguments or {})
    name = q.name or metric
    if kind == "row_count":
        if column is not None:
            raise DataContractError(
                f"rowCount rule on column {column!r}", hint="put rowCount on the schema object"
            )
        default = Threshold((("mustBeGreaterThan", 0),))
    else:
        default = ZERO
    if kind == "duplicate_values" and column is None and not args.get("properties"):
        raise DataContractError(
            f"table-level duplicateValues rule {name!r} needs arguments.properties",
            hint="list the columns that together must be unique, e.g. arguments: {properties: [id, day]}",
        )
    if kind in ("null_values", "missing_values", "invalid_values") and column is None:
        raise DataContractError(
            f"{metric} rule {name!r} must sit on a column", hint="move it under a property"
        )
    if kind == "invalid_values" and "validValues" not in args and "pattern" not in args:
        raise DataContractError(
            f"invalidValues rule {name!r} on {owner!r} needs arguments.validValues or arguments.pattern",
            hint="for example: arguments: {validValues: [yes, no]}",
        )
    description = q.description or f"{metric} on {owner}"
    return Rule(f"{owner}.{name}", kind, column, _severity(q), description, args, _threshold(q, default))


def _freshness_rule(sla: FreshnessSLA) -> Rule:
    return Rule(
        f"{sla.column}.freshness",
        "freshness",
        sla.column,
        sla.severity,
        f"newest {sla.column} at most {sla.max_age_s:g} s old",
        {"max_age_s": sla.max_age_s},
    )
