"""SQL for governance records: role bindings, policies, gate evaluations, approval requests and decisions,
the AI use-case inventory and compliance statements. SQLAlchemy Core with bound parameters only; callers pass the connection of
their transaction so the audit event of a change commits with it."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from triops.store.tables_governance import (
    approval_requests,
    approvals,
    audit_checkpoints,
    audit_events,
    compliance_statements,
    gate_evaluations,
    policies,
    role_bindings,
    use_cases,
)

# ------------------------------------------------------------------------------------- role bindings


def insert_binding(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(sa.insert(role_bindings).values(**row))


def find_binding(conn: Connection, principal: str, role: str, project: str) -> dict[str, Any] | None:
    row = (
        conn.execute(
            sa.select(role_bindings).where(
                role_bindings.c.principal == principal,
                role_bindings.c.role == role,
                role_bindings.c.project == project,
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def delete_binding(conn: Connection, binding_id: str) -> None:
    conn.execute(sa.delete(role_bindings).where(role_bindings.c.id == binding_id))


def list_bindings(
    conn: Connection, *, principal: str | None = None, project: str | None = None
) -> list[dict[str, Any]]:
    stmt = sa.select(role_bindings)
    if principal is not None:
        stmt = stmt.where(role_bindings.c.principal == principal)
    if project is not None:
        stmt = stmt.where(role_bindings.c.project == project)
    stmt = stmt.order_by(role_bindings.c.project, role_bindings.c.principal, role_bindings.c.role)
    return [dict(r) for r in conn.execute(stmt).mappings()]


# ------------------------------------------------------------------------------------------ policies


def insert_policy(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(sa.insert(policies).values(**row))


def active_policy(conn: Connection, name: str, project: str | None) -> dict[str, Any] | None:
    row = (
        conn.execute(
            sa.select(policies).where(
                policies.c.name == name,
                policies.c.active.is_(True),
                policies.c.project.is_(None) if project is None else policies.c.project == project,
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def deactivate_policy(conn: Connection, policy_id: str) -> None:
    conn.execute(sa.update(policies).where(policies.c.id == policy_id).values(active=False))


def list_policies(
    conn: Connection,
    *,
    gate: str | None = None,
    project: str | None = None,
    active_only: bool = True,
    scoped: bool = False,
) -> list[dict[str, Any]]:
    """Policies bound to ``gate``; with ``project``, those of the project plus the workspace-wide ones.
    ``scoped``: ``project`` None means the workspace-wide ones only (what a gate applies), not every scope."""
    stmt = sa.select(policies)
    if active_only:
        stmt = stmt.where(policies.c.active.is_(True))
    if gate is not None:
        stmt = stmt.where(policies.c.gate == gate)
    if project is not None:
        stmt = stmt.where(sa.or_(policies.c.project.is_(None), policies.c.project == project))
    elif scoped:
        stmt = stmt.where(policies.c.project.is_(None))
    return [dict(r) for r in conn.execute(stmt.order_by(policies.c.name, policies.c.created_ms)).mappings()]


# What a gate applies (built once: every guarded change reads it): the active policies of the gate that
# are workspace-wide, or of the subject's project when it has one.
_GATE_POLICIES = (
    sa.select(policies)
    .where(policies.c.active.is_(True), policies.c.gate == sa.bindparam("gate"), policies.c.project.is_(None))
    .order_by(policies.c.name, policies.c.created_ms)
)
_GATE_POLICIES_IN_PROJECT = (
    sa.select(policies)
    .where(
        policies.c.active.is_(True),
        policies.c.gate == sa.bindparam("gate"),
        sa.or_(policies.c.project.is_(None), policies.c.project == sa.bindparam("project")),
    )
    .order_by(policies.c.name, policies.c.created_ms)
)


def gate_policy_rows(conn: Connection, gate: str, project: str | None) -> list[dict[str, Any]]:
    """``list_policies(gate=gate, project=project, scoped=True)``: the policies a gate applies."""
    if project is None:
        found = conn.execute(_GATE_POLICIES, {"gate": gate})
    else:
        found = conn.execute(_GATE_POLICIES_IN_PROJECT, {"gate": gate, "project": project})
    return [dict(r) for r in found.mappings()]


# ---------------------------------------------------------------------------------- gate evaluations


_INSERT_GATE_EVALUATION = sa.insert(gate_evaluations)


def insert_gate_evaluation(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(_INSERT_GATE_EVALUATION, row)


def list_gate_evaluations(
    conn: Connection,
    *,
    subject_type: str | None = None,
    subject_id: str | None = None,
    limit: int = 100,
    projects: frozenset[str] | None = None,
    gate: str | None = None,
) -> list[dict[str, Any]]:
    """Newest first; only those of ``projects`` when given (a decision without a project is then left out)."""
    stmt = sa.select(gate_evaluations)
    if projects is not None:
        stmt = stmt.where(gate_evaluations.c.project.in_(sorted(projects)))
    if gate is not None:
        stmt = stmt.where(gate_evaluations.c.gate == gate)
    if subject_type is not None:
        stmt = stmt.where(gate_evaluations.c.subject_type == subject_type)
    if subject_id is not None:
        stmt = stmt.where(gate_evaluations.c.subject_id == subject_id)
    stmt = stmt.order_by(gate_evaluations.c.at_ms.desc(), gate_evaluations.c.id.desc()).limit(limit)
    return [dict(r) for r in conn.execute(stmt).mappings()]


# ------------------------------------------------------------------------------------------ approvals


def insert_request(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(sa.insert(approval_requests).values(**row))


def get_request(conn: Connection, request_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    stmt = sa.select(approval_requests).where(approval_requests.c.id == request_id)
    if for_update and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).mappings().first()
    return None if row is None else dict(row)


def latest_request(conn: Connection, gate: str, subject_type: str, subject_id: str) -> dict[str, Any] | None:
    row = (
        conn.execute(
            sa.select(approval_requests)
            .where(
                approval_requests.c.gate == gate,
                approval_requests.c.subject_type == subject_type,
                approval_requests.c.subject_id == subject_id,
            )
            .order_by(approval_requests.c.created_ms.desc(), approval_requests.c.id.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def list_requests(
    conn: Connection,
    *,
    status: str | None = None,
    project: str | None = None,
    limit: int = 100,
    readable: Collection[str] | None = None,
) -> list[dict[str, Any]]:
    """Approval requests newest first; ``readable`` (project names, ``None`` = all) is part of the query."""
    stmt = sa.select(approval_requests)
    if readable is not None:
        stmt = stmt.where(approval_requests.c.project.in_(sorted(readable)))
    if status is not None:
        stmt = stmt.where(approval_requests.c.status == status)
    if project is not None:
        stmt = stmt.where(approval_requests.c.project == project)
    stmt = stmt.order_by(approval_requests.c.created_ms.desc(), approval_requests.c.id.desc()).limit(limit)
    return [dict(r) for r in conn.execute(stmt).mappings()]


# built once: every guarded change looks for the approval request of its change
_REQUESTS_FOR_SUBJECT = (
    sa.select(approval_requests)
    .where(
        approval_requests.c.gate == sa.bindparam("gate"),
        approval_requests.c.subject_type == sa.bindparam("subject_type"),
        approval_requests.c.subject_id == sa.bindparam("subject_id"),
    )
    .order_by(approval_requests.c.created_ms.desc(), approval_requests.c.id.desc())
    .limit(sa.bindparam("limit"))
)


def requests_for_subject(
    conn: Connection, gate: str, subject_type: str, subject_id: str, limit: int = 200
) -> list[dict[str, Any]]:
    """The requests for one subject at one gate, newest first."""
    params = {"gate": gate, "subject_type": subject_type, "subject_id": subject_id, "limit": limit}
    return [dict(r) for r in conn.execute(_REQUESTS_FOR_SUBJECT, params).mappings()]


def consume_request(conn: Connection, request_id: str, now_ms: int) -> bool:
    """Mark an approved request as used by its change; False if something else used it first."""
    result = conn.execute(
        sa.update(approval_requests)
        .where(approval_requests.c.id == request_id, approval_requests.c.consumed_ms.is_(None))
        .values(consumed_ms=now_ms)
    )
    return bool(result.rowcount)


def set_request_status(conn: Connection, request_id: str, status: str, closed_ms: int | None) -> None:
    conn.execute(
        sa.update(approval_requests)
        .where(approval_requests.c.id == request_id)
        .values(status=status, closed_ms=closed_ms)
    )


def insert_decision(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(sa.insert(approvals).values(**row))


def list_decisions(conn: Connection, request_id: str) -> list[dict[str, Any]]:
    stmt = (
        sa.select(approvals)
        .where(approvals.c.request_id == request_id)
        .order_by(approvals.c.at_ms, approvals.c.id)
    )
    return [dict(r) for r in conn.execute(stmt).mappings()]


# ----------------------------------------------------------------------------------------- use cases


def insert_use_case(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(sa.insert(use_cases).values(**row))


def update_use_case(conn: Connection, use_case_id: str, values: dict[str, Any]) -> None:
    conn.execute(sa.update(use_cases).where(use_cases.c.id == use_case_id).values(**values))


def get_use_case(conn: Connection, name_or_id: str) -> dict[str, Any] | None:
    row = (
        conn.execute(
            sa.select(use_cases).where(sa.or_(use_cases.c.name == name_or_id, use_cases.c.id == name_or_id))
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def list_use_cases(
    conn: Connection, *, project: str | None = None, readable: Collection[str] | None = None
) -> list[dict[str, Any]]:
    """Use cases by name; ``readable`` (project names, ``None`` = all) is part of the query."""
    stmt = sa.select(use_cases)
    if readable is not None:
        stmt = stmt.where(use_cases.c.project.in_(sorted(readable)))
    if project is not None:
        stmt = stmt.where(use_cases.c.project == project)
    return [dict(r) for r in conn.execute(stmt.order_by(use_cases.c.name)).mappings()]


# ------------------------------------------------------------------------------------------- evidence


def governance_counts(conn: Connection) -> dict[str, int]:
    """Row counts the framework evidence map reads."""

    def count(table: sa.Table, *where: Any) -> int:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar() or 0)

    return {
        "policy": count(policies, policies.c.active.is_(True)),
        "gate_evaluation": count(gate_evaluations),
        "approval": count(approvals),
        "role_binding": count(role_bindings),
        "audit_log": count(audit_events),
        "audit_checkpoint": count(audit_checkpoints),
        "inventory": count(use_cases),
    }


def recent_ids(conn: Connection, kind: str, limit: int = 5) -> list[tuple[str, str]]:
    """(id, label) of the most recent records of a governance evidence kind."""
    if kind == "policy":
        stmt: Any = sa.select(policies.c.id, policies.c.name).where(policies.c.active.is_(True)).limit(limit)
    elif kind == "gate_evaluation":  # (subject, label): the audit log shows a subject's evaluations
        g = gate_evaluations
        rows = conn.execute(
            sa.select(g.c.subject_id, g.c.gate, g.c.passed)
            .group_by(g.c.subject_id, g.c.gate, g.c.passed)
            .order_by(sa.func.max(g.c.at_ms).desc())
            .limit(limit)
        )
        return [(str(s), f"{gate} on {s}: {'passed' if ok else 'blocked'}") for s, gate, ok in rows]
    elif kind == "approval":
        a = approvals
        rows = conn.execute(
            sa.select(a.c.request_id, a.c.approver, a.c.verdict).order_by(a.c.at_ms.desc()).limit(limit)
        )
        done = {"approve": "approved", "reject": "rejected"}
        return [(str(r), f"{who} {done.get(v, v)} request {r}") for r, who, v in rows]
    elif kind == "role_binding":
        stmt = sa.select(role_bindings.c.id, role_bindings.c.principal + ":" + role_bindings.c.role)
    elif kind == "audit_checkpoint":
        stmt = sa.select(sa.cast(audit_checkpoints.c.seq, sa.String), audit_checkpoints.c.key_id).order_by(
            audit_checkpoints.c.seq.desc()
        )
    elif kind == "inventory":
        stmt = sa.select(use_cases.c.id, use_cases.c.name).order_by(use_cases.c.name)
    else:
        return []
    return [(str(a), str(b)) for a, b in conn.execute(stmt.limit(limit))]


# ----------------------------------------------------------------------------- compliance statements


def insert_statement(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(sa.insert(compliance_statements).values(**row))


def list_statements(conn: Connection, framework: str, item: str | None = None) -> list[dict[str, Any]]:
    """Statements recorded for ``framework`` (one item's, when given), newest first."""
    t = compliance_statements
    stmt = sa.select(t).where(t.c.framework == framework)
    if item is not None:
        stmt = stmt.where(t.c.item == item)
    stmt = stmt.order_by(t.c.recorded_ms.desc(), t.c.id.desc())
    return [dict(r._mapping) for r in conn.execute(stmt)]
