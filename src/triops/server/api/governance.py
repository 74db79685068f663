"""Governance API, part one: policies, gate checks and recorded gate decisions, approval requests (request, approve, reject with a
justification), roles, users and tokens. Thin over ``ws.governance``; the audit log, the inventory and
compliance reports are in ``api/audit.py``."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from triops.governance.policies import Gate
from triops.governance.rbac import Permission
from triops.server.authz import ActingDep, readable, require_in
from triops.server.http import PROBLEMS
from triops.server.pagination import CursorQuery, LimitQuery, Listing, PageOut, paginate
from triops.server.schemas import MAX_NAME, Justification, Name, ProjectName

router = APIRouter(prefix="/governance", tags=["governance"], responses=PROBLEMS)
GateName = Gate
SubjectType = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$")]
MAX_GATE_EVALUATIONS = 10_000  # the newest this many; the service's own bound
RoleName = Literal["viewer", "contributor", "approver", "finops", "admin"]


class PolicyDocument(BaseModel):
    text: Annotated[str, Field(min_length=1, max_length=200_000)]
    source: Name = "<api>"
    project: ProjectName | None = None


class GateCheck(BaseModel):
    facts: dict[str, Any]
    policy: Annotated[str, Field(max_length=200_000)] | None = Field(
        default=None, description="evaluate against this policy YAML (a dry run) instead of the stored ones"
    )


class ApprovalRequestIn(BaseModel):
    gate: GateName
    subject_id: Name
    justification: Justification
    subject_type: SubjectType = "model_version"
    change: dict[Name, Annotated[str, Field(max_length=MAX_NAME)]] = Field(
        default_factory=dict, max_length=50
    )
    author: Name | None = None
    project: ProjectName | None = None


class DecisionIn(BaseModel):
    justification: Justification


class BindingIn(BaseModel):
    user: Name
    role: RoleName
    project: ProjectName | None = None


class UserIn(BaseModel):
    name: Name
    service: bool = False


class TokenIn(BaseModel):
    user: Name
    name: Name = "api"
    expires_days: Annotated[int, Field(ge=1, le=3650)] | None = None


def _jsonable(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str))


def _json_object(value: Any) -> dict[str, Any]:
    out: dict[str, Any] = _jsonable(value)
    return out


def request_out(request: Any) -> dict[str, Any]:
    data = dataclasses.asdict(request)
    data["requirements"] = [r.to_dict() for r in request.requirements]
    return _json_object(data)


def state_out(state: Any) -> dict[str, Any]:
    data = dataclasses.asdict(state)
    data["status"] = state.status.value
    return _json_object(data)


# -- policies and gates ------------------------------------------------------------------------------------


@router.get("/policies", response_model=PageOut)
def list_policies(
    ws: ActingDep,
    gate: GateName | None = None,
    project: ProjectName | None = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    if project is not None:
        readable(ws, project, f"project {project!r}")
    rows = ws.governance.policies(gate=gate.value if gate else None, project=project)
    listing = Listing.of("policies", gate=gate, project=project)
    return paginate(rows, lambda r: (r["gate"], r["name"]), listing, cursor, limit).out(lambda r: r)


@router.post("/policies", status_code=201)
def add_policies(ws: ActingDep, body: PolicyDocument) -> dict[str, Any]:
    """Store every policy of a YAML document as active (replacing same-named ones). Audited."""
    from triops.workspace.governance import policy_summary

    added = ws.governance.add_policies(body.text, source=body.source, project=body.project)
    return {"items": [policy_summary(p) for p in added]}


@router.delete("/policies/{name}", status_code=204, response_model=None, response_class=Response)
def remove_policy(ws: ActingDep, name: Name, project: ProjectName | None = None) -> None:
    ws.governance.remove_policy(name, project=project)


@router.post("/gates/check")
def check_gate(ws: ActingDep, body: GateCheck) -> dict[str, Any]:
    """Evaluate facts at a gate: against the stored policies (recorded, audited) or a policy given here."""
    project = body.facts.get("project")
    if project is not None:
        readable(ws, str(project), f"project {project!r}")
    require_in(ws, Permission.PROJECT_READ, None if project is None else str(project))
    result = ws.governance.check_gate(body.facts, policy_text=body.policy)
    return _json_object(result.to_dict())


@router.get("/gates/evaluations", response_model=PageOut)
def list_gate_evaluations(
    ws: ActingDep,
    project: ProjectName | None = None,
    gate: GateName | None = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    """Recorded gate decisions, newest first (in projects you can read): the gate, its subject, pass or
    fail, each rule with its reason, the approvals still missing and the facts the gate saw."""
    rows = ws.governance.gate_evaluations(
        project=project, gate=gate.value if gate else None, limit=MAX_GATE_EVALUATIONS
    )
    listing = Listing.of("gate-evaluations", project=project, gate=gate)
    page = paginate(rows, lambda r: (int(r["at_ms"]), str(r["id"])), listing, cursor, limit, descending=True)
    return page.out(_jsonable)


# -- approvals ---------------------------------------------------------------------------------------------


@router.get("/approvals", response_model=PageOut)
def list_approvals(
    ws: ActingDep,
    status: Literal["pending", "approved", "rejected", "expired", "cancelled"] | None = None,
    project: ProjectName | None = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    """Approval requests, newest first (those in projects you can read)."""
    rows = [
        r for r in ws.governance.approval_requests(status=status, project=project)
        if ws.principal.can(Permission.PROJECT_READ, r.get("project"))
    ]  # fmt: skip
    listing = Listing.of("approvals", status=status, project=project)
    page = paginate(
        rows, lambda r: (int(r["created_ms"]), str(r["id"])), listing, cursor, limit, descending=True
    )
    return page.out(_jsonable)


@router.post("/approvals", status_code=201)
def request_approval(ws: ActingDep, body: ApprovalRequestIn) -> dict[str, Any]:
    """Ask for a gated change; the gate's policies say how many approvals from which role. Audited."""
    if body.project is not None:
        readable(ws, body.project, f"project {body.project!r}")
    created = ws.governance.request_approval(
        gate=body.gate.value,
        subject_id=body.subject_id,
        justification=body.justification,
        subject_type=body.subject_type,
        change=body.change,
        author=body.author,
        project=body.project,
    )
    return request_out(created)


@router.post("/approvals/{request_id}/approve")
def approve(ws: ActingDep, request_id: Name, body: DecisionIn) -> dict[str, Any]:
    """Approve a request you did not make or author (separation of duties). Audited."""
    return state_out(ws.governance.approve(request_id, body.justification))


@router.post("/approvals/{request_id}/reject")
def reject(ws: ActingDep, request_id: Name, body: DecisionIn) -> dict[str, Any]:
    return state_out(ws.governance.reject(request_id, body.justification))


# -- roles, users, tokens ------------------------------------------------------------------------------------


@router.get("/roles")
def roles(ws: ActingDep) -> dict[str, Any]:
    """Each role with what it is for and its permissions."""
    return {"items": ws.governance.role_permissions()}


@router.get("/role-bindings", response_model=PageOut)
def list_bindings(
    ws: ActingDep,
    user: Name | None = None,
    project: ProjectName | None = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    require_in(ws, Permission.PROJECT_READ, project)
    rows = [b.to_dict() for b in ws.governance.bindings(user=user, project=project)]
    listing = Listing.of("role-bindings", user=user, project=project)
    return paginate(rows, lambda r: (str(r["id"]),), listing, cursor, limit).out(lambda r: r)


@router.post("/role-bindings", status_code=201)
def grant(ws: ActingDep, body: BindingIn) -> dict[str, Any]:
    """Give a user a role in a project (or everywhere). Audited."""
    data: dict[str, Any] = ws.governance.grant(body.user, body.role, body.project).to_dict()
    return data


@router.delete("/role-bindings")
def revoke(
    ws: ActingDep,
    user: Annotated[Name, Query()],
    role: Annotated[RoleName, Query()],
    project: ProjectName | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = ws.governance.revoke(user, role, project).to_dict()
    return data


@router.get("/users", response_model=PageOut)
def list_users(ws: ActingDep, limit: LimitQuery = 100, cursor: CursorQuery = None) -> dict[str, Any]:
    rows = [_jsonable(r) for r in ws.governance.users()]
    return paginate(rows, lambda r: (str(r["name"]),), Listing.of("users"), cursor, limit).out(lambda r: r)


@router.post("/users", status_code=201)
def create_user(ws: ActingDep, body: UserIn) -> dict[str, Any]:
    return ws.governance.create_user(body.name, service=body.service)


class DisabledIn(BaseModel):
    disabled: bool = True


@router.put("/users/{name}/disabled")
def disable_user(ws: ActingDep, name: Name, body: DisabledIn) -> dict[str, Any]:
    """Disable a user (their tokens stop working at once) or enable them again. Audited."""
    ws.governance.disable_user(name, disabled=body.disabled)
    return {"name": name, "disabled": body.disabled}


@router.get("/tokens", response_model=PageOut)
def list_tokens(ws: ActingDep, limit: LimitQuery = 100, cursor: CursorQuery = None) -> dict[str, Any]:
    """Tokens (never their values)."""
    rows = [_jsonable(r) for r in ws.governance.tokens()]
    return paginate(rows, lambda r: (str(r["id"]),), Listing.of("tokens"), cursor, limit).out(lambda r: r)


@router.post("/tokens", status_code=201)
def create_token(ws: ActingDep, body: TokenIn) -> dict[str, Any]:
    """Create a token; its value is in this answer only (the store keeps its hash)."""
    issued = ws.governance.create_token(body.user, name=body.name, expires_days=body.expires_days)
    return dataclasses.asdict(issued)


@router.delete("/tokens/{token_id}", status_code=204, response_model=None, response_class=Response)
def revoke_token(ws: ActingDep, token_id: Name) -> None:
    ws.governance.revoke_token(token_id)
