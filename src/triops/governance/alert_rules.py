"""Alert policies: CEL conditions over a monitoring window's facts, in the same language as gate policies.

An alert policy file holds a list under ``alerts:``::

    alerts:
      - name: benefits-degraded
        expr: drift.psi.max > 0.2 || performance.roc_auc.upper < 0.62 || fairness.max_gap_upper > 0.1
        severity: critical          # info | warning | critical (default warning)
        on_breach: retrain          # notify (default) | retrain
        webhook: http://127.0.0.1:9000/alerts   # optional: POSTed the alert as JSON

A policy *breaches* when its expression is true. The expression runs in the same sandboxed CEL interpreter as
gate rules (no regular expressions, standard functions only, the same size, cost and time bounds). A fact
that is not known (a statistic marked insufficient, performance before any label arrived) is ``null``;
CEL's ``||`` is true when any side is true even if another side errs, so one unknown fact does not hide a
breach of another. An expression that cannot
be decided is *not* a breach; its error is kept with the window so it is visible, not silent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import yaml

from triops.errors import PolicyError
from triops.governance.cel_bounds import RuleEvaluator, check_rule
from triops.governance.policies import MAX_EXPR_LENGTH

SEVERITIES = ("info", "warning", "critical")
ACTIONS = ("notify", "retrain")
_KEYS = {"name", "expr", "severity", "on_breach", "webhook", "description"}


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    name: str
    expr: str
    severity: str = "warning"
    on_breach: str = "notify"
    webhook: str | None = None
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "expr": self.expr,
            "severity": self.severity,
            "on_breach": self.on_breach,
            "webhook": self.webhook,
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class AlertDecision:
    policy: AlertPolicy
    breached: bool
    error: str | None = None


def _fail(source: str, message: str, hint: str | None = None) -> PolicyError:
    return PolicyError(f"{source}: {message}", hint=hint)


def _check_compiles(expr: str, source: str, where: str) -> None:
    import celpy

    try:
        tree = celpy.Environment().compile(expr)
    except Exception as exc:  # celpy raises its own parse errors; report them as the policy's
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _fail(source, f"{where}.expr is not valid CEL: {first[:200]}") from None
    refused = check_rule(tree)
    if refused is not None:
        raise _fail(source, f"{where}.expr is refused: {refused}")


def parse_alert_policies(text: str, source: str = "<alerts>") -> list[AlertPolicy]:
    """Parse and check an alert policy file; every problem names the entry and field."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _fail(source, f"not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict) or set(data) != {"alerts"} or not isinstance(data["alerts"], list):
        raise _fail(source, "expected a mapping with one key, alerts: a list of policies")
    out: list[AlertPolicy] = []
    for i, entry in enumerate(data["alerts"]):
        where = f"alerts[{i}]"
        if not isinstance(entry, dict):
            raise _fail(source, f"{where} is not a mapping")
        unknown = sorted(set(map(str, entry)) - _KEYS)
        if unknown:
            raise _fail(
                source,
                f"{where} has unknown field {unknown[0]!r}",
                hint=f"fields: {', '.join(sorted(_KEYS))}",
            )
        for key in ("name", "expr"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise _fail(source, f"{where}.{key} is missing or not text")
        policy = AlertPolicy(
            name=entry["name"].strip(),
            expr=entry["expr"].strip(),
            severity=str(entry.get("severity", "warning")),
            on_breach=str(entry.get("on_breach", "notify")),
            webhook=entry.get("webhook"),
            description=str(entry.get("description", "")),
        )
        if len(policy.expr) > MAX_EXPR_LENGTH:
            raise _fail(source, f"{where}.expr is longer than {MAX_EXPR_LENGTH} characters")
        if policy.severity not in SEVERITIES:
            raise _fail(
                source, f"{where}.severity is {policy.severity!r}", hint=f"use {', '.join(SEVERITIES)}"
            )
        if policy.on_breach not in ACTIONS:
            raise _fail(
                source, f"{where}.on_breach is {policy.on_breach!r}", hint=f"use {', '.join(ACTIONS)}"
            )
        if policy.webhook is not None:
            url = urlparse(str(policy.webhook))
            if url.scheme not in ("http", "https") or not url.netloc:
                raise _fail(source, f"{where}.webhook is not an http(s) URL: {policy.webhook!r}")
        if policy.name in {p.name for p in out}:
            raise _fail(source, f"{where}.name {policy.name!r} is used twice")
        _check_compiles(policy.expr, source, where)
        out.append(policy)
    return out


def evaluate_alerts(policies: list[AlertPolicy], facts: dict[str, Any]) -> list[AlertDecision]:
    """Each policy's decision over ``facts`` (the window's facts as JSON-like values)."""
    if not policies:
        return []
    evaluator = RuleEvaluator(facts)
    decisions = []
    for policy in policies:
        value, error = evaluator.run(policy.expr)
        decisions.append(AlertDecision(policy, bool(value), error if value is None else None))
    return decisions
