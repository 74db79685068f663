"""Properties of the run-search filter language: total parsing, lossless rendering, and SQL that agrees
with the reference evaluator on real SQLite data."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from triops import Workspace
from triops.domain.filters import (
    ATTRIBUTES,
    BoolOp,
    Comparison,
    Field,
    Node,
    Not,
    evaluate,
    parse_filter,
    parse_order_by,
    render,
)
from triops.domain.records import RunStatus
from triops.errors import FilterSyntaxError
from triops.settings import Settings

KEYS = ["auc", "loss", "model", "team"]
TEXTS = ["rf", "lr", "a b", "it's", "x%", "_"]
NUMBERS = [-1.0, 0.0, 0.5, 0.8, 1.0, 1e3]


def test_the_documented_example_parses() -> None:
    node = parse_filter("metrics.auc > 0.8 and params.model = 'rf' and tags.team = 'x'")
    assert isinstance(node, BoolOp) and node.op == "and"
    assert node.items[0] == Comparison(Field("metric", "auc"), ">", 0.8)


def test_blank_filter_means_everything() -> None:
    assert parse_filter("  ") is None


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("metrics.auc >", 14),
        ("metrics.auc > 0.8 and", 22),
        ("nope = 1", 1),
        ("params.x = 'a' ;", 16),
        ("metrics.auc = 'x'", 15),
        ("(metrics.auc > 1", 17),
        ("params.x in ('a' 'b')", 18),
    ],
)
def test_syntax_errors_name_the_column(text: str, column: int) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        parse_filter(text)
    assert info.value.column == column
    assert f"column {column}" in str(info.value)


def test_order_by_parses_direction() -> None:
    spec = parse_order_by("metrics.auc DESC")
    assert spec.field == Field("metric", "auc") and spec.descending
    assert not parse_order_by("start_time").descending
    with pytest.raises(FilterSyntaxError):
        parse_order_by("metrics.auc sideways")


@given(st.text(max_size=60))
@settings(max_examples=400)
def test_any_text_parses_or_fails_with_a_syntax_error(text: str) -> None:
    try:
        parse_filter(text)
    except FilterSyntaxError as exc:
        assert 1 <= exc.column <= len(text) + 1


def comparisons() -> st.SearchStrategy[Comparison]:
    metric = st.builds(
        Comparison,
        st.builds(Field, st.just("metric"), st.sampled_from(KEYS)),
        st.sampled_from(["=", "!=", "<", "<=", ">", ">="]),
        st.sampled_from(NUMBERS),
    )
    text_ops = st.sampled_from(["=", "!=", "<", ">=", "like", "ilike"])
    text = st.builds(
        Comparison,
        st.builds(Field, st.sampled_from(["param", "tag"]), st.sampled_from(KEYS)),
        text_ops,
        st.sampled_from([*TEXTS, "%", "r%", "%b"]),
    )
    member = st.builds(
        Comparison,
        st.builds(Field, st.sampled_from(["param", "tag"]), st.sampled_from(KEYS)),
        st.sampled_from(["in", "not in"]),
        st.lists(st.sampled_from(TEXTS), min_size=1, max_size=3).map(tuple),
    )
    nulls = st.builds(
        Comparison,
        st.builds(Field, st.sampled_from(["metric", "param", "tag"]), st.sampled_from(KEYS)),
        st.sampled_from(["is null", "is not null"]),
    )
    status = st.builds(
        Comparison,
        st.just(Field("attribute", "status")),
        st.just("="),
        st.sampled_from(["FINISHED", "FAILED"]),
    )
    return st.one_of(metric, text, member, nulls, status)


def trees() -> st.SearchStrategy[Node]:
    return st.recursive(
        comparisons(),
        lambda inner: st.one_of(
            st.builds(Not, inner),
            st.builds(
                BoolOp, st.sampled_from(["and", "or"]), st.lists(inner, min_size=2, max_size=3).map(tuple)
            ),
        ),
        max_leaves=6,
    )


@given(trees())
@settings(max_examples=300)
def test_render_then_parse_gives_the_same_tree(node: Node) -> None:
    assert parse_filter(render(node)) == node


def test_attributes_are_all_known() -> None:
    for name in ATTRIBUTES:
        assert parse_filter(f"{name} is null") is not None


RUN_DATA = st.fixed_dictionaries(
    {
        "metric": st.dictionaries(
            st.sampled_from(KEYS), st.one_of(st.sampled_from(NUMBERS), st.just(math.nan)), max_size=3
        ),
        "param": st.dictionaries(st.sampled_from(KEYS), st.sampled_from(TEXTS), max_size=3),
        "tag": st.dictionaries(st.sampled_from(KEYS), st.sampled_from(TEXTS), max_size=3),
        "status": st.sampled_from(["FINISHED", "FAILED"]),
    }
)


_PROJECTS = itertools.count()


@pytest.fixture(scope="module")
def shared_ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    home = tmp_path_factory.mktemp("filters")
    with Workspace.open(f"sqlite:///{home}/prop.db", settings=Settings(home=home)) as ws:
        yield ws


@given(runs=st.lists(RUN_DATA, min_size=1, max_size=6), filters=st.lists(trees(), min_size=1, max_size=5))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_sql_search_agrees_with_the_reference_evaluator(
    shared_ws: Workspace, runs: list[dict[str, Any]], filters: list[Node]
) -> None:
    project = f"prop{next(_PROJECTS)}"
    expected_records = {}
    for data in runs:
        run = shared_ws.start_run(project, tags=data["tag"])
        run.log_params(data["param"])
        run.log_metrics(data["metric"])
        run.end(RunStatus(data["status"]))
        expected_records[run.id] = {
            "metric": data["metric"],
            "param": data["param"],
            "tag": data["tag"],
            "attribute": {"status": data["status"]},
        }
    for node in filters:
        found = {r.id for r in shared_ws.runs.search(project=project, filter=render(node))}
        expected = {rid for rid, rec in expected_records.items() if evaluate(node, rec)}
        assert found == expected, render(node)
