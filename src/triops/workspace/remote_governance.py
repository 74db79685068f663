"""``ws.governance`` on a remote workspace: the same calls as ``GovernanceService`` over HTTP, acting as the
token's user. The audit key stays with the server: ``verify_audit`` and ``seal_audit`` use it there."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from triops.errors import ConfigError
from triops.workspace.governance import IssuedToken, role_permission_rows
from triops.workspace.remote_http import HttpTransport
from triops.workspace.remote_wire import (
    approval_request,
    approval_state,
    binding,
    framework_report,
    gate_result,
    use_case,
    verify_report,
)

if TYPE_CHECKING:
    from triops.governance.approvals import ApprovalRequest, ApprovalState
    from triops.governance.audit import VerifyReport
    from triops.governance.frameworks import FrameworkReport
    from triops.governance.inventory import UseCase
    from triops.governance.policies import GateResult, Policy
    from triops.governance.roles import Binding
    from triops.governance.witness import WitnessEntry


class RemoteGovernance:
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    # -- policies and gates --------------------------------------------------------------------------------
    def add_policies(self, text: str, *, source: str = "<api>", project: str | None = None) -> list[Policy]:
        from triops.governance.policies import parse_policies

        self.http.json(
            "POST", "/governance/policies", json={"text": text, "source": source, "project": project}
        )
        return parse_policies(text, source)

    def policies(self, *, gate: str | None = None, project: str | None = None) -> list[dict[str, Any]]:
        return list(self.http.items("/governance/policies", gate=gate, project=project))

    def remove_policy(self, name: str, *, project: str | None = None) -> None:
        params = {"project": project} if project else {}
        self.http.call("DELETE", f"/governance/policies/{name}", params=params)

    def check_gate(self, facts: Mapping[str, Any], *, policy_text: str | None = None) -> GateResult:
        body = {"facts": dict(facts), "policy": policy_text}
        result: GateResult = gate_result(self.http.json("POST", "/governance/gates/check", json=body))
        return result

    # -- approvals -----------------------------------------------------------------------------------------
    def gate_evaluations(
        self, *, project: str | None = None, gate: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        from triops.errors import InvalidInputError

        if not 0 < limit <= 10_000:
            raise InvalidInputError(f"limit: {limit} is not between 1 and 10000")
        found: list[dict[str, Any]] = []
        for row in self.http.items("/governance/gates/evaluations", project=project, gate=gate):
            found.append(row)
            if len(found) == limit:
                break
        return found

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
        body = {
            "gate": gate,
            "subject_id": subject_id,
            "justification": justification,
            "subject_type": subject_type,
            "change": dict(change or {}),
            "author": author,
            "project": project,
        }
        created: ApprovalRequest = approval_request(
            self.http.json("POST", "/governance/approvals", json=body)
        )
        return created

    def decide(self, request_id: str, verdict: str, justification: str) -> ApprovalState:
        action = {"approve": "approve", "reject": "reject"}.get(str(verdict))
        if action is None:
            raise ConfigError(f"unknown verdict {verdict!r}", hint="approve or reject")
        path = f"/governance/approvals/{request_id}/{action}"
        state: ApprovalState = approval_state(
            self.http.json("POST", path, json={"justification": justification})
        )
        return state

    def approve(self, request_id: str, justification: str) -> ApprovalState:
        return self.decide(request_id, "approve", justification)

    def reject(self, request_id: str, justification: str) -> ApprovalState:
        return self.decide(request_id, "reject", justification)

    def approval_requests(
        self, *, status: str | None = None, project: str | None = None
    ) -> list[dict[str, Any]]:
        return list(self.http.items("/governance/approvals", status=status, project=project))

    # -- roles, users, tokens ------------------------------------------------------------------------------
    def grant(self, user: str, role: str, project: str | None = None) -> Binding:
        body = {"user": user, "role": role, "project": project}
        found: Binding = binding(self.http.json("POST", "/governance/role-bindings", json=body))
        return found

    def revoke(self, user: str, role: str, project: str | None = None) -> Binding:
        params = {"user": user, "role": role} | ({"project": project} if project else {})
        found: Binding = binding(self.http.json("DELETE", "/governance/role-bindings", params=params))
        return found

    def bindings(self, *, user: str | None = None, project: str | None = None) -> list[Binding]:
        return [binding(b) for b in self.http.items("/governance/role-bindings", user=user, project=project)]

    def role_permissions(self) -> list[dict[str, Any]]:
        return role_permission_rows()

    def create_user(self, name: str, *, service: bool = False) -> dict[str, Any]:
        created: dict[str, Any] = self.http.json(
            "POST", "/governance/users", json={"name": name, "service": service}
        )
        return created

    def users(self) -> list[dict[str, Any]]:
        return list(self.http.items("/governance/users"))

    def create_token(self, user: str, *, name: str = "cli", expires_days: int | None = None) -> IssuedToken:
        body = {"user": user, "name": name, "expires_days": expires_days}
        answer = self.http.json("POST", "/governance/tokens", json=body)
        return IssuedToken(str(answer["id"]), str(answer["user"]), str(answer["token"]))

    def tokens(self) -> list[dict[str, Any]]:
        return list(self.http.items("/governance/tokens"))

    def disable_user(self, name: str, *, disabled: bool = True) -> None:
        self.http.json("PUT", f"/governance/users/{name}/disabled", json={"disabled": disabled})

    def revoke_token(self, token_id: str) -> None:
        self.http.call("DELETE", f"/governance/tokens/{token_id}")

    # -- audit ---------------------------------------------------------------------------------------------
    def verify_audit(
        self, *, key_path: Path | None = None, witness: Sequence[WitnessEntry] | None = None
    ) -> VerifyReport:
        if key_path is not None:
            raise ConfigError(
                "a remote workspace verifies with the server's audit key",
                hint="to check with a key of your own, export the log and verify the file",
            )
        if witness:
            body = {"witness": [dataclasses.asdict(e) for e in witness]}
            report: VerifyReport = verify_report(
                self.http.json("POST", "/governance/audit/verify", json=body)
            )
            return report
        report = verify_report(self.http.get("/governance/audit/verify"))
        return report

    def witness(self) -> WitnessEntry | None:
        """The server's signed audit head, to keep outside it."""
        from triops.governance.witness import WitnessEntry

        data = self.http.get("/governance/audit/witness")
        head = data.get("head")
        return None if head is None else WitnessEntry(**head)

    def seal_audit(self, *, every: int = 1000) -> tuple[list[int], str]:
        answer = self.http.json("POST", "/governance/audit/seal", json={"every": every})
        return [int(s) for s in answer["signed"]], str(answer["key_id"])

    def export_audit(self, out: IO[bytes]) -> int:
        count = 0
        with self.http.client.stream("GET", "/governance/audit/export") as response:
            if response.status_code >= 400:
                response.read()
                raise self.http.error(response)
            for chunk in response.iter_bytes(1 << 20):
                out.write(chunk)
                count += chunk.count(b"\n")
        return count

    def audit_events(
        self, *, limit: int = 20, object_id: str | None = None, project: str | None = None
    ) -> list[dict[str, Any]]:
        params = {"latest": limit, "limit": min(limit, 1000), "object_id": object_id, "project": project}
        return list(self.http.items("/governance/audit/events", **params))

    # -- inventory and compliance --------------------------------------------------------------------------
    def add_use_case(self, data: Mapping[str, Any], *, replace: bool = False) -> UseCase:
        body = {"use_case": dict(data), "replace": replace}
        created: UseCase = use_case(self.http.json("POST", "/governance/inventory", json=body))
        return created

    def use_cases(self, *, project: str | None = None) -> list[UseCase]:
        return [use_case(u) for u in self.http.items("/governance/inventory", project=project)]

    def export_inventory(self, fmt: str = "csv", *, project: str | None = None) -> str:
        params = {"format": fmt} | ({"project": project} if project else {})
        return self.http.call("GET", "/governance/inventory/export", params=params).text

    def compliance_report(self, framework: str) -> FrameworkReport:
        report: FrameworkReport = framework_report(self.http.get(f"/governance/compliance/{framework}"))
        return report

    def record_statement(
        self, framework: str, item: str, text: str, *, reference: str | None = None
    ) -> dict[str, Any]:
        body = {"item": item, "text": text, "reference": reference}
        row: dict[str, Any] = self.http.json(
            "POST", f"/governance/compliance/{framework}/statements", json=body
        )
        return row

    def statements(self, framework: str, *, item: str | None = None) -> list[dict[str, Any]]:
        return list(self.http.items(f"/governance/compliance/{framework}/statements", item=item))


__all__ = ["RemoteGovernance"]
