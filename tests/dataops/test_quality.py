"""The 0-100 quality score and its dimensions."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from triops.dataops.quality import WEIGHTS, quality_score
from triops.dataops.report import CheckReport, RuleResult


def _result(kind: str, dimension: str, failing: int, rows: int, passed: bool | None = None) -> RuleResult:
    return RuleResult(
        f"c.{kind}",
        kind,
        "c",
        "error",
        dimension,
        "",
        failing == 0 if passed is None else passed,
        failing,
        failing / rows if rows else 0.0,
    )


def _report(rows: int, nulls: int, results: list[RuleResult]) -> CheckReport:
    return CheckReport("d", "c", "1", rows, ("c",), tuple(results), {"c": nulls})


def test_perfect_data_scores_100_without_unmeasured_dimensions() -> None:
    score = quality_score(_report(10, 0, [_result("range", "validity", 0, 10)]))
    assert score.score == 100.0
    assert set(score.dimensions) == {"completeness", "validity"}
    assert abs(sum(score.weights.values()) - 1.0) < 1e-9


def test_failures_lower_the_right_dimensions() -> None:
    score = quality_score(
        _report(10, 2, [_result("range", "validity", 5, 10), _result("unique", "uniqueness", 1, 10)])
    )
    assert score.dimensions == {"completeness": 0.8, "validity": 0.5, "uniqueness": 0.9}
    w = {k: WEIGHTS[k] / 0.85 for k in ("completeness", "validity", "uniqueness")}
    expected = 100 * (0.8 * w["completeness"] + 0.5 * w["validity"] + 0.9 * w["uniqueness"])
    assert abs(score.score - expected) < 1e-6


def test_failed_metric_rules_count_as_zero() -> None:
    score = quality_score(_report(10, 0, [_result("sql", "validity", 0, 10, passed=False)]))
    assert score.dimensions["validity"] == 0.0


@given(st.integers(0, 50), st.integers(0, 50), st.integers(0, 50))
def test_score_stays_between_0_and_100(rows: int, nulls: int, failing: int) -> None:
    nulls, failing = min(nulls, rows), min(failing, rows)
    score = quality_score(_report(rows, nulls, [_result("range", "validity", failing, max(rows, 1))]))
    assert 0.0 <= score.score <= 100.0
