"""Governance and strategy through the public SDK, with the same assertions on local SQLite, local
PostgreSQL and a real server (``ws.governance`` and ``ws.strategy`` local or remote)."""

from __future__ import annotations

import io

import pytest

from triops import Workspace
from triops.errors import ConflictError, NotFoundError, PermissionDeniedError, PolicyError

POLICY = """\
policies:
  - name: staging-needs-auc
    gate: model.stage
    rules:
      - name: auc
        expr: metrics.auc >= 0.7
"""

USE_CASE = {
    "name": "benefit triage",
    "purpose": "rank claims for review",
    "stage": "initiated",
    "high_impact": "not-high-impact",
    "project": "benefits",
    "contact": "carol@example.org",
}


def test_policies_are_added_listed_checked_and_removed(platform: Workspace) -> None:
    added = platform.governance.add_policies(POLICY, source="policy.yaml")
    assert [p.name for p in added] == ["staging-needs-auc"]
    (row,) = platform.governance.policies(gate="model.stage")
    assert row["name"] == "staging-needs-auc" and row["rules"] == ["metrics.auc >= 0.7"]
    facts = {
        "gate": "model.stage",
        "subject_type": "model_version",
        "subject_id": "m/1",
        "metrics": {"auc": 0.6},
    }
    result = platform.governance.check_gate(facts)
    assert not result.passed and "auc" in result.reasons[0]
    assert platform.governance.check_gate({**facts, "metrics": {"auc": 0.9}}).passed
    dry = platform.governance.check_gate(facts, policy_text=POLICY.replace("0.7", "0.5"))
    assert dry.passed
    with pytest.raises(PolicyError):
        platform.governance.add_policies("policies: [{name: x}]")
    platform.governance.remove_policy("staging-needs-auc")
    assert platform.governance.policies() == []
    with pytest.raises(NotFoundError):
        platform.governance.remove_policy("staging-needs-auc")


APPROVAL_POLICY = """\
policies:
  - name: staging-needs-approval
    gate: model.stage
    rules:
      - name: says-why
        expr: size(change.to_stage) > 0
    approvals: {role: approver, count: 1}
"""


def test_approval_requests_keep_separation_of_duties(platform: Workspace) -> None:
    platform.governance.add_policies(APPROVAL_POLICY)
    request = platform.governance.request_approval(
        gate="model.stage",
        subject_id="benefits/1",
        justification="ready for staging tests",
        change={"to_stage": "staging"},
    )
    assert request.requested_by == "carol" and request.requirements[0].role.value == "approver"
    (listed,) = platform.governance.approval_requests(status="pending")
    assert listed["id"] == request.id
    for decide in (platform.governance.approve, platform.governance.reject):
        with pytest.raises(PermissionDeniedError, match="separation of duties"):
            decide(request.id, "looks fine to me")
    with pytest.raises(NotFoundError):
        platform.governance.approve("no-such-request", "fine")


def test_roles_users_and_tokens(platform: Workspace) -> None:
    binding = platform.governance.grant("dora", "viewer", "benefits")
    assert (binding.principal, binding.role, binding.project) == ("dora", "viewer", "benefits")
    with pytest.raises(ConflictError):
        platform.governance.grant("dora", "viewer", "benefits")
    assert [b.principal for b in platform.governance.bindings(project="benefits")] == ["dora"]
    platform.governance.revoke("dora", "viewer", "benefits")
    assert platform.governance.bindings(user="dora") == []
    assert {r["role"] for r in platform.governance.role_permissions()} >= {"viewer", "admin"}
    platform.governance.create_user("svc-train", service=True)
    assert {"name": "svc-train", "kind": "service"}.items() <= next(
        u for u in platform.governance.users() if u["name"] == "svc-train"
    ).items()
    issued = platform.governance.create_token("svc-train", name="ci", expires_days=30)
    assert issued.token.startswith("tri_") and issued.user == "svc-train"
    (row,) = [t for t in platform.governance.tokens() if t["id"] == issued.id]
    assert row["user"] == "svc-train" and not row["revoked_ms"] and "token" not in row
    platform.governance.revoke_token(issued.id)
    assert next(t for t in platform.governance.tokens() if t["id"] == issued.id)["revoked_ms"]


def test_the_audit_log_verifies_exports_and_lists(platform: Workspace) -> None:
    platform.governance.grant("dora", "viewer", "benefits")
    report = platform.governance.verify_audit()
    assert report.ok and report.chain.checked >= 1
    buffer = io.BytesIO()
    count = platform.governance.export_audit(buffer)
    assert count == len(buffer.getvalue().splitlines()) >= 1
    events = platform.governance.audit_events(limit=5)
    assert events and events[0]["action"] == "role.grant"
    signed, key_id = platform.governance.seal_audit(every=1)  # a server has signed its head already
    assert key_id and all(isinstance(seq, int) for seq in signed)
    assert platform.governance.verify_audit().chain.checkpoints_checked >= 1


def test_inventory_and_compliance(platform: Workspace) -> None:
    added = platform.governance.add_use_case(USE_CASE)
    assert added.name == "benefit triage" and added.id
    (found,) = platform.governance.use_cases(project="benefits")
    assert found.id == added.id
    assert "benefit triage" in platform.governance.export_inventory("csv")
    with pytest.raises(ConflictError):
        platform.governance.add_use_case(USE_CASE)
    report = platform.governance.compliance_report("eu-ai-act")
    assert (
        report.framework
        and report.items
        and {i.status for i in report.items} <= {"present", "partial", "missing", "needs-statement"}
    )
    said = platform.governance.record_statement(
        "eu-ai-act", "Annex IV(8)", "kept in the DMS, ref DoC-2026-01"
    )
    assert said["item"] == "Annex IV(8)"
    (listed,) = platform.governance.statements("eu-ai-act", item="Annex IV(8)")
    assert listed["id"] == said["id"]
    items = {i.id: i for i in platform.governance.compliance_report("eu-ai-act").items}
    assert items["Annex IV(8)"].status == "present" and items["Annex IV(7)"].status == "needs-statement"


def test_strategy_tools(platform: Workspace) -> None:
    result = platform.strategy.simulate(["siloed", "integrated"], runs=200, seed=1)
    assert [a.name for a in result.approaches] == ["siloed", "integrated"] and result.runs == 200
    assert result.assumptions_line() == result.to_dict()["assumptions"]
    assert platform.strategy.simulation_parameters()
    tornado = platform.strategy.sensitivity(["siloed", "integrated"], runs=50, seed=1)
    assert (
        tornado.to_dict()
        == platform.strategy.sensitivity(["siloed", "integrated"], runs=50, seed=1).to_dict()
    )
    quiz = platform.strategy.quiz(level="novice", seed=7)
    again = platform.strategy.quiz(level="novice", seed=7)
    assert quiz.to_dict() == again.to_dict()
    first = quiz.questions[0]
    feedback = platform.strategy.answer(first.scenario_id, first.letters[0].upper(), level="novice", seed=7)
    assert feedback.best_letter in first.letters and feedback.number == 1
    graded = platform.strategy.grade_scenarios({first.scenario_id: first.letters[0]}, level="novice", seed=7)
    assert graded.feedback[0].scenario_id == first.scenario_id and graded.total == len(quiz.questions)
    assessment = platform.strategy.assess_maturity({}, from_store=True, save=True)
    assert assessment.pillars
    assert platform.strategy.assessments()[-1].overall == assessment.overall
    assert platform.strategy.progress()
    plan = platform.strategy.roadmap(assessment, capacity=8)
    assert plan.actions
    owm = "title t\ncomponent A [0.9, 0.2]\ncomponent B [0.4, 0.6]\nA->B\nA->C\n"
    report = platform.strategy.wardley_check(owm)
    assert len(report.map.components) == 2 and any("C" in w for w in report.warnings)
    rendered = platform.strategy.wardley_render(owm)
    assert rendered.svg.lstrip().startswith("<svg") and any("C" in w for w in rendered.warnings)
    assert platform.strategy.wardley_from_store().components
    assert platform.strategy.evidence().runs_tracked >= 0
