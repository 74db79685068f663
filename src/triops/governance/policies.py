"""Policies as code: YAML files whose rules are CEL expressions, bound to gates, evaluated over ``GateFacts``.

A policy file holds one policy or a list under ``policies:``::

    policies:
      - name: fair-before-production
        gate: model.stage
        when: change.to_stage == "production"
        rules:
          - name: fairness-gap
            expr: fairness.max_gap <= 0.05
            reason: the largest gap between groups is at most 0.05
        approvals: {role: approver, count: 1, expires_in_days: 30}

Rules run in cel-python's interpreter (never its Python-compiling runner) with only CEL's standard
functions; regular expressions are switched off so a rule cannot hang the gate, and every rule is held to
the size, cost, step and time bounds of ``cel_bounds`` (refused at parse time, or stopped and failed
closed at evaluation). A YAML or CEL syntax error names the file, line and column. A fact that is not known
is ``null``; a rule that reads it fails (closed) with a reason naming it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from triops.errors import InvalidInputError, PolicyError
from triops.governance.cel_bounds import RuleEvaluator, check_rule
from triops.governance.facts import GateFacts
from triops.governance.rbac import Role, parse_role

MAX_EXPR_LENGTH = 4000


class Gate(enum.StrEnum):
    MODEL_STAGE = "model.stage"
    MODEL_ALIAS_CHAMPION = "model.alias.champion"
    DEPLOYMENT = "deployment"
    BUDGET_OVERRIDE = "budget.override"
    DATASET_PUBLISH = "dataset.publish"


GATES = ", ".join(g.value for g in Gate)


@dataclass(frozen=True, slots=True)
class ApprovalRule:
    role: Role
    count: int = 1
    expires_in_days: float | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    expr: str
    reason: str
    line: int = 0
    column: int = 0


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    gate: Gate
    rules: tuple[Rule, ...]
    description: str = ""
    when: str | None = None
    approvals: ApprovalRule | None = None
    source: str = "<string>"


@dataclass(frozen=True, slots=True)
class RuleResult:
    policy: str
    rule: str
    expr: str
    passed: bool
    reason: str
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "rule": self.rule,
            "expr": self.expr,
            "passed": self.passed,
            "reason": self.reason,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class GateResult:
    """Pass/fail of a gate with each rule's reason, the approvals still needed and the facts seen."""

    gate: str
    rules: tuple[RuleResult, ...]
    approvals_needed: tuple[ApprovalRule, ...]
    approvals_missing: tuple[str, ...]
    facts: dict[str, Any]
    policies: tuple[str, ...] = field(default=())

    @property
    def rules_passed(self) -> bool:
        return all(r.passed for r in self.rules)

    @property
    def passed(self) -> bool:
        return self.rules_passed and not self.approvals_missing

    @property
    def reasons(self) -> list[str]:
        failed = [f"{r.policy}/{r.rule}: {r.reason}" for r in self.rules if not r.passed]
        return failed + list(self.approvals_missing)

    def to_dict(self) -> dict[str, Any]:
        return {
            "gate": self.gate,
            "passed": self.passed,
            "policies": list(self.policies),
            "rules": [r.to_dict() for r in self.rules],
            "approvals_needed": [{"role": a.role.value, "count": a.count} for a in self.approvals_needed],
            "approvals_missing": list(self.approvals_missing),
            "facts": self.facts,
        }


# --------------------------------------------------------------------------------------------- parsing


def _error(source: str, line: int, column: int, message: str, hint: str | None = None) -> PolicyError:
    return PolicyError(
        f"{source}:{line}:{column}: {message}",
        hint=hint or "see docs/governance.md#policies for the policy file format",
        detail={"source": source, "line": line, "column": column},
    )


def _at(node: yaml.Node, source: str, message: str, hint: str | None = None) -> PolicyError:
    return _error(source, node.start_mark.line + 1, node.start_mark.column + 1, message, hint)


def _mapping(node: yaml.Node, source: str, what: str, allowed: set[str]) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        raise _at(node, source, f"{what} must be a mapping")
    out: dict[str, yaml.Node] = {}
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.value not in allowed:
            name = key.value if isinstance(key, yaml.ScalarNode) else "?"
            raise _at(
                key, source, f"unknown key {name!r} in {what}", hint=f"allowed: {', '.join(sorted(allowed))}"
            )
        if key.value in out:
            raise _at(key, source, f"duplicate key {key.value!r} in {what}")
        out[key.value] = value
    return out


def _text(node: yaml.Node, source: str, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode) or node.tag.endswith(":null") or not str(node.value).strip():
        raise _at(node, source, f"{what} must be a non-empty string")
    return str(node.value)


def _require(fields: dict[str, yaml.Node], key: str, parent: yaml.Node, source: str, what: str) -> yaml.Node:
    if key not in fields:
        raise _at(parent, source, f"{what} has no {key!r}")
    return fields[key]


def _cel_position(node: yaml.ScalarNode, text: str, cel_line: int, cel_column: int) -> tuple[int, int]:
    """Where a CEL error sits in the YAML file (1-based), given the expression's scalar node."""
    start_line, start_col = node.start_mark.line, node.start_mark.column
    if node.style in ("|", ">"):
        lines = text.splitlines()
        first = start_line + 1  # block content starts on the line after the indicator
        indent = len(lines[first]) - len(lines[first].lstrip(" ")) if first < len(lines) else 0
        return start_line + cel_line + 1, indent + cel_column
    quote = 1 if node.style in ("'", '"') else 0
    if cel_line == 1:
        return start_line + 1, start_col + quote + cel_column
    return start_line + cel_line, cel_column


def _compile(expr: str, node: yaml.ScalarNode, text: str, source: str, what: str) -> None:
    import celpy
    import celpy.celparser

    if len(expr) > MAX_EXPR_LENGTH:
        raise _at(node, source, f"{what} is {len(expr)} characters; the limit is {MAX_EXPR_LENGTH}")
    try:
        tree = celpy.Environment().compile(expr)
    except celpy.celparser.CELParseError as exc:
        line, column = _cel_position(node, text, int(exc.line or 1), int(exc.column or 1))
        detail = str(exc.args[0]).strip() if exc.args else "syntax error"
        raise _error(source, line, column, f"CEL syntax error in {what}:\n{detail}") from None
    except RecursionError:
        raise _at(node, source, f"{what} is nested too deeply to parse") from None
    refused = check_rule(tree)
    if refused is not None:
        raise _at(node, source, f"{what} is refused: {refused}")


def _parse_approvals(node: yaml.Node, source: str) -> ApprovalRule:
    fields = _mapping(node, source, "approvals", {"role", "count", "expires_in_days"})
    role_node = _require(fields, "role", node, source, "approvals")
    role_text = _text(role_node, source, "approvals.role")
    try:
        role = parse_role(role_text)
    except InvalidInputError as exc:
        raise _at(role_node, source, exc.message, hint=exc.hint) from None
    count = 1
    if "count" in fields:
        raw = fields["count"]
        if not isinstance(raw, yaml.ScalarNode) or not raw.value.isdigit() or not 1 <= int(raw.value) <= 20:
            raise _at(raw, source, "approvals.count must be a whole number from 1 to 20")
        count = int(raw.value)
    expires: float | None = None
    if "expires_in_days" in fields:
        raw = fields["expires_in_days"]
        try:
            expires = float(raw.value) if isinstance(raw, yaml.ScalarNode) else -1.0
        except ValueError:
            expires = -1.0
        if not 0 < expires <= 3650:
            raise _at(raw, source, "approvals.expires_in_days must be a number of days from 0 to 3650")
    return ApprovalRule(role=role, count=count, expires_in_days=expires)


def _parse_policy(node: yaml.Node, text: str, source: str) -> Policy:
    allowed = {"name", "gate", "description", "when", "rules", "approvals"}
    fields = _mapping(node, source, "a policy", allowed)
    name = _text(_require(fields, "name", node, source, "a policy"), source, "policy name")
    gate_node = _require(fields, "gate", node, source, f"policy {name!r}")
    gate_text = _text(gate_node, source, "gate")
    try:
        gate = Gate(gate_text)
    except ValueError:
        raise _at(gate_node, source, f"unknown gate {gate_text!r}", hint=f"gates are {GATES}") from None
    when: str | None = None
    if "when" in fields:
        when = _text(fields["when"], source, "when")
        assert isinstance(fields["when"], yaml.ScalarNode)
        _compile(when, fields["when"], text, source, f"'when' of policy {name!r}")
    rules_node = _require(fields, "rules", node, source, f"policy {name!r}")
    if not isinstance(rules_node, yaml.SequenceNode) or not rules_node.value:
        raise _at(rules_node, source, f"rules of policy {name!r} must be a non-empty list")
    rules: list[Rule] = []
    for index, rule_node in enumerate(rules_node.value, start=1):
        rf = _mapping(rule_node, source, f"rule {index} of policy {name!r}", {"name", "expr", "reason"})
        rule_name = _text(rf["name"], source, "rule name") if "name" in rf else f"rule-{index}"
        expr_node = _require(rf, "expr", rule_node, source, f"rule {rule_name!r}")
        expr = _text(expr_node, source, f"expr of rule {rule_name!r}")
        assert isinstance(expr_node, yaml.ScalarNode)
        _compile(expr, expr_node, text, source, f"rule {rule_name!r}")
        reason = _text(rf["reason"], source, "reason") if "reason" in rf else expr
        mark = expr_node.start_mark
        rules.append(Rule(rule_name, expr, reason, mark.line + 1, mark.column + 1))
    approvals = _parse_approvals(fields["approvals"], source) if "approvals" in fields else None
    description = _text(fields["description"], source, "description") if "description" in fields else ""
    return Policy(name, gate, tuple(rules), description, when, approvals, source)


def parse_policies(text: str, source: str = "<string>") -> list[Policy]:
    """Parse a policy document; any YAML, structure or CEL error names ``source:line:column``."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise _error(source, line, column, f"YAML syntax error: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise _error(source, 1, 1, f"YAML error: {exc}") from None
    if root is None:
        raise _error(source, 1, 1, "the policy file is empty")
    if isinstance(root, yaml.MappingNode) and any(
        isinstance(k, yaml.ScalarNode) and k.value == "policies" for k, _ in root.value
    ):
        top = _mapping(root, source, "the policy file", {"policies"})
        items = top["policies"]
        if not isinstance(items, yaml.SequenceNode) or not items.value:
            raise _at(items, source, "'policies' must be a non-empty list")
        nodes: Sequence[yaml.Node] = items.value
    else:
        nodes = [root]
    policies = [_parse_policy(n, text, source) for n in nodes]
    seen: set[str] = set()
    for policy, node in zip(policies, nodes, strict=True):
        if policy.name in seen:
            raise _at(node, source, f"two policies are named {policy.name!r}")
        seen.add(policy.name)
    return policies


def load_policy_file(path: Path) -> list[Policy]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(
            f"cannot read policy file {path}: {exc}", hint="check the path and that it is UTF-8"
        ) from exc
    return parse_policies(text, str(path))


# ------------------------------------------------------------------------------------------ evaluation


def applicable(policies: Iterable[Policy], gate: Gate | str) -> list[Policy]:
    return [p for p in policies if p.gate == Gate(gate)]


def evaluate(
    policies: Iterable[Policy],
    facts: GateFacts,
    approvals_by_role: dict[str, int] | None = None,
    *,
    time_limit_s: float | None = None,
) -> GateResult:
    """Evaluate every policy bound to ``facts.gate``: each rule's pass/fail and reason, approvals needed.
    Each rule runs within ``cel_bounds``' step budget and ``time_limit_s`` (default ``TIME_LIMIT_S``)."""
    gate = Gate(facts.gate)
    seen = facts.to_cel()
    bound = applicable(policies, gate)
    # the CEL activation is built only for a gate with policies (a stage change with none is the common case)
    evaluator = RuleEvaluator(seen, time_limit_s) if bound else None
    results: list[RuleResult] = []
    applied: list[str] = []
    needed: dict[Role, ApprovalRule] = {}
    asking: dict[Role, list[str]] = {}  # the policies that ask each role, named in what is missing
    for policy in bound:
        assert evaluator is not None
        if policy.when is not None:
            applies, error = evaluator.run(policy.when)
            if applies is False:
                continue
            # an unreadable condition applies the policy: a gate fails closed
        applied.append(policy.name)
        for rule in policy.rules:
            ok, error = evaluator.run(rule.expr)
            if ok:
                results.append(RuleResult(policy.name, rule.name, rule.expr, True, rule.reason))
            elif error is None:
                unknown = evaluator.unknown_text()
                why = f"not met ({unknown})" if unknown else "not met"
                results.append(RuleResult(policy.name, rule.name, rule.expr, False, f"{why}: {rule.reason}"))
            else:
                reason = f"could not be evaluated ({error}): {rule.reason}"
                results.append(RuleResult(policy.name, rule.name, rule.expr, False, reason, error))
        if policy.approvals is not None:
            asking.setdefault(policy.approvals.role, []).append(policy.name)
            current = needed.get(policy.approvals.role)
            if current is None or policy.approvals.count > current.count:
                needed[policy.approvals.role] = policy.approvals
    have = approvals_by_role or {}
    missing = tuple(
        f"{', '.join(asking[role])}: needs {rule.count} approval(s) from role {role.value}, "
        f"has {have.get(role.value, 0)}"
        for role, rule in needed.items()
        if have.get(role.value, 0) < rule.count
    )
    return GateResult(gate.value, tuple(results), tuple(needed.values()), missing, seen, tuple(applied))
