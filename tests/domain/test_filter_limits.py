"""Filters and orderings are bounded: depth, length, comparisons, 'in' lists and ordering keys."""

from __future__ import annotations

import pytest

from triops.domain.filters import (
    MAX_FILTER_COMPARISONS,
    MAX_FILTER_DEPTH,
    MAX_FILTER_LENGTH,
    MAX_IN_VALUES,
    MAX_ORDER_KEYS,
    parse_filter,
    parse_orderings,
)
from triops.errors import FilterSyntaxError, InvalidInputError


def test_nesting_up_to_the_limit_parses() -> None:
    depth = MAX_FILTER_DEPTH
    assert parse_filter("(" * depth + "metrics.a > 1" + ")" * depth) is not None
    assert parse_filter("not " * depth + "metrics.a > 1") is not None


@pytest.mark.parametrize(
    "text",
    [
        "(" * 3000 + "metrics.a > 1" + ")" * 3000,
        "not " * 2000 + "metrics.a > 1",
        "(not " * 1000 + "metrics.a > 1" + ")" * 1000,
    ],
    ids=["parentheses", "nots", "mixed"],
)
def test_deep_nesting_is_refused_naming_the_limit(text: str) -> None:
    with pytest.raises(FilterSyntaxError, match=f"deeper than {MAX_FILTER_DEPTH} levels"):
        parse_filter(text)


@pytest.mark.parametrize("text", ["(" * 5000 + "metrics.a > 1" + ")" * 5000, "not " * 5000 + "metrics.a > 1"])
def test_the_issues_5000_levels_are_refused_naming_a_limit(text: str) -> None:
    with pytest.raises(FilterSyntaxError, match=f"deeper than {MAX_FILTER_DEPTH} levels|the limit is 10,000"):
        parse_filter(text)


def test_long_filters_are_refused_naming_the_limit() -> None:
    with pytest.raises(FilterSyntaxError, match=f"the limit is {MAX_FILTER_LENGTH:,}"):
        parse_filter("metrics.a > 1 and " * 2000 + "metrics.a > 1")


def test_too_many_comparisons_are_refused() -> None:
    text = " or ".join(f"params.p = '{i}'" for i in range(MAX_FILTER_COMPARISONS + 1))
    with pytest.raises(FilterSyntaxError, match=f"more than {MAX_FILTER_COMPARISONS} comparisons"):
        parse_filter(text)


def test_in_lists_are_bounded() -> None:
    ok = ", ".join(str(i) for i in range(MAX_IN_VALUES))
    assert parse_filter(f"metrics.a in ({ok})") is not None
    with pytest.raises(FilterSyntaxError, match=f"at most {MAX_IN_VALUES:,} values"):
        parse_filter(f"metrics.a in ({ok}, 1)")


def test_ordering_keys_are_bounded() -> None:
    assert len(parse_orderings(["metrics.a desc"] * MAX_ORDER_KEYS)) == MAX_ORDER_KEYS
    with pytest.raises(InvalidInputError, match=f"order_by has 2,000 keys; the limit is {MAX_ORDER_KEYS}"):
        parse_orderings(["metrics.a"] * 2000)
