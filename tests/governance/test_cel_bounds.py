"""Policy rules are bounded: a rule of nested ``map`` calls (×10 work per level) is refused when the policy is
parsed, a rule that gets past the estimate is stopped by the step and wall-clock budget and fails closed
with the limit as its reason, and a rule on a fact that is not known names that fact."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triops.errors import PolicyError
from triops.governance.cel_bounds import MAX_COST, check_rule, estimate_cost
from triops.governance.facts import GateFacts
from triops.governance.policies import Gate, Policy, Rule, evaluate, parse_policies

TEN = "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"


def nested_map(depth: int) -> str:
    expr = TEN
    for level in range(depth):
        expr = f"{TEN}.map(x{level}, {expr})"
    return f"size({expr}) > 0"


def policy(expr: str) -> str:
    return f"name: bounded\ngate: deployment\nrules:\n  - name: r\n    expr: '{expr}'\n"


def test_nested_maps_are_refused_when_the_policy_is_parsed() -> None:
    parse_policies(policy("true"))  # the CEL parser is built once per process
    started = time.perf_counter()
    with pytest.raises(PolicyError, match=r"<string>:5:11: rule 'r' is refused: .*estimated cost .* over"):
        parse_policies(policy(nested_map(3)))
    with pytest.raises(PolicyError, match="estimated cost"):
        parse_policies(policy(nested_map(6)))
    assert time.perf_counter() - started < 2.0  # refused from its shape, never run


def test_one_level_less_is_accepted_and_runs_within_the_budget() -> None:
    parsed = parse_policies(policy(nested_map(2)))
    result = evaluate(parsed, GateFacts(gate="deployment"))
    assert result.passed, result.reasons


def test_a_rule_past_the_wall_clock_fails_closed_with_the_limit() -> None:
    parsed = parse_policies(policy(nested_map(2)))
    started = time.perf_counter()
    result = evaluate(parsed, GateFacts(gate="deployment"), time_limit_s=0.005)
    assert time.perf_counter() - started < 1.0
    assert not result.passed
    assert "bounded/r: could not be evaluated (the rule ran longer than 0.005 s)" in result.reasons[0]


def test_a_stored_rule_over_the_estimate_fails_closed_without_running() -> None:
    # a policy stored before the bounds existed is never parsed by them; evaluation holds it to them
    stored = Policy("old", Gate.DEPLOYMENT, (Rule("deep", nested_map(5), "always true"),))
    started = time.perf_counter()
    result = evaluate([stored], GateFacts(gate="deployment"))
    assert time.perf_counter() - started < 1.0
    assert not result.passed
    assert "estimated cost" in result.reasons[0]


def test_size_and_depth_are_bounded() -> None:
    with pytest.raises(PolicyError, match="parse nodes"):
        parse_policies(policy("size([" + "1, " * 1000 + "1]) > 0"))
    with pytest.raises(PolicyError, match="nested"):
        parse_policies(policy("(" * 120 + "true" + ")" * 120))


def test_a_rule_on_an_unknown_fact_names_it() -> None:
    text = (
        "name: money\ngate: model.stage\nrules:\n"
        "  - {name: cheap, expr: cost_per_1k_predictions < 0.5}\n"
        "  - {name: sure, expr: intervals.auc.low > 0.7 && data_quality_score > 0.9}\n"
    )
    result = evaluate(parse_policies(text), GateFacts(gate="model.stage", data_quality_score=0.95))
    assert result.reasons == [
        "money/cheap: could not be evaluated (fact cost_per_1k_predictions is not known (null)): "
        "cost_per_1k_predictions < 0.5",
        "money/sure: could not be evaluated (fact intervals.auc is not known (null)): "
        "intervals.auc.low > 0.7 && data_quality_score > 0.9",
    ]


@settings(max_examples=12, deadline=None)
@given(depth=st.integers(1, 3), width=st.integers(1, 12))
def test_the_estimate_grows_with_every_level_and_item(depth: int, width: int) -> None:
    import celpy

    def rule(d: int, w: int) -> str:
        items = "[" + ", ".join(str(i) for i in range(w)) + "]"
        expr = items
        for level in range(d):
            expr = f"{items}.map(y{level}, {expr})"
        return f"size({expr}) > 0"

    env = celpy.Environment()
    cost = estimate_cost(env.compile(rule(depth, width)))
    assert cost < estimate_cost(env.compile(rule(depth + 1, width)))
    assert cost < estimate_cost(env.compile(rule(depth, width + 1)))
    assert (check_rule(env.compile(rule(depth, width))) is None) == (cost <= MAX_COST)
