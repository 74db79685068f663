"""Lineage as the acting principal may see it: the walk's root must be in a project they can read (a pipeline
run's project, or a project with a run that logged the artifact), else it is NotFound with the very message
an absent ref gets; step runs of projects they cannot read are left out of the tree.

``ws.lineage``, ``ws.pipelines.lineage``, ``ws.datasets.lineage`` and the API's lineage routes all read
through here, so every path answers the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from triops.errors import NotFoundError

if TYPE_CHECKING:
    from triops.governance.rbac import Principal
    from triops.mlops.pipelines.lineage import LineageNode
    from triops.store.engine import Store
    from triops.workspace.local import Workspace


def readable_lineage(ws: Workspace, ref: str, *, direction: str = "up", depth: int = 3) -> LineageNode:
    """``lineage(ref)`` checked against ``project.read`` and pruned to readable projects."""
    from triops.governance.rbac import Permission
    from triops.mlops.pipelines.lineage import lineage
    from triops.store.repositories import pipelines as pipe_repo
    from triops.store.repositories.runs import projects_with_artifact, run_project

    node = lineage(ws.store, ref, direction=direction, depth=depth)  # type: ignore[arg-type]
    principal = ws.principal
    with ws.store.connect() as conn:
        if node.kind == "run":
            owners: list[str | None] = [run_project(conn, node.id)]
            absent = NotFoundError(
                f"{ref!r} is neither a pipeline run id nor an artifact sha256",
                hint="pass a run id from `triops runs list` or an artifact's sha256 (at least 8 hex digits)",
            )
        else:
            # the projects of runs that logged it, or whose steps read or wrote it
            edges = [*pipe_repo.edges_with_artifact(conn, node.id, "out")]
            edges += pipe_repo.edges_with_artifact(conn, node.id, "in")
            steps = pipe_repo.get_step_runs(conn, sorted({e.step_run_id for e in edges}))
            owners = [*projects_with_artifact(conn, node.id)]
            owners += [run_project(conn, r) for r in sorted({s.run_id for s in steps})]
            owners = owners or [None]
            absent = NotFoundError(
                f"no step run used or produced an artifact {ref!r}", hint="check the sha256"
            )
        if not any(principal.can(Permission.PROJECT_READ, p) for p in owners):
            raise absent
    return prune_unreadable(ws.store, principal, node)


def prune_unreadable(store: Store, principal: Principal, node: LineageNode) -> LineageNode:
    """``node`` without the step runs (and what hangs under them) of projects ``principal`` cannot read."""
    from triops.governance.rbac import Permission
    from triops.store.repositories.runs import run_project

    readable = principal.projects_with(Permission.PROJECT_READ)
    if readable is None:
        return node
    projects: dict[str, str] = {}
    with store.connect() as conn:

        def keep(child: LineageNode) -> bool:
            if child.kind != "step" or child.run_id is None:
                return True
            if child.run_id not in projects:
                projects[child.run_id] = run_project(conn, child.run_id)
            return projects[child.run_id] in readable

        return _prune(node, keep)


def _prune(node: LineageNode, keep: Callable[[LineageNode], bool]) -> LineageNode:
    children = tuple(_prune(c, keep) for c in node.children if keep(c))
    return node if children == node.children else replace(node, children=children)


__all__ = ["prune_unreadable", "readable_lineage"]
