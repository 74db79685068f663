"""The governance part of ``triops demo``: promoting the champion to production through a fairness gate.

The fairness policy blocks the promotion until an ``approver`` who is not the model's author approves with
a justification; the author's own attempt is refused (separation of duties). The demo ends by sealing the
audit log's checkpoints and verifying the whole chain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from triops.domain.clock import Clock
from triops.errors import GateBlockedError, PermissionDeniedError
from triops.governance import audit, gates, roles
from triops.governance.audit import AuditKey, VerifyReport
from triops.governance.facts import GateFacts
from triops.governance.policies import GateResult
from triops.governance.rbac import Principal, Role
from triops.store.engine import Store

DEMO_POLICY = """\
name: fair-before-production
gate: model.stage
description: a model serves people only after its fairness is measured, within bounds, and reviewed
when: change.to_stage == "production"
rules:
  - name: fairness-measured
    expr: size(fairness.gaps) > 0
    reason: fairness gaps between groups are measured
  - name: fairness-gap
    expr: fairness.max_gap <= {max_gap}
    reason: the largest gap between groups is at most {max_gap}
approvals: {{role: approver, count: 1, expires_in_days: 30}}
"""


@dataclass
class DemoOutcome:
    """What happened, step by step, for the demo to print."""

    blocked_reasons: list[str]
    self_approval_refused: str
    request_id: str
    approver: str
    final: GateResult
    verify: VerifyReport
    steps: list[str] = field(default_factory=list)


def promote_with_approval(
    store: Store,
    facts: GateFacts,
    *,
    owner: str,
    author: str,
    approver: str = "anna",
    key: AuditKey | None = None,
    max_gap: float = 0.10,
    clock: Clock | None = None,
) -> DemoOutcome:
    """Run the gate story for ``facts`` (a move to production); the caller then changes the stage.

    ``owner`` is the workspace admin, ``author`` registered the model, ``approver`` reviews it.
    """
    admin = Principal.owner(owner)
    steps: list[str] = []
    gates.add_policies(
        store, admin, DEMO_POLICY.format(max_gap=max_gap), source="demo:fair-before-production"
    )
    steps.append(f"policy fair-before-production bound to gate model.stage (gap ≤ {max_gap}, 1 approver)")
    for name, role in ((author, Role.CONTRIBUTOR), (approver, Role.APPROVER)):
        if not any(
            b.role == role.value for b in roles.list_bindings(store, principal=name, project=facts.project)
        ):
            roles.grant(store, admin, name, role.value, facts.project, clock)
    steps.append(f"roles: {author} contributor, {approver} approver in {facts.project}")
    with store.connect() as conn:
        author_p = roles.load_principal(conn, author)
        approver_p = roles.load_principal(conn, approver)
    blocked: list[str] = []
    try:
        gates.enforce_gate(store, facts, author, clock)
    except GateBlockedError as exc:
        blocked = list(exc.detail.get("approvals_missing", [])) + [
            f"{r['policy']}/{r['rule']}: {r['reason']}"
            for r in exc.detail.get("rules", [])
            if not r["passed"]
        ]
    steps.append("gate blocked: " + "; ".join(blocked) if blocked else "gate passed without approval")
    request = gates.request_approval(
        store, author_p, facts, justification="promote the champion to production", author=author, clock=clock
    )
    refused = ""
    try:
        gates.decide(store, author_p, request.id, "approve", "I trust my own model", clock)
    except PermissionDeniedError as exc:
        refused = exc.message
    steps.append(f"self-approval refused: {refused}")
    gates.decide(
        store, approver_p, request.id, "approve", "fairness report and monitoring plan reviewed", clock
    )
    steps.append(f"{approver} approved request {request.id} with a justification")
    final = gates.check_gate(store, facts, author, clock=clock)
    steps.append(f"gate {'passed' if final.passed else 'still blocked: ' + '; '.join(final.reasons)}")
    if key is not None and key.private is not None:
        audit.seal(store, key, every=audit.DEFAULT_EVERY, clock=clock)
    report = audit.verify(store, key)
    steps.append(f"audit verify: {'OK' if report.ok else 'FAILED at ' + str(report.first_bad_seq)}")
    return DemoOutcome(blocked, refused, request.id, approver, final, report, steps)
