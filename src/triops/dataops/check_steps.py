"""The steps around a contract check's one polars query (``checks.check``).

Before it measures: columns the contract names that the data lacks (an error naming them), the types the
rules declare, the types values have, and repeated values of a column (read from one sorted copy, so a large
file's uniqueness check stays within memory).

After: what the query measured, as ``RuleResult`` records: row counts and shares against a rule's threshold,
the age of the newest value against a freshness limit, the check date against a contract date, and the
failing-row samples attached to a result.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import polars as pl

from triops.dataops.expressions import Field
from triops.dataops.report import RuleResult
from triops.dataops.rule_model import Rule
from triops.dataops.sla import parse_moment
from triops.dataops.sources import Source
from triops.errors import DataContractError

# -- before the query: what the data holds ------------------------------------------------------------------


def sorted_repeats(source: Source, lf: pl.LazyFrame, fld: Field) -> tuple[int, list[Any]]:
    """(rows beyond each value's first occurrence, the repeated values) of one column of a file, from ONE
    sorted copy of its non-null values compared with itself shifted by a zero-copy slice: the streaming
    query's sort plus its shifted twin held the column three times (a 2 GB CSV went past 1 GB of memory)."""
    column = source.collect([lf.select(fld.expr.drop_nulls().alias("v"))], streaming=True)[0]["v"]
    column = column.sort()
    if column.len() < 2:
        return 0, []
    repeated = column.slice(1) == column.slice(0, column.len() - 1)
    return int(repeated.sum()), column.slice(1).filter(repeated).unique(maintain_order=True).to_list()


def chunks(items: list[pl.Expr], size: int) -> list[list[pl.Expr]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def refuse_missing(
    source: Source, wanted: list[str], rules: list[Rule], schema: pl.Schema, present: list[str]
) -> None:
    missing = [c for c in wanted if c not in schema and not any(n.startswith(f"{c}.") for n in present)]
    for rule in rules:
        for col in rule.params.get("properties", []) if rule.kind == "duplicate_values" else []:
            if str(col) not in schema and str(col) not in missing:
                missing.append(str(col))
    if missing:
        raise DataContractError(
            f"{source.name}: the contract names column(s) {', '.join(map(repr, missing))} that the data lacks",
            hint=f"columns present: {', '.join(present) or '(none)'}",
            detail={"missing": missing, "present": present},
        )


def typing_hints(
    rules: list[Rule],
) -> tuple[dict[tuple[str, ...], tuple[str, str | None]], dict[tuple[str, ...], tuple[str, ...]]]:
    logical: dict[tuple[str, ...], tuple[str, str | None]] = {}
    missing: dict[tuple[str, ...], tuple[str, ...]] = {}
    for rule in rules:
        path = tuple(rule.params.get("path") or ())
        if rule.kind == "type":
            logical[path] = (str(rule.params["logical_type"]), rule.params.get("format"))
        elif rule.kind in ("range", "out_of_range"):
            numeric = all(isinstance(b, int | float) for b in rule.params["bounds"].values())
            declared = rule.params.get("logical_type") or ("number" if numeric else None)
            if declared:
                logical.setdefault(path, (str(declared), None))
        elif rule.kind == "missing_values":
            tokens = tuple(str(v) for v in rule.params.get("missingValues", []) if v is not None)
            missing[path] = missing.get(path, ()) + tokens
    return logical, missing


def value_types(
    schema: pl.Schema, values: Mapping[tuple[str, ...], pl.Expr]
) -> dict[tuple[str, ...], pl.DataType]:
    if not values:
        return {}
    keys = list(values)
    probe = (
        pl.LazyFrame(schema=schema)
        .select(**{f"v{i}": values[k] for i, k in enumerate(keys)})
        .collect_schema()
    )
    return {k: probe[f"v{i}"] for i, k in enumerate(keys)}


# -- after the query: results -------------------------------------------------------------------------------

# kinds measured as a count or share of rows, whose expectation is always shown as the threshold
RATE_KINDS = ("null_values", "missing_values", "invalid_values", "duplicate_values", "out_of_range")


def rule_result(
    rule: Rule, passed: bool, count: int, share: float, measured: Any, expected: str
) -> RuleResult:
    return RuleResult(
        rule.id,
        rule.kind,
        rule.column,
        rule.severity,
        rule.dimension,
        rule.description,
        passed,
        count,
        share,
        measured,
        expected,
        location=rule.location,
    )


def row_result(rule: Rule, count: int, rows: int) -> RuleResult:
    share = count / rows if rows else 0.0
    measured = share * 100 if rule.threshold.unit == "percent" else float(count)
    passed = rule.threshold.passes(measured)
    if rule.kind in RATE_KINDS or rule.threshold.checks != (("mustBe", 0),) or rule.threshold.unit != "rows":
        expected = rule.threshold.describe()
    else:
        expected = "every value of the declared type" if rule.kind == "type" else "no failing rows"
    return rule_result(rule, passed, count, share, measured, expected)


def age_result(rule: Rule, newest: Any, now: dt.datetime) -> RuleResult:
    limit = float(rule.params["max_age_s"])
    if newest is None:
        age = math.inf
    else:
        moment = newest if isinstance(newest, dt.datetime) else dt.datetime.combine(newest, dt.time())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        age = (now - moment).total_seconds()
    return rule_result(rule, age <= limit, 0, 0.0, age, f"age <= {limit:g} s")


def date_result(rule: Rule, now: dt.datetime) -> RuleResult:
    moment = parse_moment(rule.params["moment"])
    assert moment is not None
    passed = now <= moment if rule.params["op"] == "<=" else now >= moment
    return rule_result(
        rule,
        passed,
        0,
        0.0,
        None,
        f"checked {'on or before' if rule.params['op'] == '<=' else 'on or after'} {moment.isoformat()}",
    )


def with_samples(result: RuleResult, samples: tuple[dict[str, Any], ...]) -> RuleResult:
    return RuleResult(
        result.rule,
        result.kind,
        result.column,
        result.severity,
        result.dimension,
        result.description,
        result.passed,
        result.failing_rows,
        result.failing_share,
        result.measured,
        result.expected,
        samples,
        result.location,
    )


__all__ = [
    "RATE_KINDS",
    "age_result",
    "chunks",
    "date_result",
    "refuse_missing",
    "row_result",
    "rule_result",
    "sorted_repeats",
    "typing_hints",
    "value_types",
    "with_samples",
]
