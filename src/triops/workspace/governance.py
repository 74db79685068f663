"""``ws.governance``: policies, gate checks, approvals, roles, users, tokens, the audit log, and (from
``governance_compliance.ComplianceMixin``) the inventory, compliance reports and statements, as one service
acting as the workspace's principal.

The CLI and the server call these methods (never the store) so a local and a remote workspace offer the
same calls; ``triops.workspace.remote_governance`` is the same surface over HTTP. Each method is a thin
seam over ``triops.governance`` and the token repository.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from triops.domain.clock import Clock, utc_ms
from triops.workspace.governance_compliance import ComplianceMixin

if TYPE_CHECKING:
    from triops.governance.approvals import ApprovalRequest, ApprovalState
    from triops.governance.audit import AuditKey, VerifyReport
    from triops.governance.policies import GateResult, Policy
    from triops.governance.rbac import Principal
    from triops.governance.roles import Binding
    from triops.governance.witness import WitnessEntry
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


class GovernanceService(ComplianceMixin):
    def __init__(
        self,
        store: Store,
        principal: Principal,
        clock: Clock,
        *,
        home: Path,
        audit_key_path: Path | None = None,
        witness_dir: Path | None = None,
        checkpoint_every: int = 1000,
        single_user: bool = False,
    ) -> None:
        self.single_user = single_user
        self.store = store
        self.principal = principal
        self.clock = clock
        self.home = home
        self.audit_key_path = audit_key_path
        self.witness_dir = witness_dir
        self.checkpoint_every = checkpoint_every

    def _now(self) -> int:
        return utc_ms(self.clock.now())

    def _can_read(self, project: str | None) -> bool:
        return self.principal.can("project.read", None if project in (None, "*") else project)

    # -- policies and gates --------------------------------------------------------------------------------
    def add_policies(self, text: str, *, source: str = "<api>", project: str | None = None) -> list[Policy]:
        from triops.governance.gates import add_policies

        return add_policies(
            self.store, self.principal, text, source=source, project=project, clock=self.clock
        )

    def policies(self, *, gate: str | None = None, project: str | None = None) -> list[dict[str, Any]]:
        from triops.governance.gates import load_policies
        from triops.workspace.guarded import readable

        readable(self.principal, project, f"project {project!r}")
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
        from triops.workspace.guarded import readable

        parsed = facts_from_dict(dict(facts))
        readable(self.principal, parsed.project, f"project {parsed.project!r}")
        if policy_text is not None:
            return evaluate(parse_policies(policy_text, "<policy>"), parsed, {})
        return check_gate(self.store, parsed, self.principal.name, clock=self.clock)

    def gate_evaluations(
        self, *, project: str | None = None, gate: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Recorded gate decisions the caller may read, newest first (``workspace.gate_history``)."""
        from triops.workspace.gate_history import gate_evaluations

        return gate_evaluations(self.principal, self.store, project=project, gate=gate, limit=limit)

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

        if project is None and subject_type == "model_version":
            project = self._model_project(subject_id)  # the request lives where the model does
        facts = GateFacts(
            gate=gate,
            subject_type=subject_type,
            subject_id=subject_id,
            project=project,
            change=dict(change or {}),
        )
        if author is None:
            author = self._registrant(subject_type, subject_id)
        return request_approval(
            self.store, self.principal, facts, justification=justification, author=author, clock=self.clock
        )

    def _model_project(self, subject_id: str) -> str | None:
        from triops.mlops.registry.records import parse_ref
        from triops.workspace.projects import model_project

        try:
            return model_project(self.store, parse_ref(subject_id)[0])
        except Exception:  # a subject that is no model reference lives in no project
            return None

    def _registrant(self, subject_type: str, subject_id: str) -> str | None:
        """Who registered a model version (separation of duties keeps them from approving its changes)."""
        if subject_type != "model_version":
            return None
        from triops.mlops.registry.records import parse_ref
        from triops.store.repositories import registry as repo

        try:
            name, _, number = parse_ref(subject_id)
        except Exception:  # a subject that is no model reference has no registrant to exclude
            return None
        with self.store.connect() as conn:
            model = repo.model_row(conn, name)
            rows = [] if model is None else list(repo.version_rows(conn, str(model["id"])))
        matches = [r for r in rows if number is None or int(r["version"]) == number]
        return str(matches[-1]["created_by"]) if matches else None

    def decide(self, request_id: str, verdict: str, justification: str) -> ApprovalState:
        from triops.errors import PermissionDeniedError
        from triops.governance.gates import decide
        from triops.store.repositories import governance as repo

        with self.store.connect() as conn:
            row = repo.get_request(conn, request_id)
        try:
            if row is not None:
                registrant = self._registrant(str(row["subject_type"]), str(row["subject_id"]))
                if registrant is not None and registrant == self.principal.name:
                    raise PermissionDeniedError(
                        f"{self.principal.name!r} registered {row['subject_id']!r} and cannot decide on its "
                        "changes",
                        hint="separation of duties: someone else must approve",
                        detail={"permission": "approval.decide", "principal": self.principal.name},
                    )
            return decide(self.store, self.principal, request_id, verdict, justification, clock=self.clock)
        except PermissionDeniedError as exc:
            if self.single_user and "separation of duties" in f"{exc.message} {exc.hint}":
                raise PermissionDeniedError(
                    f"{exc.message}; this store is opened locally, where the only principal is the OS user "
                    f"{self.principal.name!r}",
                    hint="a local store is single-user: another person approves through the team server, as "
                    "their own token-authenticated user (triops --store http://HOST:8000 approval approve "
                    f"{request_id} -j …, with TRIOPS_TOKEN); see docs/security.md",
                    detail=exc.detail,
                ) from None
            raise

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

        rows = list_bindings(self.store, principal=user, project=project)
        return [b for b in rows if self._can_read(b.project)]

    def role_permissions(self) -> list[dict[str, Any]]:
        return role_permission_rows()

    def create_user(self, name: str, *, service: bool = False) -> dict[str, Any]:
        from triops.store.repositories.tokens import ensure_user

        self._need("user.write")
        kind = "service" if service else "user"
        now, actor = self._now(), self.principal.name
        self.store.write(lambda conn: ensure_user(conn, name, now, kind, actor=actor))
        return {"name": name, "kind": kind}

    def disable_user(self, name: str, *, disabled: bool = True) -> None:
        """Disable a user (their tokens stop working at once) or, with ``disabled=False``, enable them."""
        from triops.store.repositories.tokens import set_user_disabled

        self._need("user.write")
        now, actor = self._now(), self.principal.name
        self.store.write(lambda conn: set_user_disabled(conn, name, now, actor, disabled))

    def users(self) -> list[dict[str, Any]]:
        from triops.store.repositories.tokens import list_users

        self._need("audit.read")
        with self.store.connect() as conn:
            return [dict(r) for r in list_users(conn)]

    def create_token(self, user: str, *, name: str = "cli", expires_days: int | None = None) -> IssuedToken:
        from triops.store.repositories.tokens import create_token

        self._need("token.write")
        now = self._now()
        expires = now + expires_days * DAY_MS if expires_days else None
        actor = self.principal.name
        token_id, token = self.store.write(lambda conn: create_token(conn, user, name, now, expires, actor))
        return IssuedToken(str(token_id), user, token)

    def tokens(self) -> list[dict[str, Any]]:
        from triops.store.repositories.tokens import list_tokens

        self._need("audit.read")
        with self.store.connect() as conn:
            return [dict(r) for r in list_tokens(conn)]

    def revoke_token(self, token_id: str) -> None:
        from triops.store.repositories.tokens import revoke_token

        self._need("token.write")
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

    def witness_path(self) -> Path:
        """The append-only file of signed heads for this store (outside the store and ``TRIOPS_HOME``)."""
        from triops.governance.witness import witness_file

        return witness_file(self.witness_dir, self.store.url)

    def verify_audit(
        self, *, key_path: Path | None = None, witness: Sequence[WitnessEntry] | None = None
    ) -> VerifyReport:
        """Re-hash the chain, check the signed checkpoints, and check it against the witness file and any
        ``witness`` entries given (e.g. a head copied elsewhere): the first bad sequence number is reported."""
        from triops.governance.audit import verify
        from triops.governance.witness import check_witness, load_witness

        self._need("audit.read")
        key = self.audit_key(path=key_path)
        report = verify(self.store, key)
        entries = [*load_witness(self.witness_path()), *(witness or ())]
        check_witness(self.store, entries, key, report.chain)
        if key is None and entries:
            report.chain.add(entries[0].seq, "key", "the witness cannot be checked: no audit key found")
        return report

    def checkpoint(self) -> WitnessEntry | None:
        """Sign what is due (every N events, and the head) and append the head to the witness. Called by
        the workspace itself (``Workspace.checkpoint_audit``) at the end of every command, session and request;
        asked for explicitly, it needs ``audit.read``."""
        from triops.governance.witness import checkpoint_head

        self._need("audit.read")
        key = self.audit_key(create=True)
        assert key is not None
        return checkpoint_head(
            self.store, key, self.witness_path(), every=self.checkpoint_every, clock=self.clock
        )

    def witness(self) -> WitnessEntry | None:
        """The signed head (after signing what is due), to copy outside: ``triops audit witness --out F``."""
        from triops.governance.witness import signed_head

        self._need("audit.read")
        self.checkpoint()
        return signed_head(self.store)

    def seal_audit(self, *, every: int = 1000) -> tuple[list[int], str]:
        """Sign the checkpoints that are due; returns their sequence numbers and the key id."""
        from triops.governance.audit import seal

        self._need("project.admin")
        key = self.audit_key(create=True)
        assert key is not None
        return seal(self.store, key, every=every, clock=self.clock), key.key_id

    def export_audit(self, out: IO[bytes]) -> int:
        from triops.governance.audit import export_jsonl

        self._need("audit.read")
        return export_jsonl(self.store, out)

    def audit_events(
        self, *, limit: int = 20, object_id: str | None = None, project: str | None = None
    ) -> list[dict[str, Any]]:
        from triops.store import audit as audit_store

        self._need("audit.read", project)
        with self.store.connect() as conn:
            events = audit_store.list_events(conn, object_id=object_id, project=project, limit=limit)
        return [e.to_dict() for e in events]


__all__ = ["GovernanceService", "IssuedToken", "policy_summary", "role_permission_rows"]
