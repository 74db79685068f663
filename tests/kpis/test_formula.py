"""KPI formulas: arithmetic over fact names, evaluated without eval; a missing fact is "no data", never 0."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triops.errors import InvalidInputError
from triops.kpis.formula import parse_formula

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)


@given(finite, finite, finite)
def test_arithmetic_follows_python_precedence(a: float, b: float, c: float) -> None:
    formula = parse_formula("x.a + x.b * c - (x.a - c) / 2")
    value = formula.evaluate({"x.a": a, "x.b": b, "c": c})
    assert value == pytest.approx(a + b * c - (a - c) / 2, rel=1e-9, abs=1e-6)


@given(finite)
def test_a_missing_fact_makes_the_value_missing_not_zero(a: float) -> None:
    assert parse_formula("cost.total / cost.runs").evaluate({"cost.total": a}) is None
    assert parse_formula("cost.total / cost.runs").evaluate({"cost.total": a, "cost.runs": None}) is None


def test_division_by_zero_is_missing() -> None:
    assert parse_formula("a / b").evaluate({"a": 1.0, "b": 0.0}) is None


def test_functions_and_unary_minus() -> None:
    assert parse_formula("max(a, b) + abs(-c) + min(1, 2)").evaluate({"a": 1, "b": 3, "c": 2}) == 6


def test_facts_are_listed_once_in_order() -> None:
    assert parse_formula("a.b / c + a.b").facts == ("a.b", "c")


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('x')",
        "a ** 2",
        "a if b else c",
        "[a]",
        "a.b()",
        "'text'",
        "a < b",
        "True + 1",
        "lambda: 1",
        "",
        "max",
    ],
)
def test_anything_but_arithmetic_is_refused_naming_the_piece(text: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_formula(text, "kpi x")
    assert "kpi x" in str(caught.value)


def test_a_non_finite_result_is_missing() -> None:
    assert parse_formula("a * b").evaluate({"a": 1e308, "b": 1e308}) is None
    assert not math.isnan(parse_formula("a").evaluate({"a": 1.5}) or math.nan)
