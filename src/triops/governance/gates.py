"""Gates in the store: policies kept as code, gate checks recorded with their facts, approval requests and
decisions. Every write appends an audit event in its own transaction.

A guarded change (a stage change, ``champion`` alias, deployment, budget override, dataset publish) calls
``enforce_gate(store, facts, actor)``: it evaluates the active policies bound to the gate, counts the valid
approvals of the latest request for that change, records the result and raises ``GateBlockedError`` (with
the whole result as its detail) unless every rule passes and the approvals are in.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy.engine import Connection

from triops.domain.audit_chain import canonical_json
from triops.domain.clock import Clock, SystemClock, utc_ms
from triops.domain.ids import new_id
from triops.errors import ConflictError, GateBlockedError, InvalidInputError, NotFoundError
from triops.governance import approvals as ap
from triops.governance.binding import pick_request, policy_digest
from triops.governance.facts import GateFacts
from triops.governance.policies import Gate, GateResult, Policy, evaluate, parse_policies
from triops.governance.rbac import Permission, Principal, require
from triops.store import audit as audit_store
from triops.store.engine import Store
from triops.store.repositories import governance as repo

# Budget overrides need the finops role's approval (issue 8 §3); installed by ``install_builtin_policies``.
BUILTIN_POLICIES = """\
policies:
  - name: budget-override-needs-finops
    gate: budget.override
    description: a budget override is approved by someone with the finops role who did not ask for it
    rules:
      - name: has-justification
        expr: size(change.justification) > 0
        reason: a budget override states why it is needed
    approvals: {role: finops, count: 1, expires_in_days: 7}
"""


def _now(clock: Clock | None) -> int:
    return utc_ms((clock or SystemClock()).now())


# ------------------------------------------------------------------------------------------ policies


def add_policies(
    store: Store, actor: Principal, text: str, *, source: str = "<string>", project: str | None = None,
    clock: Clock | None = None,
) -> list[Policy]:  # fmt: skip
    """Store every policy of a YAML document as active, replacing same-named ones in the scope. Audited."""
    require(Permission.POLICY_WRITE, actor, project)
    parsed = parse_policies(text, source)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    now = _now(clock)
    with store.begin() as conn:
        for policy in parsed:
            old = repo.active_policy(conn, policy.name, project)
            if old is not None:
                repo.deactivate_policy(conn, old["id"])
            row = {
                "id": new_id(now),
                "name": policy.name,
                "gate": policy.gate.value,
                "project": project,
                "source": text,
                "sha256": digest,
                "active": True,
                "created_by": actor.name,
                "created_ms": now,
            }
            repo.insert_policy(conn, row)
            audit_store.append_event(
                conn,
                actor=actor.name,
                action="policy.add",
                object_type="policy",
                object_id=policy.name,
                before=None if old is None else {"sha256": old["sha256"], "gate": old["gate"]},
                after={
                    "sha256": digest,
                    "gate": policy.gate.value,
                    "source": source,
                    "rules": len(policy.rules),
                },
                project=project,
                at_ms=now,
            )
    return parsed


def remove_policy(
    store: Store, actor: Principal, name: str, *, project: str | None = None, clock: Clock | None = None
) -> None:
    require(Permission.POLICY_WRITE, actor, project)
    now = _now(clock)
    with store.begin() as conn:
        old = repo.active_policy(conn, name, project)
        if old is None:
            raise NotFoundError(f"no active policy named {name!r}", hint="see triops policy list")
        repo.deactivate_policy(conn, old["id"])
        audit_store.append_event(
            conn,
            actor=actor.name,
            action="policy.remove",
            object_type="policy",
            object_id=name,
            before={"sha256": old["sha256"], "gate": old["gate"]},
            after=None,
            project=project,
            at_ms=now,
        )


def install_builtin_policies(store: Store, actor: Principal, clock: Clock | None = None) -> list[Policy]:
    """Install ``BUILTIN_POLICIES`` unless a policy of the same name is already active."""
    with store.connect() as conn:
        if repo.active_policy(conn, "budget-override-needs-finops", None) is not None:
            return []
    return add_policies(store, actor, BUILTIN_POLICIES, source="<builtin>", clock=clock)


def _policies_from_rows(rows: Sequence[dict[str, Any]]) -> list[Policy]:
    cache: dict[str, list[Policy]] = {}
    out: list[Policy] = []
    for row in rows:
        doc = cache.setdefault(row["sha256"], parse_policies(row["source"], f"policy {row['name']}"))
        out.extend(p for p in doc if p.name == row["name"])
    return out


def load_policies(
    store: Store, *, gate: Gate | str | None = None, project: str | None = None
) -> list[Policy]:
    with store.connect() as conn:
        rows = repo.list_policies(conn, gate=None if gate is None else Gate(gate).value, project=project)
    return _policies_from_rows(rows)


# ----------------------------------------------------------------------------------------- approvals


def _request(row: dict[str, Any]) -> ap.ApprovalRequest:
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


def _decisions(conn: Connection, request_id: str) -> list[ap.Decision]:
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
) -> tuple[ap.ApprovalRequest, ap.ApprovalState] | None:
    """The request for this change (the newest unconsumed one whose change ``change`` contains; without
    ``change``, the newest) and where it stands, or None if nobody asked yet."""
    with store.connect() as conn:
        rows = repo.requests_for_subject(conn, Gate(gate).value, subject_type, subject_id)
        row = pick_request(rows, change)
        if row is None:
            return None
        request = _request(dict(row))
        return request, ap.state(request, _decisions(conn, request.id), _now(clock))


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
        result = evaluate(load_policies(store, gate=facts.gate, project=facts.project), facts)
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
    digest = policy_digest(load_policies(store, gate=facts.gate, project=facts.project))
    now = _now(clock)
    with store.begin() as conn:
        rows = repo.requests_for_subject(conn, facts.gate, facts.subject_type, facts.subject_id)
        latest = pick_request(rows, facts.change)
        if latest is not None:
            current = ap.state(_request(dict(latest)), _decisions(conn, latest["id"]), now)
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
    now = _now(clock)
    with store.begin() as conn:
        row = repo.get_request(conn, request_id, for_update=True)
        if row is None:
            raise NotFoundError(f"no approval request {request_id!r}", hint="see triops approval list")
        request = _request(row)
        decisions = _decisions(conn, request_id)
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


# --------------------------------------------------------------------------------------------- gates


def _consume(store: Store, request_id: str, facts: GateFacts, actor: str, clock: Clock | None) -> None:
    now = _now(clock)
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


def check_gate(
    store: Store, facts: GateFacts, actor: str, *, record: bool = True, clock: Clock | None = None
) -> GateResult:
    """Evaluate the gate for ``facts`` with the approvals of the request bound to this change; record it
    (audited)."""
    return _check(store, facts, actor, record=record, clock=clock)[0]


def _check(
    store: Store, facts: GateFacts, actor: str, *, record: bool = True, clock: Clock | None = None
) -> tuple[GateResult, str | None]:
    """The gate result and the id of the approved request it relied on (None: no approval used)."""
    policies = load_policies(store, gate=facts.gate, project=facts.project)
    status = approval_status(store, facts.gate, facts.subject_type, facts.subject_id, clock, facts.change)
    stale = False
    if status is not None:
        with store.connect() as conn:
            stored = repo.get_request(conn, status[0].id)
        wanted = (stored or {}).get("policy_digest")
        stale = wanted is not None and wanted != policy_digest(policies)
    by_role: dict[str, int] = {}
    used: str | None = None
    if status is not None and not stale and status[1].status in (ap.Status.APPROVED, ap.Status.PENDING):
        by_role = status[1].approvals_by_role
        facts = dataclasses.replace(facts, approvals=status[1].approvals)
        used = status[0].id if status[1].status is ap.Status.APPROVED else None
    result = evaluate(policies, facts, by_role)
    if stale and result.approvals_needed and status is not None:
        note = f"the gate's policies changed since request {status[0].id} was approved; ask again"
        result = dataclasses.replace(result, approvals_missing=(*result.approvals_missing, note))
    if status is not None and status[1].status in (
        ap.Status.REJECTED,
        ap.Status.EXPIRED,
        ap.Status.CANCELLED,
    ):
        note = f"the latest approval request {status[0].id} is {status[1].status.value}; ask again"
        if result.approvals_needed:
            result = dataclasses.replace(result, approvals_missing=(*result.approvals_missing, note))
    if record:
        now = _now(clock)
        with store.begin() as conn:
            evaluation_id = new_id(now)
            repo.insert_gate_evaluation(
                conn,
                {
                    "id": evaluation_id,
                    "gate": result.gate,
                    "subject_type": facts.subject_type,
                    "subject_id": facts.subject_id,
                    "project": facts.project,
                    "passed": result.passed,
                    # canonical JSON turns NaN/inf facts into null: PostgreSQL's JSON has no NaN
                    "result": orjson.loads(canonical_json(result.to_dict())),
                    "actor": actor,
                    "at_ms": now,
                },
            )
            audit_store.append_event(
                conn,
                actor=actor,
                action="gate.evaluate",
                object_type=facts.subject_type or "subject",
                object_id=facts.subject_id or evaluation_id,
                before=None,
                after={
                    "gate": result.gate,
                    "passed": result.passed,
                    "evaluation": evaluation_id,
                    "reasons": result.reasons,
                },
                project=facts.project,
                at_ms=now,
            )
    return result, (used if result.passed and result.approvals_needed else None)


def enforce_gate(store: Store, facts: GateFacts, actor: str, clock: Clock | None = None) -> GateResult:
    """``check_gate`` that raises ``GateBlockedError`` naming every unmet rule and missing approval. A
    passing gate consumes the approval it relied on: the next change needs a new one."""
    result, used = _check(store, facts, actor, clock=clock)
    if result.passed and used is not None:
        _consume(store, used, facts, actor, clock)
    if not result.passed:
        raise GateBlockedError(
            f"gate {result.gate} blocked {facts.subject_type} {facts.subject_id!r}: "
            + "; ".join(result.reasons),
            hint="fix the failing rules, or get the approvals: triops approval request / approve",
            detail=result.to_dict(),
        )
    return result
