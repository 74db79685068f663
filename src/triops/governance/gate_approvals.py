"""Approval requests in the store: open one for a change, decide on it, find the one bound to a change
being made and consume it when that change goes through. Every write appends an audit event in its own
transaction; the pure rules (separation of duties, expiry, counting) are ``triops.governance.approvals``
and the binding to a change is ``triops.governance.binding``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection

from triops.domain.clock import Clock
from triops.domain.ids import new_id
from triops.errors import ConflictError, InvalidInputError, NotFoundError
from triops.governance import approvals as ap
from triops.governance.binding import pick_request, policy_digest
from triops.governance.facts import GateFacts
from triops.governance.policies import Gate, evaluate
from triops.governance.policy_store import gate_policies, now_ms
from triops.governance.rbac import Permission, Principal, require
from triops.store import audit as audit_store
from triops.store.engine import Store
from triops.store.repositories import governance as repo


def stored_request(row: dict[str, Any]) -> ap.ApprovalRequest:
    return ap.ApprovalRequest(
        id=row["id"],
        gate=row["gate"],
        subject_type=row["subject_type"],
        subject_id=row["subject_id"],
        project=row["project"],
        requested_by=row["requested_by"],
        author=row["author"],
        requirements=ap.parse_requirements(row["requirements"]),
        justification=row["justification"],
        created_at_ms=row["created_ms"],
        expires_at_ms=row["expires_ms"],
        cancelled=row["status"] == ap.Status.CANCELLED.value,
        change=dict(row["change"] or {}),
    )


def decisions_of(conn: Connection, request_id: str) -> list[ap.Decision]:
    return [
        ap.Decision(
            r["approver"], ap.Verdict(r["verdict"]), r["justification"], r["at_ms"], frozenset(r["roles"])
        )
        for r in repo.list_decisions(conn, request_id)
    ]


def approval_status(
    store: Store,
    gate: Gate | str,
    subject_type: str,
    subject_id: str,
    clock: Clock | None = None,
    change: Mapping[str, Any] | None = None,
    *,
    conn: Connection | None = None,
) -> tuple[ap.ApprovalRequest, ap.ApprovalState] | None:
    """The request for this change (the newest unconsumed one whose change ``change`` contains; without
    ``change``, the newest) and where it stands, or None if nobody asked yet. ``conn``: read on the
    caller's connection."""
    if conn is None:
        with store.connect() as own:
            return approval_status(store, gate, subject_type, subject_id, clock, change, conn=own)
    rows = repo.requests_for_subject(conn, Gate(gate).value, subject_type, subject_id)
    row = pick_request(rows, change)
    if row is None:
        return None
    request = stored_request(dict(row))
    return request, ap.state(request, decisions_of(conn, request.id), now_ms(clock))


def request_approval(
    store: Store,
    requester: Principal,
    facts: GateFacts,
    *,
    justification: str,
    author: str | None = None,
    requirements: Sequence[ap.Requirement] | None = None,
    expires_in_days: float | None = None,
    clock: Clock | None = None,
) -> ap.ApprovalRequest:
    """Open a request for the change ``facts`` describes; the requirements come from the gate's policies."""
    require(Permission.APPROVAL_REQUEST, requester, facts.project)
    text = ap.check_justification(justification)
    if requirements is None:
        result = evaluate(gate_policies(store, facts.gate, facts.project), facts)
        requirements = [ap.Requirement(a.role, a.count) for a in result.approvals_needed]
        days = [a.expires_in_days for a in result.approvals_needed if a.expires_in_days is not None]
        if expires_in_days is None and days:
            expires_in_days = min(days)
    if not requirements:
        raise InvalidInputError(
            f"no policy at gate {facts.gate!r} asks for approvals for this change", hint="nothing to request"
        )
    if not facts.change:
        raise InvalidInputError(
            "an approval request names the change it approves",
            hint="give the change, e.g. --change to_stage=production",
            detail={"field": "change"},
        )
    digest = policy_digest(gate_policies(store, facts.gate, facts.project))
    now = now_ms(clock)
    with store.begin() as conn:
        rows = repo.requests_for_subject(conn, facts.gate, facts.subject_type, facts.subject_id)
        latest = pick_request(rows, facts.change)
        if latest is not None:
            current = ap.state(stored_request(dict(latest)), decisions_of(conn, latest["id"]), now)
            if current.status is ap.Status.PENDING:
                raise ConflictError(
                    f"approval request {latest['id']} for this change is still pending",
                    hint="wait for its decisions or cancel it",
                )
        request = ap.ApprovalRequest(
            id=new_id(now),
            gate=Gate(facts.gate).value,
            subject_type=facts.subject_type,
            subject_id=facts.subject_id,
            project=facts.project,
            requested_by=requester.name,
            author=author,
            requirements=tuple(requirements),
            justification=text,
            created_at_ms=now,
            expires_at_ms=ap.expiry_ms(now, expires_in_days),
            change=dict(facts.change),
        )
        repo.insert_request(
            conn,
            {
                "id": request.id,
                "gate": request.gate,
                "subject_type": request.subject_type,
                "subject_id": request.subject_id,
                "project": request.project,
                "change": request.change,
                "requested_by": request.requested_by,
                "author": author,
                "requirements": [r.to_dict() for r in request.requirements],
                "justification": text,
                "status": ap.Status.PENDING.value,
                "created_ms": now,
                "expires_ms": request.expires_at_ms,
                "closed_ms": None,
                "policy_digest": digest,
            },
        )
        audit_store.append_event(
            conn,
            actor=requester.name,
            action="approval.request",
            object_type="approval_request",
            object_id=request.id,
            before=None,
            after={
                "gate": request.gate,
                "subject": f"{request.subject_type}/{request.subject_id}",
                "requirements": [r.to_dict() for r in request.requirements],
                "justification": text,
                "change": request.change,
                "policy_digest": digest,
            },
            project=request.project,
            at_ms=now,
        )
    return request


def decide(
    store: Store,
    principal: Principal,
    request_id: str,
    verdict: ap.Verdict | str,
    justification: str | None,
    clock: Clock | None = None,
) -> ap.ApprovalState:
    """Approve or reject a request (separation of duties, justification, expiry checked). Audited."""
    now = now_ms(clock)
    with store.begin() as conn:
        row = repo.get_request(conn, request_id, for_update=True)
        if row is None:
            raise NotFoundError(f"no approval request {request_id!r}", hint="see triops approval list")
        request = stored_request(row)
        decisions = decisions_of(conn, request_id)
        decision = ap.check_decision(request, decisions, principal, verdict, justification, now)
        repo.insert_decision(
            conn,
            {
                "id": new_id(now),
                "request_id": request_id,
                "approver": decision.approver,
                "verdict": decision.verdict.value,
                "justification": decision.justification,
                "roles": sorted(decision.roles),
                "at_ms": now,
            },
        )
        after = ap.state(request, [*decisions, decision], now)
        if after.status.value != row["status"]:
            repo.set_request_status(conn, request_id, after.status.value, now)
        audit_store.append_event(
            conn,
            actor=principal.name,
            action=f"approval.{decision.verdict.value}",
            object_type="approval_request",
            object_id=request_id,
            before={"status": row["status"]},
            after={"status": after.status.value, "justification": decision.justification},
            project=request.project,
            at_ms=now,
        )
    return after


def consume(store: Store, request_id: str, facts: GateFacts, actor: str, clock: Clock | None) -> None:
    now = now_ms(clock)
    with store.begin() as conn:
        if not repo.consume_request(conn, request_id, now):
            raise ConflictError(
                f"approval request {request_id} was already used for a change",
                hint="an approval is consumed by the change it was given for: ask again",
            )
        audit_store.append_event(
            conn,
            actor=actor,
            action="approval.consume",
            object_type="approval_request",
            object_id=request_id,
            before=None,
            after={
                "gate": facts.gate,
                "subject": f"{facts.subject_type}/{facts.subject_id}",
                "change": facts.change,
            },
            project=facts.project,
            at_ms=now,
        )


__all__ = ["approval_status", "consume", "decide", "decisions_of", "request_approval", "stored_request"]
