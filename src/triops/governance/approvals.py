"""Approvals at gates, as pure rules: who may approve, when a request is satisfied, expired or blocked.

A request asks for N approvals from a role (or several roles) for one change at one gate. Separation of
duties: whoever requested the change or authored the subject (e.g. registered the model) cannot decide on
it. Every decision carries a justification. A single rejection blocks the request for good: the change
needs a new request. A request, and the approvals in it, expire at ``expires_at_ms``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from triops.errors import ConflictError, InvalidInputError, PermissionDeniedError
from triops.governance.rbac import Permission, Principal, Role, parse_role

MAX_JUSTIFICATION = 4000
DAY_MS = 86_400_000


class Status(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class Verdict(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class Requirement:
    role: Role
    count: int = 1

    def to_dict(self) -> dict[str, object]:
        return {"role": self.role.value, "count": self.count}


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    id: str
    gate: str
    subject_type: str
    subject_id: str
    project: str | None
    requested_by: str
    author: str | None
    requirements: tuple[Requirement, ...]
    justification: str
    created_at_ms: int
    expires_at_ms: int | None = None
    cancelled: bool = False
    change: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    approver: str
    verdict: Verdict
    justification: str
    at_ms: int
    roles: frozenset[str]  # the approver's roles in the project when deciding


@dataclass(frozen=True, slots=True)
class ApprovalState:
    status: Status
    approvals_by_role: dict[str, int]
    missing: tuple[str, ...]
    rejected_by: str | None = None
    approvers: tuple[str, ...] = ()

    @property
    def approvals(self) -> int:
        """Distinct people who approved (the ``approvals`` fact rules see)."""
        return len(self.approvers)


def check_justification(text: str | None) -> str:
    value = (text or "").strip()
    if not value:
        raise InvalidInputError(
            "a justification is required", hint="say why, e.g. --justification 'reviewed …'"
        )
    if len(value) > MAX_JUSTIFICATION:
        raise InvalidInputError(
            f"the justification is {len(value)} characters; the limit is {MAX_JUSTIFICATION}"
        )
    return value


def parse_requirements(items: Sequence[dict[str, object]]) -> tuple[Requirement, ...]:
    """Requirements from stored JSON (``[{"role": "approver", "count": 1}]``)."""
    out: list[Requirement] = []
    for item in items:
        count = item.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise InvalidInputError(f"approval count {count!r} is not a positive whole number")
        out.append(Requirement(parse_role(str(item.get("role", ""))), count))
    if not out:
        raise InvalidInputError(
            "an approval request needs at least one requirement", hint="e.g. 1 from approver"
        )
    return tuple(out)


def state(request: ApprovalRequest, decisions: Sequence[Decision], now_ms: int) -> ApprovalState:
    """Where a request stands now: counts approvals per required role from eligible deciders."""
    rejected = next((d for d in decisions if d.verdict is Verdict.REJECT), None)
    approvers = tuple(sorted({d.approver for d in decisions if d.verdict is Verdict.APPROVE}))
    counts: dict[str, int] = {}
    for req in request.requirements:
        eligible = {
            d.approver
            for d in decisions
            if d.verdict is Verdict.APPROVE and (req.role.value in d.roles or Role.ADMIN.value in d.roles)
        }
        counts[req.role.value] = len(eligible)
    missing = tuple(
        f"needs {req.count} approval(s) from role {req.role.value}, has {counts[req.role.value]}"
        for req in request.requirements
        if counts[req.role.value] < req.count
    )
    if rejected is not None:
        return ApprovalState(Status.REJECTED, counts, missing or ("rejected",), rejected.approver, approvers)
    if request.cancelled:
        return ApprovalState(Status.CANCELLED, counts, missing or ("cancelled",), None, approvers)
    if request.expires_at_ms is not None and now_ms >= request.expires_at_ms:
        return ApprovalState(Status.EXPIRED, counts, (*missing, "the request has expired"), None, approvers)
    return ApprovalState(Status.APPROVED if not missing else Status.PENDING, counts, missing, None, approvers)


def check_decision(
    request: ApprovalRequest,
    decisions: Sequence[Decision],
    principal: Principal,
    verdict: Verdict | str,
    justification: str | None,
    now_ms: int,
) -> Decision:
    """Validate one decision and return it; raises naming the rule it breaks."""
    verdict = Verdict(verdict)
    text = check_justification(justification)
    if principal.name == request.requested_by:
        raise PermissionDeniedError(
            f"{principal.name!r} requested this change and cannot decide on it (separation of duties)",
            hint="ask another person who holds the required role",
            detail={"permission": Permission.APPROVAL_DECIDE.value, "rule": "separation-of-duties"},
        )
    if request.author is not None and principal.name == request.author:
        raise PermissionDeniedError(
            f"{principal.name!r} authored {request.subject_type} {request.subject_id!r} "
            "and cannot decide on it (separation of duties)",
            hint="ask another person who holds the required role",
            detail={"permission": Permission.APPROVAL_DECIDE.value, "rule": "separation-of-duties"},
        )
    if not principal.can(Permission.APPROVAL_DECIDE, request.project):
        raise PermissionDeniedError(
            f"{principal.name!r} lacks permission 'approval.decide' in project {request.project!r}",
            hint="an admin can grant the approver or finops role",
            detail={"permission": Permission.APPROVAL_DECIDE.value},
        )
    roles = [req.role for req in request.requirements]
    if not any(principal.has_role(role, request.project) for role in roles):
        needed = ", ".join(r.value for r in roles)
        raise PermissionDeniedError(
            f"{principal.name!r} does not hold a role this request needs ({needed})",
            hint=f"an admin can grant it: triops role grant {principal.name} {roles[0].value}",
            detail={"permission": Permission.APPROVAL_DECIDE.value, "roles": needed},
        )
    current = state(request, decisions, now_ms)
    if current.status is not Status.PENDING:
        raise ConflictError(
            f"approval request {request.id} is {current.status.value}; it takes no more decisions",
            hint="ask for the change again to open a new request",
        )
    if any(d.approver == principal.name for d in decisions):
        raise ConflictError(f"{principal.name!r} has already decided on request {request.id}")
    held = frozenset(r.value for r in principal.roles_in(request.project))
    return Decision(principal.name, verdict, text, now_ms, held)


def expiry_ms(now_ms: int, days: float | None) -> int | None:
    return None if days is None else now_ms + int(days * DAY_MS)
