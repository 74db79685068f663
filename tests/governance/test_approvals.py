"""Approval rules: N approvals from a role, separation of duties, justification, expiry, rejection."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triops.domain.clock import FixedClock, utc_ms
from triops.errors import ConflictError, InvalidInputError, PermissionDeniedError
from triops.governance.approvals import (
    ApprovalRequest,
    Decision,
    Requirement,
    Status,
    Verdict,
    check_decision,
    expiry_ms,
    parse_requirements,
    state,
)
from triops.governance.rbac import Principal, Role

CLOCK = FixedClock()
NOW = utc_ms(CLOCK.now())
ANNA = Principal.from_bindings("anna", [("benefits", "approver")])
ABEL = Principal.from_bindings("abel", [("benefits", "approver")])
FINN = Principal.from_bindings("finn", [("benefits", "finops")])


def request(
    count: int = 1, role: Role = Role.APPROVER, expires_in_days: float | None = 30
) -> ApprovalRequest:
    return ApprovalRequest(
        id="req-1",
        gate="model.stage",
        subject_type="model_version",
        subject_id="mv-1",
        project="benefits",
        requested_by="carl",
        author="dora",
        requirements=(Requirement(role, count),),
        justification="promote the champion",
        created_at_ms=NOW,
        expires_at_ms=expiry_ms(NOW, expires_in_days),
    )


def test_one_approval_from_the_role_approves() -> None:
    req = request()
    d = check_decision(req, [], ANNA, "approve", "reviewed the fairness report", NOW)
    assert d.roles == frozenset({"approver"})
    after = state(req, [d], NOW)
    assert after.status is Status.APPROVED
    assert after.approvals == 1
    assert after.approvals_by_role == {"approver": 1}


def test_two_approvals_needed_stays_pending_after_one() -> None:
    req = request(count=2)
    d1 = check_decision(req, [], ANNA, Verdict.APPROVE, "ok", NOW)
    assert state(req, [d1], NOW).status is Status.PENDING
    assert "needs 2 approval(s)" in state(req, [d1], NOW).missing[0]
    d2 = check_decision(req, [d1], ABEL, Verdict.APPROVE, "ok too", NOW)
    assert state(req, [d1, d2], NOW).status is Status.APPROVED


def test_requester_cannot_approve_their_own_change() -> None:
    req = request()
    requester = Principal.from_bindings("carl", [("benefits", "approver")])
    with pytest.raises(PermissionDeniedError, match="separation of duties"):
        check_decision(req, [], requester, "approve", "looks good", NOW)


def test_author_cannot_approve_their_own_model() -> None:
    dora = Principal.from_bindings("dora", [("benefits", "admin")])
    with pytest.raises(PermissionDeniedError, match="authored model_version 'mv-1'"):
        check_decision(request(), [], dora, "approve", "mine is great", NOW)


def test_without_the_permission_the_error_names_it() -> None:
    viewer = Principal.from_bindings("vic", [("benefits", "viewer")])
    with pytest.raises(PermissionDeniedError, match=r"approval\.decide") as info:
        check_decision(request(), [], viewer, "approve", "why not", NOW)
    assert info.value.detail["permission"] == "approval.decide"


def test_a_holder_of_another_deciding_role_does_not_count() -> None:
    with pytest.raises(PermissionDeniedError, match="does not hold a role this request needs"):
        check_decision(request(), [], FINN, "approve", "fine", NOW)
    budget = request(role=Role.FINOPS)
    assert check_decision(budget, [], FINN, "approve", "within forecast", NOW).verdict is Verdict.APPROVE


@pytest.mark.parametrize("text", [None, "", "   \n\t"])
def test_a_justification_is_required(text: str | None) -> None:
    with pytest.raises(InvalidInputError, match="justification"):
        check_decision(request(), [], ANNA, "approve", text, NOW)


def test_overlong_justification_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="limit"):
        check_decision(request(), [], ANNA, "approve", "x" * 5000, NOW)


def test_unknown_verdict_is_refused() -> None:
    with pytest.raises(ValueError, match="maybe"):
        check_decision(request(), [], ANNA, "maybe", "hmm", NOW)


def test_a_rejection_blocks_the_request_for_good() -> None:
    req = request(count=2)
    reject = check_decision(req, [], ANNA, "reject", "fairness gap too large", NOW)
    blocked = state(req, [reject], NOW)
    assert blocked.status is Status.REJECTED
    assert blocked.rejected_by == "anna"
    with pytest.raises(ConflictError, match="rejected"):
        check_decision(req, [reject], ABEL, "approve", "I disagree", NOW)


def test_requests_and_their_approvals_expire() -> None:
    req = request(expires_in_days=1)
    d = check_decision(req, [], ANNA, "approve", "ok", NOW)
    assert state(req, [d], NOW + 86_400_000 - 1).status is Status.APPROVED
    expired = state(req, [d], NOW + 86_400_000)
    assert expired.status is Status.EXPIRED
    assert "expired" in expired.missing[-1]
    with pytest.raises(ConflictError, match="expired"):
        check_decision(request(count=2, expires_in_days=1), [d], ABEL, "approve", "late", NOW + 86_400_000)


def test_nobody_decides_twice() -> None:
    req = request(count=2)
    d = check_decision(req, [], ANNA, "approve", "ok", NOW)
    with pytest.raises(ConflictError, match="already decided"):
        check_decision(req, [d], ANNA, "approve", "again", NOW)


def test_admin_counts_for_any_role() -> None:
    root = Principal.from_bindings("root", [(None, "admin")])
    req = request()
    d = check_decision(req, [], root, "approve", "ok", NOW)
    assert state(req, [d], NOW).status is Status.APPROVED


def test_approvals_from_people_who_lost_the_role_at_decision_time_do_not_count() -> None:
    req = request()
    stale = Decision("zed", Verdict.APPROVE, "ok", NOW, frozenset({"viewer"}))
    assert state(req, [stale], NOW).status is Status.PENDING


def test_stored_requirements_are_validated() -> None:
    assert parse_requirements([{"role": "approver", "count": 2}]) == (Requirement(Role.APPROVER, 2),)
    with pytest.raises(InvalidInputError):
        parse_requirements([])
    with pytest.raises(InvalidInputError):
        parse_requirements([{"role": "approver", "count": 0}])
    with pytest.raises(InvalidInputError, match="unknown role"):
        parse_requirements([{"role": "boss"}])


@settings(max_examples=80, deadline=None)
@given(
    count=st.integers(1, 4),
    verdicts=st.lists(st.tuples(st.sampled_from(["a1", "a2", "a3", "a4", "v1"]), st.booleans()), max_size=6),
)
def test_a_request_is_approved_exactly_when_enough_eligible_people_approve_and_nobody_rejects(
    count: int, verdicts: list[tuple[str, bool]]
) -> None:
    req = request(count=count)
    decisions = []
    seen: set[str] = set()
    for name, approve in verdicts:
        if name in seen:
            continue
        seen.add(name)
        roles = frozenset({"viewer"} if name.startswith("v") else {"approver"})
        decisions.append(
            Decision(name, Verdict.APPROVE if approve else Verdict.REJECT, "because", NOW, roles)
        )
    eligible = {d.approver for d in decisions if d.verdict is Verdict.APPROVE and "approver" in d.roles}
    rejected = any(d.verdict is Verdict.REJECT for d in decisions)
    status = state(req, decisions, NOW).status
    if rejected:
        assert status is Status.REJECTED
    else:
        assert (status is Status.APPROVED) == (len(eligible) >= count)
