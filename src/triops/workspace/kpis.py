"""``ws.kpis``: the per-project KPI scorecard behind the home page, ``triops kpis`` and the API.

Reading a project's scorecard needs ``project.read`` there (a project the principal cannot read is "not
found"); recording a snapshot needs ``run.write``. Budget burn and audit verification come from the FinOps
and governance services here, where the pillars meet; the other facts are read from the store by
``triops.kpis.facts``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from triops.domain.clock import utc_ms
from triops.errors import NotFoundError
from triops.governance.rbac import Permission, require

if TYPE_CHECKING:
    from triops.kpis.board import KpiRow
    from triops.kpis.facts import Facts
    from triops.workspace.local import Workspace


class KpiService:
    def __init__(self, ws: Workspace, definitions_path: Path | None = None) -> None:
        self.ws = ws
        self.definitions_path = definitions_path or Path(ws.settings.home) / "kpis.toml"

    def projects(self) -> list[str]:
        """The projects the acting principal can read."""
        from triops.kpis.facts import known_projects

        with self.ws.store.connect() as conn:
            names = known_projects(conn)
        return [n for n in names if self.ws.principal.can(Permission.PROJECT_READ, n)]

    def _readable(self, project: str) -> None:
        if not self.ws.principal.can(Permission.PROJECT_READ, project) or project not in self.projects():
            raise NotFoundError(
                f"project {project!r} does not exist", hint="list projects with `triops kpis`"
            )

    def facts(self, project: str) -> Facts:
        from triops.kpis.facts import gather_facts

        with self.ws.store.connect() as conn:
            facts = gather_facts(conn, project)
        burns = [
            s.spent_micros / s.budget.amount_micros * 100
            for s in self.ws.finops.status()
            if s.budget.scope == "project" and s.budget.name == project
        ]
        if burns:
            facts.values["budget.burn_pct"] = max(burns)
        if self.ws.principal.can(Permission.AUDIT_READ, None):
            facts.values["audit.verified"] = 1.0 if self.ws.governance.verify_audit().ok else 0.0
        return facts

    def scorecard(self, project: str, *, definitions_text: str | None = None) -> list[KpiRow]:
        """Every KPI of ``project`` now, with its trend over the stored snapshots."""
        from triops.kpis.board import evaluate, load_history
        from triops.kpis.definitions import load_definitions, read_definitions_file

        self._readable(project)
        text = (
            definitions_text if definitions_text is not None else read_definitions_file(self.definitions_path)
        )
        definitions = load_definitions(text, project)
        facts = self.facts(project)
        with self.ws.store.connect() as conn:
            history = load_history(conn, project)
        return evaluate(project, definitions, facts, history)

    def record(self, project: str, *, definitions_text: str | None = None) -> list[KpiRow]:
        """Take a snapshot of ``project``'s scorecard (kept for trends); returns the rows stored."""
        from triops.kpis.board import record_snapshot

        self._readable(project)
        require(Permission.RUN_WRITE, self.ws.principal, project)
        rows = self.scorecard(project, definitions_text=definitions_text)
        record_snapshot(self.ws.store, rows, utc_ms(self.ws.clock.now()), self.ws.principal.name)
        return rows


__all__ = ["KpiService"]
