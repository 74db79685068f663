"""Policy gates: evaluate the policies bound to a gate over a change's facts, with the approvals of the
request bound to that change; record every check (a gate evaluation row and an audit event).

A guarded change (a stage change, a guarded alias set or removed, a deployment, a budget override, a
dataset publish) calls ``enforce_gate(store, facts, actor)``: it evaluates the policies of the gate that
apply to the subject's project (``policy_store.gate_policies``), counts the valid approvals of the request
bound to this change, records the result and raises ``GateBlockedError`` (with the whole result as its
detail) unless every rule passes and the approvals are in. Policies are stored by ``policy_store`` and
approvals by ``gate_approvals``; both are re-exported here, the one module callers import.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.engine import Connection

from triops.domain.audit_chain import canonical_json
from triops.domain.clock import Clock
from triops.domain.ids import new_id
from triops.errors import GateBlockedError
from triops.governance import approvals as ap
from triops.governance.binding import policy_digest
from triops.governance.facts import GateFacts
from triops.governance.gate_approvals import approval_status, consume, decide, request_approval
from triops.governance.policies import GateResult, evaluate
from triops.governance.policy_store import (
    BUILTIN_POLICIES,
    add_policies,
    gate_policies,
    install_builtin_policies,
    load_policies,
    now_ms,
    remove_policy,
)
from triops.store import audit as audit_store
from triops.store.engine import Store
from triops.store.repositories import governance as repo


def check_gate(
    store: Store, facts: GateFacts, actor: str, *, record: bool = True, clock: Clock | None = None
) -> GateResult:
    """Evaluate the gate for ``facts`` with the approvals of the request bound to this change; record it
    (audited)."""
    return _check(store, facts, actor, record=record, clock=clock)[0]


@dataclass(frozen=True, slots=True)
class GateRecord:
    """One gate evaluation to record: its ``gate_evaluations`` row and its ``gate.evaluate`` audit event (the
    keyword arguments of ``audit.append_event``)."""

    row: dict[str, Any]
    event: dict[str, Any]

    def write(self, conn: Connection) -> None:
        """The row only: the caller appends ``event`` (with the events of the change it belongs to)."""
        repo.insert_gate_evaluation(conn, self.row)

    def commit(self, store: Store) -> None:
        """Row and event in a transaction of their own."""
        with store.begin() as conn:
            self.write(conn)
            audit_store.append_event(conn, **self.event)


def gate_record(facts: GateFacts, result: GateResult, actor: str, now: int) -> GateRecord:
    evaluation_id = new_id(now)
    row = {
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
    }
    event = {
        "actor": actor,
        "action": "gate.evaluate",
        "object_type": facts.subject_type or "subject",
        "object_id": facts.subject_id or evaluation_id,
        "before": None,
        "after": {
            "gate": result.gate,
            "passed": result.passed,
            "evaluation": evaluation_id,
            "reasons": result.reasons,
        },
        "project": facts.project,
        "at_ms": now,
    }
    return GateRecord(row, event)


def _evaluate(store: Store, facts: GateFacts, clock: Clock | None) -> tuple[GateResult, str | None, bool]:
    """The gate result, the id of the approved request it relied on (None: no approval used) and whether any
    policy is bound to the gate in the subject's scope. The reads share one connection."""
    with store.connect() as conn:
        policies = gate_policies(store, facts.gate, facts.project, conn=conn)
        status = approval_status(
            store, facts.gate, facts.subject_type, facts.subject_id, clock, facts.change, conn=conn
        )
        stale = False
        if status is not None:
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
    return result, (used if result.passed and result.approvals_needed else None), bool(policies)


def _check(
    store: Store,
    facts: GateFacts,
    actor: str,
    *,
    record: bool = True,
    clock: Clock | None = None,
    record_unguarded: bool = True,
) -> tuple[GateResult, str | None]:
    """The gate result and the id of the approved request it relied on (None: no approval used)."""
    result, used, guarded = _evaluate(store, facts, clock)
    if record and (guarded or record_unguarded):
        gate_record(facts, result, actor, now_ms(clock)).commit(store)
    return result, used


def enforce_gate(
    store: Store,
    facts: GateFacts,
    actor: str,
    clock: Clock | None = None,
    *,
    consume_approval: bool = True,
    record_unguarded: bool = True,
) -> GateResult:
    """``check_gate`` that raises ``GateBlockedError`` naming every unmet rule and missing approval. A
    passing gate consumes the approval it relied on: the next change needs a new one. A deployment passes
    ``consume_approval=False``: serving the same version at the same endpoint again (a restart, another
    worker) is the same change, so its approval holds until it expires. ``record_unguarded=False`` records
    nothing when no policy is bound to the gate in the subject's scope (frequent changes: dataset versions,
    endpoints loading)."""
    result, used = _check(store, facts, actor, clock=clock, record_unguarded=record_unguarded)
    if result.passed and used is not None and consume_approval:
        consume(store, used, facts, actor, clock)
    if not result.passed:
        raise blocked_error(result, facts)
    return result


def enforce_gate_with_change(
    store: Store, facts: GateFacts, actor: str, clock: Clock | None = None
) -> GateRecord | None:
    """``enforce_gate`` for a change that records the evaluation in its own transaction: a gate that lets
    the change through returns its record, for the change to write with itself (the check and the change
    commit together, and the change's write is the only one). A blocked gate is recorded at once before it
    raises; so is a gate that relied on an approval, which it then consumes (as ``enforce_gate`` does):
    both return None."""
    result, used, _ = _evaluate(store, facts, clock)
    record = gate_record(facts, result, actor, now_ms(clock))
    if result.passed and used is None:
        return record
    record.commit(store)
    if not result.passed:
        raise blocked_error(result, facts)
    if used is not None:
        consume(store, used, facts, actor, clock)
    return None


def blocked_error(result: GateResult, facts: GateFacts) -> GateBlockedError:
    """The error a blocked gate raises: every unmet rule (``policy/rule: reason``) and missing approval."""
    return GateBlockedError(
        f"gate {result.gate} blocked {facts.subject_type} {facts.subject_id!r}: " + "; ".join(result.reasons),
        hint="fix the failing rules, or get the approvals: triops approval request / approve",
        detail=result.to_dict(),
    )


__all__ = [
    "BUILTIN_POLICIES",
    "GateRecord",
    "add_policies",
    "approval_status",
    "blocked_error",
    "check_gate",
    "decide",
    "enforce_gate",
    "enforce_gate_with_change",
    "gate_policies",
    "gate_record",
    "install_builtin_policies",
    "load_policies",
    "remove_policy",
    "request_approval",
]
