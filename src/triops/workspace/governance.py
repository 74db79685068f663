"""``ws.governance``: policies, gate checks, approvals, roles, users, tokens, the audit log, the inventory and
compliance reports, as one service acting as the workspace's principal.

The CLI and the server call these methods (never the store) so a local and a remote workspace offer the
same calls; ``triops.workspace.remote_governance`` is the same surface over HTTP. Each method is a thin
seam over ``triops.governance`` and the token repository.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from triops.domain.clock import Clock, utc_ms

if TYPE_CHECKING:
    from triops.governance.approvals import ApprovalRequest, ApprovalState
    from triops.governance.audit import AuditKey, VerifyReport
    from triops.governance.frameworks import FrameworkReport
    from triops.governance.inventory import UseCase
    from triops.governance.policies import GateResult, Policy
    from triops.governance.rbac import Principal
    from triops.governance.roles import Binding
    from triops.store.engine import Store

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token as issued: its value is shown once and only its hash is stored."""

    id: str
    user: str
    token: str


def policy_summary(policy: Policy) -> dict[str, Any]:
    return {
        "name": policy.name,
        "gate": policy.gate.value,
        "rules": [r.expr for r in policy.rules],
        "approvals": None
        if policy.approvals is None
        else {"role": policy.approvals.role.value, "count": policy.approvals.count},
        "description": policy.description,
    }


def role_permission_rows() -> list[dict[str, Any]]:
    from triops.governance.rbac import ROLE_DESCRIPTIONS, ROLE_PERMISSIONS

    return [
        {"role": r.value, "description": ROLE_DESCRIPTIONS[r], "permissions": sorted(p.value for p in perms)}
        for r, perms in ROLE_PERMISSIONS.items()
    ]


class GovernanceService:
    def __init__(
        self,
        store: Store,
        principal: Principal,
        clock: Clock,
        *,
        home: Path,
        audit_key_path: Path | None = None,
    ) -> None:
        self.store = store
        self.principal = principal
        self.clock = clock
        self.home = home
        self.audit_key_path = audit_key_path

    def _now(self) -> int:
        return utc_ms(self.clock.now())

    # -- policies and gates --------------------------------------------------------------------------------
    def add_policies(self, text: str, *, source: str = "<api>", project: str | None = None) -> list[Policy]:
        from triops.governance.gates import add_policies

        return add_policies(
            self.store, self.principal, text, source=source, project=project, clock=self.clock
        )

    def policies(self, *, gate: str | None = None, project: str | None = None) -> list[dict[str, Any]]:
        from triops.governance.gates import load_policies

        return [policy_summary(p) for p in load_policies(self.store, gate=gate, project=project)]

    def remove_policy(self, name: str, *, project: str | None = None) -> None:
        from triops.governance.gates import remove_policy

        remove_policy(self.store, self.principal, name, project=project, clock=self.clock)

    def check_gate(self, facts: Mapping[str, Any], *, policy_text: str | None = None) -> GateResult:
        """Evaluate ``facts`` against ``policy_text`` (a dry run) or the stored policies of the gate (recorded,
        with the approvals given so far)."""
        from triops.governance.facts import facts_from_dict
        from triops.governance.gates import check_gate
        from triops.governance.policies import evaluate, parse_policies

        parsed = facts_from_dict(dict(facts))
        if policy_text is not None:
            return evaluate(parse_policies(policy_text, "<policy>"), parsed, {})
        return check_gate(self.store, parsed, self.principal.name, clock=self.clock)

    # -- approvals -----------------------------------------------------------------------------------------
    def request_approval(
        self,
        *,
        gate: str,
        subject_id: str,
        justification: str,
        subject_type: str = "model_version",
        change: Mapping[str, str] | None = None,
        author: str | None = None,
        project: str | None = None,
    ) -> ApprovalRequest:
        from triops.governance.facts import GateFacts
        from triops.governance.gates import request_approval

        facts = GateFacts(
            gate=gate,
            subject_type=subject_type,
            subject_id=subject_id,
            project=project,
            change=dict(change or {}),
        )
        return request_approval(
            self.store, self.principal, facts, justification=justification, author=author, clock=self.clock
        )

    def decide(self, request_id: str, verdict: str, justification: str) -> ApprovalState:
        from triops.governance.gates import decide

        return decide(self.store, self.principal, request_id, verdict, justification, clock=self.clock)

    def approve(self, request_id: str, justification: str) -> ApprovalState:
        return self.decide(request_id, "approve", justification)

    def reject(self, request_id: str, justification: str) -> ApprovalState:
        return self.decide(request_id, "reject", justification)

    def approval_requests(
        self, *, status: str | None = None, project: str | None = None
    ) -> list[dict[str, Any]]:
        from triops.store.repositories import governance as repo

        with self.store.connect() as conn:
            return repo.list_requests(
                conn, status=status, project=project, limit=100_000, readable=self._readable()
            )

    # -- roles, users, tokens ------------------------------------------------------------------------------
    def grant(self, user: str, role: str, project: str | None = None) -> Binding:
        from triops.governance.roles import grant

        return grant(self.store, self.principal, user, role, project, clock=self.clock)

    def revoke(self, user: str, role: str, project: str | None = None) -> Binding:
        from triops.governance.roles import revoke

        return revoke(self.store, self.principal, user, role, project, clock=self.clock)

    def bindings(self, *, user: str | None = None, project: str | None = None) -> list[Binding]:
        from triops.governance.roles import list_bindings

        return list_bindings(self.store, principal=user, project=project)

    def role_permissions(self) -> list[dict[str, Any]]:
        return role_permission_rows()

    def create_user(self, name: str, *, service: bool = False) -> dict[str, Any]:
        from triops.store.repositories.tokens import ensure_user

        kind = "service" if service else "user"
        now = self._now()
        self.store.write(lambda conn: ensure_user(conn, name, now, kind))
        return {"name": name, "kind": kind}

    def users(self) -> list[dict[str, Any]]:
        from triops.store.repositories.tokens import list_users

        with self.store.connect() as conn:
            return [dict(r) for r in list_users(conn)]

    def create_token(self, user: str, *, name: str = "cli", expires_days: int | None = None) -> IssuedToken:
        from triops.store.repositories.tokens import create_token

        now = self._now()
        expires = now + expires_days * DAY_MS if expires_days else None
        actor = self.principal.name
        token_id, token = self.store.write(lambda conn: create_token(conn, user, name, now, expires, actor))
        return IssuedToken(str(token_id), user, token)

    def tokens(self) -> list[dict[str, Any]]:
        from triops.store.repositories.tokens import list_tokens

        with self.store.connect() as conn:
            return [dict(r) for r in list_tokens(conn)]

    def revoke_token(self, token_id: str) -> None:
        from triops.store.repositories.tokens import revoke_token

        now, actor = self._now(), self.principal.name
        self.store.write(lambda conn: revoke_token(conn, token_id, now, actor))

    # -- audit ---------------------------------------------------------------------------------------------
    def audit_key(self, *, create: bool = False, path: Path | None = None) -> AuditKey | None:
        """The key that signs checkpoints (outside the store); the public half is enough to verify."""
        from triops.governance.audit import AuditKey, default_key_path

        if path is not None:
            return AuditKey.load(path)
        key_path = default_key_path(self.home, self.audit_key_path)
        if create:
            return AuditKey.load_or_create(key_path)
        if key_path.exists():
            return AuditKey.load(key_path)
        public = key_path.with_name(key_path.name + ".pub")
        return AuditKey.load(public) if public.exists() else None

    def verify_audit(self, *, key_path: Path | None = None) -> VerifyReport:
        from triops.governance.audit import verify

        return verify(self.store, self.audit_key(path=key_path))

    def seal_audit(self, *, every: int = 1000) -> tuple[list[int], str]:
        """Sign the checkpoints that are due; returns their sequence numbers and the key id."""
        from triops.governance.audit import seal

        key = self.audit_key(create=True)
        assert key is not None
        return seal(self.store, key, every=every, clock=self.clock), key.key_id

    def export_audit(self, out: IO[bytes]) -> int:
        from triops.governance.audit import export_jsonl

        return export_jsonl(self.store, out)

    def audit_events(
        self, *, limit: int = 20, object_id: str | None = None, project: str | None = None
    ) -> list[dict[str, Any]]:
        from triops.store import audit as audit_store

        with self.store.connect() as conn:
            events = audit_store.list_events(conn, object_id=object_id, project=project, limit=limit)
        return [e.to_dict() for e in events]

    # -- inventory and compliance --------------------------------------------------------------------------
    def add_use_case(self, data: Mapping[str, Any], *, replace: bool = False) -> UseCase:
        from triops.governance.compliance import add_use_case

        return add_use_case(self.store, self.principal, data, replace=replace, clock=self.clock)

    def use_cases(self, *, project: str | None = None) -> list[UseCase]:
        from triops.governance.compliance import list_use_cases

        return list_use_cases(self.store, project=project, readable=self._readable())

    def _readable(self) -> frozenset[str] | None:
        """The projects the acting principal may read (``None``: every one); listings query by it."""
        from triops.governance.rbac import Permission

        return self.principal.projects_with(Permission.PROJECT_READ)

    def export_inventory(self, fmt: str = "csv", *, project: str | None = None) -> str:
        from triops.governance.compliance import export_inventory

        return export_inventory(self.store, fmt, project=project)

    def compliance_report(self, framework: str) -> FrameworkReport:
        from triops.governance.compliance import compliance_report

        return compliance_report(self.store, framework)


__all__ = ["GovernanceService", "IssuedToken", "policy_summary", "role_permission_rows"]
