"""Lineage: every step run links its input artifacts to its outputs; walk those links up (where did this
come from?) or down (what was made from this?) from an artifact sha256 or a pipeline run id.

The walk returns a plain tree of ``LineageNode`` (artifact → step run → artifact …), ``depth`` step runs deep.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from triops.errors import InvalidInputError, NotFoundError
from triops.store.engine import Store
from triops.store.repositories import pipelines as repo
from triops.store.repositories.pipelines import LineageEdge, StepRunRow

Direction = Literal["up", "down"]
MAX_BRANCHES = 20  # per node: a popular artifact (a cached input) can have many consumers


@dataclass(frozen=True, slots=True)
class LineageNode:
    kind: str  # "run", "step" or "artifact"
    id: str
    label: str
    run_id: str | None = None
    status: str | None = None
    media_type: str | None = None
    size: int | None = None
    children: tuple[LineageNode, ...] = ()
    truncated: bool = False
    direction: str | None = None
    """on the root of a walk joined under a dataset: "up" (what it came from) or "down" (what was made)"""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "id": self.id, "label": self.label}
        for key in ("run_id", "status", "media_type", "size", "direction"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.truncated:
            data["truncated"] = True
        data["children"] = [c.to_dict() for c in self.children]
        return data

    def walk(self) -> list[LineageNode]:
        """Every node of the tree, depth first."""
        out = [self]
        for child in self.children:
            out.extend(child.walk())
        return out


class _Walker:
    def __init__(self, store: Store, direction: Direction) -> None:
        self.store, self.direction = store, direction
        self.steps: dict[str, StepRunRow] = {}
        self.edges: dict[str, list[LineageEdge]] = {}

    def _edges_of(self, step_run_ids: list[str]) -> None:
        missing = [i for i in step_run_ids if i not in self.edges]
        if not missing:
            return
        with self.store.connect() as conn:
            for row in repo.get_step_runs(conn, missing):
                self.steps[row.id] = row
            for i in missing:
                self.edges[i] = []
            for edge in repo.edges_of(conn, missing):
                self.edges[edge.step_run_id].append(edge)

    def artifact(
        self,
        sha256: str,
        label: str,
        media_type: str | None,
        size: int | None,
        depth: int,
        prefer_run: str | None = None,
    ) -> LineageNode:
        if depth <= 0:
            return LineageNode("artifact", sha256, label, media_type=media_type, size=size)
        wanted = "out" if self.direction == "up" else "in"
        with self.store.connect() as conn:
            links = repo.edges_with_artifact(conn, sha256, wanted)
        ids = list(dict.fromkeys(e.step_run_id for e in links))
        self._edges_of(ids)
        if prefer_run is not None:
            same_run = [i for i in ids if self.steps[i].run_id == prefer_run]
            ids = same_run or ids
        truncated = len(ids) > MAX_BRANCHES
        children = tuple(self.step(i, depth) for i in ids[:MAX_BRANCHES])
        return LineageNode(
            "artifact",
            sha256,
            label,
            media_type=media_type,
            size=size,
            children=children,
            truncated=truncated,
        )

    def step(self, step_run_id: str, depth: int) -> LineageNode:
        row = self.steps[step_run_id]
        next_direction = "in" if self.direction == "up" else "out"
        children = tuple(
            self.artifact(e.sha256, e.name, e.media_type, e.size, depth - 1, row.run_id)
            for e in self.edges.get(step_run_id, [])
            if e.direction == next_direction
        )
        return LineageNode("step", row.id, row.step, run_id=row.run_id, status=row.status, children=children)


def _is_hex(value: str) -> bool:
    return bool(value) and all(c in "0123456789abcdef" for c in value.lower())


def lineage(store: Store, ref: str, *, direction: Direction = "up", depth: int = 3) -> LineageNode:
    """The lineage tree of an artifact (sha256 or a unique prefix of ≥ 8 hex digits) or of a pipeline run.

    From a run, ``up`` starts at the run's final outputs (those no step of the run consumed) and ``down`` at
    every output of the run."""
    if direction not in ("up", "down"):
        raise InvalidInputError(f"direction={direction!r}", hint="choose 'up' or 'down'")
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise InvalidInputError(f"depth={depth!r}", hint="depth is an integer ≥ 1")
    walker = _Walker(store, direction)
    with store.connect() as conn:
        run_steps = repo.list_step_runs(conn, ref)
    if run_steps:
        walker._edges_of([s.id for s in run_steps])
        outputs = [e for s in run_steps for e in walker.edges[s.id] if e.direction == "out"]
        consumed = {e.sha256 for s in run_steps for e in walker.edges[s.id] if e.direction == "in"}
        if direction == "up":
            outputs = [e for e in outputs if e.sha256 not in consumed]
        by_sha = {e.sha256: e for e in outputs}
        children = tuple(
            walker.artifact(
                e.sha256, f"{walker.steps[e.step_run_id].step}/{e.name}", e.media_type, e.size, depth, ref
            )
            for e in by_sha.values()
        )
        return LineageNode("run", ref, f"run {ref}", run_id=ref, children=children)
    if not _is_hex(ref) or len(ref) < 8:
        raise NotFoundError(
            f"{ref!r} is neither a pipeline run id nor an artifact sha256",
            hint="pass a run id from `triops runs list` or an artifact's sha256 (at least 8 hex digits)",
        )
    with store.connect() as conn:
        matches = repo.artifact_by_prefix(conn, ref.lower())
    if not matches:
        raise NotFoundError(f"no step run used or produced an artifact {ref!r}", hint="check the sha256")
    if len(matches) > 1:
        raise InvalidInputError(
            f"artifact prefix {ref!r} is ambiguous ({len(matches)} artifacts)", hint="give more hex digits"
        )
    sha = matches[0]
    with store.connect() as conn:
        any_edge = repo.edges_with_artifact(conn, sha, "out") or repo.edges_with_artifact(conn, sha, "in")
    first = any_edge[0]
    return walker.artifact(sha, first.name, first.media_type, first.size, depth)


__all__ = ["Direction", "LineageNode", "lineage"]
