"""What a contract check measured, as ``RuleResult`` records: row counts and shares against a rule's
threshold, the age of the newest value against a freshness limit, the check date against a contract date."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from triops.dataops.report import RuleResult
from triops.dataops.rule_model import Rule
from triops.dataops.sla import parse_moment

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


__all__ = ["RATE_KINDS", "age_result", "date_result", "row_result", "rule_result", "with_samples"]
