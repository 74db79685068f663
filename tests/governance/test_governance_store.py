"""Governance against the store (SQLite and PostgreSQL): roles, policies, gates with approvals, inventory,
evidence — every write audited in its transaction and the chain still verifying at the end."""

from __future__ import annotations

import pytest

from triops.domain.clock import FixedClock
from triops.errors import (
    ConflictError,
    GateBlockedError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from triops.governance import audit, compliance, gates, roles
from triops.governance.approvals import Status
from triops.governance.facts import GateFacts
from triops.governance.rbac import Permission, Principal, require
from triops.store import audit as audit_store
from triops.store.engine import Store

OWNER = Principal.owner("owner")
FAIRNESS = """\
name: fair-before-production
gate: model.stage
when: change.to_stage == "production"
rules:
  - name: fairness-gap
    expr: fairness.max_gap <= 0.05
    reason: the largest gap between groups is at most 0.05
approvals: {role: approver, count: 1, expires_in_days: 30}
"""


def actions(store: Store) -> list[str]:
    with store.connect() as conn:
        return [e.action for e in audit_store.list_events(conn, descending=False, limit=1000)]


def principal(store: Store, name: str) -> Principal:
    with store.connect() as conn:
        return roles.load_principal(conn, name)


def promote(gap: float) -> GateFacts:
    return GateFacts(
        gate="model.stage",
        subject_type="model_version",
        subject_id="mv-7",
        project="benefits",
        change={"from_stage": "staging", "to_stage": "production"},
        fairness_gaps={"demographic_parity": gap},
    )


# ------------------------------------------------------------------------------------------------ roles


def test_grant_list_revoke_roles_are_audited(store: Store) -> None:
    roles.grant(store, OWNER, "anna", "approver", "benefits")
    roles.grant(store, OWNER, "carl", "contributor", "benefits")
    anna = principal(store, "anna")
    require(Permission.APPROVAL_DECIDE, anna, "benefits")
    with pytest.raises(PermissionDeniedError, match=r"approval\.decide"):
        require(Permission.APPROVAL_DECIDE, anna, "other")
    assert [(b.principal, b.role) for b in roles.list_bindings(store, project="benefits")] == [
        ("anna", "approver"),
        ("carl", "contributor"),
    ]
    roles.revoke(store, OWNER, "anna", "approver", "benefits")
    assert not principal(store, "anna").can(Permission.APPROVAL_DECIDE, "benefits")
    assert actions(store) == ["role.grant", "role.grant", "role.revoke"]


def test_only_holders_of_role_write_can_grant(store: Store) -> None:
    roles.grant(store, OWNER, "carl", "contributor", "benefits")
    with pytest.raises(PermissionDeniedError, match=r"role\.write"):
        roles.grant(store, principal(store, "carl"), "carl", "admin", "benefits")
    assert actions(store) == ["role.grant"]


def test_bad_grants_and_revokes_are_refused(store: Store) -> None:
    roles.grant(store, OWNER, "anna", "approver", "benefits")
    with pytest.raises(ConflictError, match="already holds"):
        roles.grant(store, OWNER, "anna", "approver", "benefits")
    with pytest.raises(InvalidInputError, match="unknown role"):
        roles.grant(store, OWNER, "anna", "overlord", "benefits")
    with pytest.raises(InvalidInputError, match="principal name"):
        roles.grant(store, OWNER, "bad\nname", "viewer", "benefits")
    with pytest.raises(NotFoundError):
        roles.revoke(store, OWNER, "anna", "viewer", "benefits")


def test_the_last_workspace_admin_cannot_be_revoked(store: Store) -> None:
    assert roles.bootstrap_owner(store, "owner") is not None
    assert roles.bootstrap_owner(store, "someone-else") is None
    with pytest.raises(ConflictError, match="last workspace-wide admin"):
        roles.revoke(store, OWNER, "owner", "admin", None)


def test_names_with_sql_and_html_metacharacters_are_stored_literally(store: Store) -> None:
    name = "o'brien\"; DROP TABLE role_bindings; -- <img src=x onerror=alert(1)>"
    roles.grant(store, OWNER, name, "viewer", "benefits")
    (binding,) = roles.list_bindings(store, principal=name)
    assert binding.principal == name
    assert principal(store, name).can(Permission.PROJECT_READ, "benefits")
    with store.connect() as conn:
        (event,) = audit_store.list_events(conn)
    assert event.after == {"principal": name, "role": "viewer", "project": "benefits"}


# --------------------------------------------------------------------------------------- gates + approvals


def test_demo_flow_fairness_policy_blocks_until_an_independent_approver_approves(store: Store) -> None:
    clock = FixedClock()
    gates.add_policies(store, OWNER, FAIRNESS, source="fairness.yaml")
    roles.grant(store, OWNER, "dora", "contributor", "benefits")  # registered the model
    roles.grant(store, OWNER, "anna", "approver", "benefits")
    dora, anna = principal(store, "dora"), principal(store, "anna")

    with pytest.raises(GateBlockedError) as blocked:
        gates.enforce_gate(store, promote(0.03), "dora", clock)
    assert "needs 1 approval(s) from role approver" in str(blocked.value)
    assert blocked.value.detail["facts"]["fairness"]["max_gap"] == 0.03

    request = gates.request_approval(
        store, dora, promote(0.03), justification="promote the champion", author="dora"
    )
    with pytest.raises(PermissionDeniedError, match="separation of duties"):
        gates.decide(store, dora, request.id, "approve", "my own model is fine", clock)
    with pytest.raises(InvalidInputError, match="justification"):
        gates.decide(store, anna, request.id, "approve", "  ", clock)
    state = gates.decide(store, anna, request.id, "approve", "fairness report reviewed", clock)
    assert state.status is Status.APPROVED

    result = gates.enforce_gate(store, promote(0.03), "dora", clock)
    assert result.passed
    assert result.facts["approvals"] == 1
    assert actions(store)[-4:] == [
        "approval.request",
        "approval.approve",
        "gate.evaluate",
        "approval.consume",
    ]
    with pytest.raises(GateBlockedError):  # the approval was used by its change: it cannot be used again
        gates.enforce_gate(store, promote(0.03), "dora", clock)
    assert audit.verify(store, None).ok


def test_rules_still_block_when_approved(store: Store) -> None:
    gates.add_policies(store, OWNER, FAIRNESS)
    roles.grant(store, OWNER, "anna", "approver", "benefits")
    request = gates.request_approval(store, OWNER, promote(0.2), justification="please")
    gates.decide(store, principal(store, "anna"), request.id, "approve", "ok")
    result = gates.check_gate(store, promote(0.2), "owner")
    assert not result.passed
    assert result.reasons == [
        "fair-before-production/fairness-gap: not met: the largest gap between groups is at most 0.05"
    ]


def test_a_rejection_blocks_until_a_new_request(store: Store) -> None:
    clock = FixedClock()
    gates.add_policies(store, OWNER, FAIRNESS)
    roles.grant(store, OWNER, "anna", "approver", "benefits")
    roles.grant(store, OWNER, "abel", "approver", "benefits")
    anna, abel = principal(store, "anna"), principal(store, "abel")
    first = gates.request_approval(store, OWNER, promote(0.01), justification="go")
    gates.decide(store, anna, first.id, "reject", "monitoring plan missing", clock)
    with pytest.raises(ConflictError, match="rejected"):
        gates.decide(store, abel, first.id, "approve", "I think it is fine", clock)
    result = gates.check_gate(store, promote(0.01), "owner", clock=clock)
    assert not result.passed
    assert "rejected" in result.approvals_missing[-1]
    second = gates.request_approval(store, OWNER, promote(0.01), justification="monitoring plan added")
    with pytest.raises(ConflictError, match="still pending"):
        gates.request_approval(store, OWNER, promote(0.01), justification="again")
    gates.decide(store, abel, second.id, "approve", "plan reviewed", clock)
    assert gates.check_gate(store, promote(0.01), "owner", clock=clock).passed


def test_approvals_expire_with_the_clock(store: Store) -> None:
    clock = FixedClock()
    gates.add_policies(store, OWNER, FAIRNESS)
    roles.grant(store, OWNER, "anna", "approver", "benefits")
    request = gates.request_approval(store, OWNER, promote(0.01), justification="go", clock=clock)
    gates.decide(store, principal(store, "anna"), request.id, "approve", "ok", clock)
    assert gates.check_gate(store, promote(0.01), "owner", clock=clock).passed
    clock.advance(31 * 86_400)
    result = gates.check_gate(store, promote(0.01), "owner", clock=clock)
    assert not result.passed
    assert "expired" in result.approvals_missing[-1]


def test_budget_override_needs_a_finops_approval(store: Store) -> None:
    gates.install_builtin_policies(store, OWNER)
    assert gates.install_builtin_policies(store, OWNER) == []
    roles.grant(store, OWNER, "fin", "finops", "benefits")
    roles.grant(store, OWNER, "anna", "approver", "benefits")
    facts = GateFacts(
        gate="budget.override",
        subject_type="budget",
        subject_id="b-1",
        project="benefits",
        change={"justification": "quarter-end retraining"},
    )
    request = gates.request_approval(store, OWNER, facts, justification="quarter-end retraining")
    assert [r.role.value for r in request.requirements] == ["finops"]
    with pytest.raises(PermissionDeniedError, match="does not hold a role"):
        gates.decide(store, principal(store, "anna"), request.id, "approve", "ok")
    gates.decide(store, principal(store, "fin"), request.id, "approve", "within the forecast")
    assert gates.check_gate(store, facts, "owner").passed


def test_policy_changes_are_audited_and_replace_by_name(store: Store) -> None:
    gates.add_policies(store, OWNER, FAIRNESS)
    gates.add_policies(store, OWNER, FAIRNESS.replace("0.05", "0.02"))
    (policy,) = gates.load_policies(store, gate="model.stage", project="benefits")
    assert "0.02" in policy.rules[0].expr
    gates.remove_policy(store, OWNER, "fair-before-production")
    assert gates.load_policies(store, gate="model.stage") == []
    assert actions(store) == ["policy.add", "policy.add", "policy.remove"]
    with pytest.raises(NotFoundError):
        gates.remove_policy(store, OWNER, "fair-before-production")


def test_writing_policies_needs_policy_write(store: Store) -> None:
    roles.grant(store, OWNER, "carl", "contributor", "benefits")
    with pytest.raises(PermissionDeniedError, match=r"policy\.write"):
        gates.add_policies(store, principal(store, "carl"), FAIRNESS, project="benefits")


def test_request_without_a_policy_asking_for_approvals_is_refused(store: Store) -> None:
    with pytest.raises(InvalidInputError, match="no policy"):
        gates.request_approval(store, OWNER, promote(0.01), justification="go")


# --------------------------------------------------------------------------------- inventory + evidence


USE_CASE = {
    "name": "UI take-up outreach <b>&</b>",
    "purpose": "rank displaced workers for outreach",
    "project": "benefits",
    "stage": "operation-and-maintenance",
    "high_impact": "high-impact",
    "practices": {"impact_assessment": "implemented", "human_oversight": "implemented"},
    "model_ids": ["mv-7"],
}


def test_inventory_add_list_export_is_audited(store: Store) -> None:
    stored = compliance.add_use_case(store, OWNER, USE_CASE)
    assert stored.id
    with pytest.raises(ConflictError, match="already exists"):
        compliance.add_use_case(store, OWNER, USE_CASE)
    compliance.add_use_case(store, OWNER, {**USE_CASE, "stage": "retired"}, replace=True)
    (listed,) = compliance.list_use_cases(store, project="benefits")
    assert listed.name == USE_CASE["name"]
    assert listed.stage.value == "retired"
    assert compliance.get_use_case(store, stored.id).id == stored.id
    assert "UI take-up outreach <b>&</b>" in compliance.export_inventory(store, "csv")
    assert compliance.export_inventory(store, "json").startswith("[")
    with pytest.raises(InvalidInputError, match="csv or json"):
        compliance.export_inventory(store, "xml")
    with pytest.raises(NotFoundError):
        compliance.get_use_case(store, "nope")
    assert actions(store) == ["inventory.add", "inventory.update"]


def test_compliance_report_reads_governance_evidence_and_extra_evidence(store: Store) -> None:
    from triops.governance.frameworks import Evidence

    empty = compliance.compliance_report(store, "eu-ai-act")
    assert empty.count("present") == 0
    gates.add_policies(store, OWNER, FAIRNESS)
    roles.grant(store, OWNER, "anna", "approver", "benefits")
    compliance.add_use_case(store, OWNER, USE_CASE)
    extra = {"model_card": [Evidence("model_card", "card of mv-7", "/models/mv-7/card")]}
    report = {i.id: i for i in compliance.compliance_report(store, "eu-ai-act", extra=extra).items}
    assert report["Art. 13"].status == "present"
    assert report["Art. 14"].status == "partial"  # oversight + roles, no approval decision yet
    assert report["Annex IV(1)"].status == "present"
    nist = {i.id: i for i in compliance.compliance_report(store, "nist-ai-rmf").items}
    assert nist["GOVERN 1.6"].status == "present"
    assert nist["GOVERN 1.6"].evidence[0].label == USE_CASE["name"]


def test_demo_story_blocks_refuses_self_approval_then_passes(store: Store, tmp_path: object) -> None:
    from pathlib import Path

    from triops.governance.audit import AuditKey
    from triops.governance.demo import promote_with_approval

    key = AuditKey.load_or_create(Path(str(tmp_path)) / "audit_ed25519")
    outcome = promote_with_approval(store, promote(0.03), owner="owner", author="dora", key=key)
    assert any("needs 1 approval(s) from role approver" in r for r in outcome.blocked_reasons)
    assert "separation of duties" in outcome.self_approval_refused
    assert outcome.final.passed
    assert outcome.verify.ok
    assert len(outcome.steps) == 7


def test_non_finite_facts_are_recorded_as_null(store: Store) -> None:
    gates.add_policies(
        store, OWNER, FAIRNESS.replace("approvals: {role: approver, count: 1, expires_in_days: 30}\n", "")
    )
    facts = GateFacts(
        gate="model.stage",
        subject_type="model_version",
        subject_id="mv-nan",
        project="benefits",
        change={"to_stage": "production"},
        metrics={"auc": float("nan")},
        fairness_gaps={"dp": float("inf")},
    )
    result = gates.check_gate(store, facts, "owner")
    assert not result.passed
    from triops.store.repositories import governance as repo

    with store.connect() as conn:
        (row,) = repo.list_gate_evaluations(conn, subject_id="mv-nan")
    assert row["result"]["facts"]["metrics"]["auc"] is None
