"""Policy files: parsing with line/column errors, CEL rules evaluated over facts, and the sandbox."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from triops.errors import PolicyError
from triops.governance.facts import GateFacts, Interval
from triops.governance.policies import Gate, evaluate, load_policy_file, parse_policies

FAIRNESS = """\
policies:
  - name: fair-before-production
    gate: model.stage
    when: change.to_stage == "production"
    rules:
      - name: fairness-gap
        expr: fairness.max_gap <= 0.05
        reason: the largest gap between groups is at most 0.05
      - name: auc-interval
        expr: intervals.auc.low >= 0.7
        reason: the lower bound of AUC is at least 0.7
    approvals: {role: approver, count: 1, expires_in_days: 30}
"""


def facts(**overrides: object) -> GateFacts:
    base: dict[str, object] = {
        "gate": "model.stage",
        "subject_type": "model_version",
        "subject_id": "mv-1",
        "change": {"from_stage": "staging", "to_stage": "production"},
        "metrics": {"auc": 0.81},
        "intervals": {"auc": Interval(0.75, 0.86)},
        "fairness_gaps": {"demographic_parity": 0.02, "equalized_odds": 0.04},
    }
    base.update(overrides)
    return GateFacts(**base)  # type: ignore[arg-type]


def test_policy_passes_when_rules_hold_and_approvals_are_in() -> None:
    policies = parse_policies(FAIRNESS)
    result = evaluate(policies, facts(), {"approver": 1})
    assert result.passed
    assert [r.rule for r in result.rules] == ["fairness-gap", "auc-interval"]
    assert result.facts["fairness"]["max_gap"] == 0.04


def test_failing_rule_gives_its_reason_and_the_facts_seen() -> None:
    result = evaluate(parse_policies(FAIRNESS), facts(fairness_gaps={"dp": 0.12}), {"approver": 1})
    assert not result.passed
    failed = [r for r in result.rules if not r.passed]
    assert failed[0].rule == "fairness-gap"
    assert "at most 0.05" in failed[0].reason
    assert result.facts["fairness"]["gaps"] == {"dp": 0.12}
    assert result.to_dict()["passed"] is False


def test_missing_approvals_block_the_gate() -> None:
    result = evaluate(parse_policies(FAIRNESS), facts())
    assert result.rules_passed
    assert not result.passed
    assert "needs 1 approval(s) from role approver" in result.approvals_missing[0]


def test_when_condition_limits_the_policy_to_matching_changes() -> None:
    result = evaluate(
        parse_policies(FAIRNESS), facts(change={"to_stage": "staging"}, fairness_gaps={"dp": 0.5})
    )
    assert result.passed
    assert result.policies == ()


def test_policies_bound_to_other_gates_do_not_apply() -> None:
    result = evaluate(parse_policies(FAIRNESS), GateFacts(gate="deployment"))
    assert result.passed
    assert result.rules == ()


def test_unknown_fact_fails_closed_with_the_error() -> None:
    policies = parse_policies("name: p\ngate: deployment\nrules:\n  - expr: metrics.nonexistent > 1\n")
    result = evaluate(policies, GateFacts(gate="deployment"))
    assert not result.passed
    assert "could not be evaluated" in result.rules[0].reason
    assert "nonexistent" in (result.rules[0].error or "")


def test_null_fact_fails_closed() -> None:
    policies = parse_policies("name: p\ngate: dataset.publish\nrules:\n  - expr: data_quality_score >= 0.9\n")
    assert not evaluate(policies, GateFacts(gate="dataset.publish")).passed
    assert evaluate(policies, GateFacts(gate="dataset.publish", data_quality_score=0.95)).passed


def test_a_rule_that_is_not_boolean_fails() -> None:
    policies = parse_policies("name: p\ngate: deployment\nrules:\n  - expr: '1 + 2'\n")
    result = evaluate(policies, GateFacts(gate="deployment"))
    assert "not true or false" in result.rules[0].reason


def test_every_fact_kind_is_visible_to_rules() -> None:
    doc = """\
name: all
gate: deployment
rules:
  - expr: contract_status == "passed"
  - expr: card_completeness >= 0.8
  - expr: cost_per_1k_predictions < 0.5
  - expr: approvals >= 2
  - expr: labels.team == "benefits"
  - expr: subject.id == "mv-9"
"""
    f = GateFacts(
        gate="deployment",
        subject_id="mv-9",
        contract_status="passed",
        card_completeness=0.9,
        cost_per_1k_predictions=Decimal("0.12"),
        approvals=2,
        labels={"team": "benefits"},
    )
    result = evaluate(parse_policies(doc), f)
    assert result.passed, result.reasons


def test_policy_file_loads_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(FAIRNESS)
    (policy,) = load_policy_file(path)
    assert policy.gate is Gate.MODEL_STAGE
    assert policy.approvals is not None
    assert policy.approvals.count == 1
    assert policy.rules[0].line == 7


# ---------------------------------------------------------------------------------------------- bad input


def error_of(text: str) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        parse_policies(text, "p.yaml")
    return info.value


def test_yaml_syntax_error_names_line_and_column() -> None:
    err = error_of("policies:\n  - name: x\n    gate: [model.stage\n    rules: []\n")
    assert str(err).startswith("p.yaml:")
    assert err.detail["line"] >= 3
    assert "YAML syntax error" in str(err)


def test_cel_syntax_error_names_line_and_column_in_the_file() -> None:
    doc = "policies:\n  - name: x\n    gate: model.stage\n    rules:\n      - expr: metrics.auc >= \n"
    err = error_of(doc)
    assert err.detail["line"] == 5
    assert "CEL syntax error" in str(err)
    assert str(err).startswith("p.yaml:5:")


def test_cel_syntax_error_in_a_quoted_expression_points_at_the_token() -> None:
    doc = 'name: x\ngate: deployment\nrules:\n  - expr: "metrics.auc >> 1"\n'
    err = error_of(doc)
    line, column = err.detail["line"], err.detail["column"]
    assert line == 4
    assert doc.splitlines()[3][column - 1] == ">"


def test_cel_syntax_error_in_a_block_expression_names_the_inner_line() -> None:
    doc = "name: x\ngate: deployment\nrules:\n  - expr: |\n      metrics.auc > 0.5 &&\n      (metrics.f1 > \n"
    err = error_of(doc)
    assert err.detail["line"] in (6, 7)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("", "empty"),
        ("name: x\ngate: nope\nrules:\n  - expr: 'true'\n", "unknown gate 'nope'"),
        ("name: x\ngate: deployment\n", "has no 'rules'"),
        ("name: x\ngate: deployment\nrules: []\n", "non-empty list"),
        ("name: x\ngate: deployment\nrulez: []\n", "unknown key 'rulez'"),
        ("gate: deployment\nrules:\n  - expr: 'true'\n", "has no 'name'"),
        ("name: x\ngate: deployment\nrules:\n  - reason: r\n", "has no 'expr'"),
        ("name: x\ngate: deployment\nrules:\n  - expr: 'true'\napprovals: {role: boss}\n", "unknown role"),
        (
            "name: x\ngate: deployment\nrules:\n  - expr: 'true'\napprovals: {role: approver, count: 0}\n",
            "count",
        ),
        (
            "policies:\n  - name: a\n    gate: deployment\n    rules: [{expr: 'true'}]\n" * 1
            + "  - name: a\n    gate: deployment\n    rules: [{expr: 'true'}]\n",
            "two policies",
        ),
        ("- 1\n- 2\n", "mapping"),
        ("name: x\ngate: deployment\nrules:\n  - expr: 'true'\n  - expr: 'true'\nname: y\n", "duplicate key"),
    ],
)
def test_malformed_policy_files_name_the_problem_and_place(doc: str, message: str) -> None:
    err = error_of(doc)
    assert message in str(err)
    assert err.detail["line"] >= 1
    assert err.detail["column"] >= 1


def test_unreadable_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy_file(tmp_path / "missing.yaml")
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"name: \xff\n")
    with pytest.raises(PolicyError, match="UTF-8"):
        load_policy_file(bad)


# ------------------------------------------------------------------------------------------------ sandbox


@pytest.mark.parametrize(
    "expr",
    [
        'open("/etc/passwd") != null',
        '__import__("os").system("touch /tmp/triops-pwned") == 0',
        "metrics.__class__.__subclasses__() == []",
        '"x".__class__ == "y"',
        'exec("import os") == null',
        'eval("1") == 1',
        'http.get("http://127.0.0.1/") == ""',
        'getattr(metrics, "__dict__") == {}',
        '"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!".matches("(a+)+$")',
    ],
)
def test_rules_cannot_read_files_reach_the_network_or_run_code(expr: str, tmp_path: Path) -> None:
    doc = f"name: x\ngate: deployment\nrules:\n  - expr: '{expr.replace(chr(39), chr(39) * 2)}'\n"
    result = evaluate(parse_policies(doc), GateFacts(gate="deployment", metrics={"auc": 1.0}))
    assert not result.passed
    assert result.rules[0].error is not None
    assert not Path("/tmp/triops-pwned").exists()


def test_facts_are_data_not_code() -> None:
    doc = "name: x\ngate: deployment\nrules:\n  - expr: labels.cmd == '__import__(\"os\")'\n"
    f = GateFacts(gate="deployment", labels={"cmd": '__import__("os")'})
    assert evaluate(parse_policies(doc), f).passed


UPPER = """\
policies:
  - name: fair-with-confidence
    gate: model.stage
    rules:
      - name: gap-upper-bound
        expr: fairness.max_gap_upper <= 0.10
        reason: even the high end of the largest gap's interval is at most 0.10
"""


def test_a_rule_can_bound_the_high_end_of_the_gap_interval() -> None:
    policies = parse_policies(UPPER)
    narrow = evaluate(policies, facts(fairness_gap_upper={"dp": 0.06, "eo": 0.08}), {})
    assert narrow.passed and narrow.facts["fairness"]["max_gap_upper"] == 0.08
    wide = evaluate(policies, facts(fairness_gap_upper={"dp": 0.06, "eo": 0.14}), {})
    assert not wide.passed
    unknown = evaluate(policies, facts(), {})
    assert not unknown.passed and "null" in unknown.rules[0].reason
