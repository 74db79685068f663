"""``ws.governance``, part two: the AI use-case inventory, compliance reports fed by every pillar, and the
human statements recorded for framework items (a mixin of ``GovernanceService``).

``compliance_report`` needs ``audit.read`` workspace-wide (the report spans every project and checks the
audit chain); ``record_statement`` needs ``inventory.write`` workspace-wide. The evidence of DataOps, MLOps
and FinOps is gathered by ``triops.workspace.compliance_evidence`` and passed to the governance pillar,
which adds its own, the statements and whether the audit chain verifies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from triops.domain.clock import Clock
    from triops.governance.audit import VerifyReport
    from triops.governance.frameworks import Evidence, FrameworkReport
    from triops.governance.inventory import UseCase
    from triops.governance.rbac import Principal
    from triops.store.engine import Store


class ComplianceMixin:
    store: Store
    principal: Principal
    clock: Clock
    verify_audit: Callable[[], VerifyReport]  # GovernanceService's

    def _need(self, permission: str, project: str | None = None) -> None:
        from triops.governance.rbac import require

        require(permission, self.principal, project)

    def _readable(self) -> frozenset[str] | None:
        """The projects the acting principal may read (``None``: every one); listings query by it."""
        from triops.governance.rbac import Permission

        return self.principal.projects_with(Permission.PROJECT_READ)

    # -- inventory -----------------------------------------------------------------------------------------
    def add_use_case(self, data: Mapping[str, Any], *, replace: bool = False) -> UseCase:
        from triops.governance.compliance import add_use_case

        return add_use_case(self.store, self.principal, data, replace=replace, clock=self.clock)

    def use_cases(self, *, project: str | None = None) -> list[UseCase]:
        from triops.governance.compliance import list_use_cases

        return list_use_cases(self.store, project=project, readable=self._readable())

    def export_inventory(self, fmt: str = "csv", *, project: str | None = None) -> str:
        from triops.governance.compliance import export_inventory
        from triops.workspace.guarded import readable

        readable(self.principal, project, f"project {project!r}")
        return export_inventory(self.store, fmt, project=project)

    # -- compliance ----------------------------------------------------------------------------------------
    def compliance_report(self, framework: str) -> FrameworkReport:
        """Each item of ``framework`` (``nist-ai-rmf``: all 72 subcategories; ``eu-ai-act``) with the evidence
        every pillar holds for it, the statements recorded, and what is missing."""
        from triops.governance.compliance import compliance_report
        from triops.governance.frameworks import parse_framework
        from triops.workspace.compliance_evidence import pillar_evidence

        self._need("audit.read")
        parse_framework(framework)
        extra: dict[str, list[Evidence]] = pillar_evidence(self.store)
        verified = self._audit_verified()
        if verified is not None:
            extra["audit_verified"] = [verified]
        return compliance_report(self.store, framework, extra=extra)

    def _audit_verified(self) -> Evidence | None:
        from triops.governance.frameworks import API_PREFIX, Evidence

        report = self.verify_audit()
        chain = report.chain
        if not report.ok or chain.checked == 0:
            return None
        label = (
            f"audit chain verified: {chain.checked} events, {chain.checkpoints_checked} signed checkpoints"
        )
        return Evidence(
            "audit_verified", label, f"{API_PREFIX}/governance/audit/verify", "triops audit verify"
        )

    def record_statement(
        self, framework: str, item: str, text: str, *, reference: str | None = None
    ) -> dict[str, Any]:
        """Record a human statement for a framework item (stored and audited); it then counts as the item's
        evidence. Needs ``inventory.write``."""
        from triops.governance.compliance import record_statement

        return record_statement(
            self.store, self.principal, framework, item, text, reference=reference, clock=self.clock
        )

    def statements(self, framework: str, *, item: str | None = None) -> list[dict[str, Any]]:
        """Statements recorded for ``framework`` (one item's, when given), newest first."""
        from triops.governance.compliance import list_statements

        self._need("audit.read")
        return list_statements(self.store, framework, item)


__all__ = ["ComplianceMixin"]
