"""Rules: what a contract asks of the data, as plain records the check engine compiles into one query.

Schema properties give row-level rules (type, required, unique, range, length, pattern, format, multipleOf,
valid values, array and object options), recursively for the ``properties`` of an ``object`` column. The
quality section gives metric rules in both ODCS forms — v3.1 ``metric:`` (nullValues, missingValues,
invalidValues, duplicateValues, rowCount) and v3.0 ``rule:`` (nullCheck, duplicateCount, validValues,
rowCount, between, minCheck, maxCheck) — plus SQL; ``sla`` adds the SLA properties. Each measured value is
compared with ``mustBe…`` thresholds in rows or percent.

Anything triops cannot run (a custom engine, a text rule, an unknown metric, severity, unit or argument)
is an ``UnsupportedRule`` naming the contract field; ``compile_rules`` raises it, or, when asked to skip,
returns it so the report lists it as not checked. Pure: no data is touched here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from open_data_contract_standard.model import DataQuality, SchemaObject, SchemaProperty

from triops.dataops.contracts import Contract, schema_index
from triops.dataops.formats import check_format
from triops.dataops.rule_model import (  # Rule, RuleSet, … re-exported: their import path stays rules
    METRIC_ARGUMENTS,
    METRICS,
    ZERO,
    Rule,
    RuleSet,
    Threshold,
    UnsupportedError,
    UnsupportedRule,
    severity_of,
    threshold_of,
    unsupported,
)
from triops.errors import DataContractError


def compile_rules(contract: Contract, obj: SchemaObject, *, skip_unsupported: bool = False) -> RuleSet:
    from triops.dataops.sla import NotForThisObject, sla_rules

    base = f"schema[{schema_index(contract, obj)}]"
    rules: list[Rule] = []
    skipped: list[UnsupportedRule] = []

    def attempt(make: Any, *args: Any) -> None:
        try:
            rules.extend(make(*args))
        except NotForThisObject as exc:
            skipped.append(UnsupportedRule(exc.location, exc.what, exc.reason))
        except UnsupportedError as exc:
            if not skip_unsupported:
                raise exc.item.error() from None
            skipped.append(exc.item)

    for i, prop in enumerate(obj.properties or []):
        _walk_property(prop, f"{base}.properties[{i}]", (), attempt)
    for i, q in enumerate(obj.quality or []):
        attempt(_quality_rules, q, None, (), f"{base}.quality[{i}]", i)
    for i, sla in enumerate(contract.slaProperties or []):
        attempt(sla_rules, contract, obj, sla, f"slaProperties[{i}]")
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise DataContractError(
                f"two rules share the id {rule.id!r} (the second at {rule.location})",
                hint="give quality rules distinct names",
                detail={"field": rule.location},
            )
        seen.add(rule.id)
    return RuleSet(tuple(rules), tuple(skipped))


def _walk_property(prop: SchemaProperty, where: str, parent: tuple[str, ...], attempt: Any) -> None:
    path = (*parent, str(prop.name))
    attempt(_property_rules, prop, where, path)
    for i, q in enumerate(prop.quality or []):
        attempt(_quality_rules, q, prop, path, f"{where}.quality[{i}]", i)
    if prop.properties:
        if prop.logicalType not in (None, "object"):
            attempt(
                _refuse,
                where,
                "properties",
                f"nested properties need logicalType object, not {prop.logicalType}",
            )
        for i, child in enumerate(prop.properties):
            _walk_property(child, f"{where}.properties[{i}]", path, attempt)
    if prop.items is not None:
        attempt(_item_rules, prop.items, f"{where}.items", path)


def _refuse(where: str, what: str, reason: str) -> list[Rule]:
    raise unsupported(where, what, reason)


def _item_rules(items: SchemaProperty, where: str, path: tuple[str, ...]) -> list[Rule]:
    """Array items: their logical type is checked; deeper rules on items are refused by name."""
    deeper = [
        name
        for name in ("logicalTypeOptions", "quality", "properties", "items", "enum")
        if getattr(items, name)
    ]
    if deeper or items.required or items.unique:
        raise unsupported(
            where,
            deeper[0] if deeper else "required/unique",
            "rules on array items beyond their logicalType are not run by triops",
        )
    col = ".".join(path)
    if not items.logicalType:
        return []
    return [
        Rule(
            f"{col}.items_type",
            "items_type",
            col,
            "error",
            f"items of {col} are {items.logicalType}",
            {"logical_type": items.logicalType, "path": path},
            location=f"{where}.logicalType",
        )
    ]


def _property_rules(prop: SchemaProperty, where: str, path: tuple[str, ...]) -> list[Rule]:
    col = ".".join(path)
    out: list[Rule] = []
    logical = prop.logicalType
    opts = dict(prop.logicalTypeOptions or {})
    base: dict[str, Any] = {"path": path}

    def add(
        suffix: str, kind: str, description: str, params: Mapping[str, Any] | None = None, at: str = ""
    ) -> None:
        out.append(
            Rule(
                f"{col}.{suffix}",
                kind,
                col,
                "error",
                description,
                {**base, **(params or {})},
                location=at or where,
            )
        )

    if "format" in opts:
        check_format(str(logical or "string"), opts["format"], f"{where}.logicalTypeOptions.format")
    if logical and logical != "string":
        fmt = opts.get("format") if logical in ("date", "timestamp", "time") else None
        add(
            "type",
            "type",
            f"{col} is {logical}" + (f" ({fmt})" if fmt else ""),
            {"logical_type": logical, "format": fmt},
            f"{where}.logicalType",
        )
    if prop.required:
        add("required", "required", f"{col} is present in every row", at=f"{where}.required")
    if prop.unique or (prop.primaryKey and not _composite_key(prop)):
        add("unique", "unique", f"{col} values are unique", at=f"{where}.unique")
    bounds = _bounds(opts, logical, where)
    if bounds:
        text = ", ".join(f"{k} {v}" for k, v in bounds.items())
        add(
            "range",
            "range",
            f"{col} within {text}",
            {"bounds": bounds, "logical_type": logical},
            f"{where}.logicalTypeOptions",
        )
    lengths: dict[str, Any] = {k: opts[k] for k in ("minLength", "maxLength") if k in opts}
    if lengths:
        add("length", "length", f"{col} length within {lengths}", lengths, f"{where}.logicalTypeOptions")
    if "pattern" in opts:
        pattern = str(opts["pattern"])
        add(
            "pattern",
            "pattern",
            f"{col} matches {pattern}",
            {"pattern": pattern},
            f"{where}.logicalTypeOptions.pattern",
        )
    if "multipleOf" in opts:
        add(
            "multiple_of",
            "multiple_of",
            f"{col} is a multiple of {opts['multipleOf']}",
            {"multipleOf": opts["multipleOf"]},
            f"{where}.logicalTypeOptions.multipleOf",
        )
    if "format" in opts and logical in (None, "string", "integer", "number"):
        add(
            "format",
            "format",
            f"{col} has format {opts['format']}",
            {"format": str(opts["format"]).lower(), "logical_type": logical or "string"},
            f"{where}.logicalTypeOptions.format",
        )
    items: dict[str, Any] = {k: opts[k] for k in ("minItems", "maxItems", "uniqueItems") if k in opts}
    if items:
        add("items", "array_items", f"{col} items within {items}", items, f"{where}.logicalTypeOptions")
    members: dict[str, Any] = {
        k: opts[k] for k in ("minProperties", "maxProperties", "required") if k in opts
    }
    if members:
        add(
            "members",
            "object_members",
            f"{col} members within {members}",
            members,
            f"{where}.logicalTypeOptions",
        )
    if prop.enum:
        values = [e.value for e in prop.enum]
        add(
            "valid_values",
            "valid_values",
            f"{col} in {len(values)} valid values",
            {"values": values},
            f"{where}.enum",
        )
    return out


_NUMERIC_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _bounds(opts: Mapping[str, Any], logical: str | None, where: str) -> dict[str, Any]:
    """Range bounds as (kind → bound). v3.0 writes ``exclusiveMinimum: true`` beside ``minimum``; v3.1
    writes the bound itself under ``exclusiveMinimum``: both end up as ``exclusiveMinimum: bound``."""
    out: dict[str, Any] = {}
    for key in ("minimum", "maximum"):
        if key not in opts:
            continue
        exclusive_key = "exclusive" + key[0].upper() + key[1:]
        modifier = opts.get(exclusive_key)
        out[exclusive_key if modifier is True else key] = opts[key]
    for key in ("exclusiveMinimum", "exclusiveMaximum"):
        value = opts.get(key)
        if value is not None and not isinstance(value, bool):
            out[key] = value
    for key, bound in out.items():
        if isinstance(bound, bool) or not isinstance(bound, int | float | str):
            raise DataContractError(
                f"{where}.logicalTypeOptions.{key}: {bound!r} is not a number or date",
                hint="write the bound as a number (or an ISO date for date and timestamp columns)",
                detail={"field": f"{where}.logicalTypeOptions.{key}"},
            )
        if isinstance(bound, str) and logical not in ("date", "timestamp", "time"):
            raise DataContractError(
                f"{where}.logicalTypeOptions.{key}: {bound!r} is text but the column is {logical or 'untyped'}",
                hint="give numeric columns numeric bounds, or set logicalType to date or timestamp",
                detail={"field": f"{where}.logicalTypeOptions.{key}"},
            )
    return out


def _composite_key(prop: SchemaProperty) -> bool:
    return prop.primaryKeyPosition is not None and prop.primaryKeyPosition > 1


def _quality_rules(
    q: DataQuality, prop: SchemaProperty | None, path: tuple[str, ...], where: str, index: int
) -> list[Rule]:
    column = ".".join(path) if path else None
    owner = column or "table"
    kind_of_rule = (q.type or "library").strip().lower()
    severity = severity_of(q.severity, where)
    if kind_of_rule == "sql":
        from triops.dataops.sql_rules import sql_rule

        return [sql_rule(q, column, path, where, index, severity, threshold_of(q, ZERO, where))]
    if kind_of_rule in ("text", "custom"):
        engine = f" (engine {q.engine})" if q.engine else ""
        raise unsupported(
            where,
            f"type {kind_of_rule}{engine}",
            "is not executable by triops"
            if kind_of_rule == "custom"
            else "is a description for people, with nothing to run",
        )
    if kind_of_rule != "library":
        raise unsupported(f"{where}.type", kind_of_rule, "is not a quality type triops runs (library or sql)")
    metric = q.metric or q.rule
    if metric not in METRICS:
        raise unsupported(
            f"{where}.{'metric' if q.metric else 'rule'}",
            str(metric),
            f"is not a metric triops runs ({', '.join(METRICS)})",
        )
    kind = METRICS[str(metric)]
    args = dict(q.arguments or {})
    unknown = sorted(set(args) - METRIC_ARGUMENTS[kind])
    if unknown:
        raise unsupported(f"{where}.arguments.{unknown[0]}", unknown[0], f"is not an argument of {metric}")
    name = q.name or str(metric)
    default = Threshold((("mustBeGreaterThan", 0),)) if kind == "row_count" else ZERO
    threshold = threshold_of(q, default, where)
    description = q.description or f"{metric} on {owner}"
    params: dict[str, Any] = {**args, "path": path, "metric": metric}
    if kind == "row_count" and column is not None:
        raise unsupported(where, str(metric), "counts the rows of a table: put it on the schema object")
    if kind == "duplicate_values" and column is None and not args.get("properties"):
        raise unsupported(
            f"{where}.arguments",
            "properties",
            "a table-level duplicate rule needs arguments.properties (the columns that together must be unique)",
        )
    if kind in ("null_values", "missing_values", "invalid_values", "out_of_range") and column is None:
        raise unsupported(where, str(metric), "must sit on a property (column)")
    if kind == "invalid_values" and "validValues" not in args and "pattern" not in args:
        raise unsupported(
            f"{where}.arguments", str(metric), "needs arguments.validValues or arguments.pattern"
        )
    if kind == "out_of_range":
        params["bounds"] = _custom_bounds(q, str(metric), where)
        params["logical_type"] = prop.logicalType if prop is not None else None
    return [Rule(f"{owner}.{name}", kind, column, severity, description, params, threshold, where)]


def _custom_bounds(q: DataQuality, metric: str, where: str) -> dict[str, Any]:
    """v3.0.x ``between``/``minCheck``/``maxCheck`` carry their bounds as customProperties min and max."""
    found = {c.property: c.value for c in q.customProperties or [] if c.property in ("min", "max")}
    wanted: Sequence[str] = {"between": ("min", "max"), "minCheck": ("min",), "maxCheck": ("max",)}[metric]
    missing = [w for w in wanted if w not in found]
    if missing:
        raise unsupported(
            f"{where}.customProperties", metric, f"needs customProperties {' and '.join(missing)}"
        )
    return {("minimum" if k == "min" else "maximum"): found[k] for k in wanted}


__all__ = [
    "Rule",
    "RuleSet",
    "Threshold",
    "UnsupportedRule",
    "compile_rules",
    "severity_of",
    "threshold_of",
    "unsupported",
]
