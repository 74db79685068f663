"""Recorded gate decisions as the caller may read them (``ws.governance.gate_evaluations``): every time a
policy gate was evaluated for real (a stage or alias change, ``triops policy check`` against stored
policies), the store kept the gate, its subject, pass or fail, each rule with its reason, the approvals
still missing and the facts the gate saw. Listed newest first, filtered in SQL to the projects where the
caller holds ``project.read``; asking for a project the caller cannot read is "does not exist".
"""

from __future__ import annotations

import json
from typing import Any

from triops.errors import InvalidInputError
from triops.governance.rbac import Permission, Principal
from triops.store.engine import Store
from triops.store.repositories import governance as repo


def gate_evaluations(
    principal: Principal,
    store: Store,
    *,
    project: str | None = None,
    gate: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    from triops.workspace.guarded import readable

    if not 0 < limit <= 10_000:
        raise InvalidInputError(f"limit: {limit} is not between 1 and 10000")
    if project is not None:
        readable(principal, project, f"project {project!r}")
    scope = frozenset({project}) if project is not None else principal.projects_with(Permission.PROJECT_READ)
    with store.connect() as conn:
        rows = repo.list_gate_evaluations(conn, projects=scope, gate=gate, limit=limit)
    for row in rows:
        if isinstance(row["result"], str):  # some drivers hand JSON back as text
            row["result"] = json.loads(row["result"])
    return rows


__all__ = ["gate_evaluations"]
