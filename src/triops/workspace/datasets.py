"""``ws.datasets``: register dataset versions (checked against a contract, through the ``dataset.publish``
gate), check data, read versions, diff them and trace their lineage, as the workspace's principal."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from triops.domain.clock import Clock, utc_ms
from triops.store.engine import Store

if TYPE_CHECKING:
    from triops.artifacts import ArtifactStore
    from triops.dataops.datasets import Publication, Registered
    from triops.governance.rbac import Principal


class Datasets:
    """``ws.datasets``: register versions (checked against a contract), check data, read versions, diff them.

    Samples of restricted or personal cells are masked with the workspace's salt. ``check(...,
    reveal=True)`` shows them in clear only to a principal with ``dataset.read_restricted`` in the project,
    and writes an audit event ``dataset.restricted_read`` first."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        artifacts: ArtifactStore | None = None,
        principal: Principal,
    ) -> None:
        self.store = store
        self.clock = clock
        self.artifacts = artifacts
        self.principal = principal
        self._salt: bytes | None = None

    def salt(self) -> bytes:
        """The workspace's masking salt (made on first use, kept in the store)."""
        if self._salt is None:
            from triops.store.repositories.dataops import masking_salt

            now = utc_ms(self.clock.now())
            self._salt = self.store.write(lambda conn: masking_salt(conn, now))
        return self._salt

    def privacy(self, *, reveal: bool = False) -> Any:
        from triops.dataops.privacy import Privacy

        return Privacy(salt=self.salt(), reveal=reveal)

    def _project_id(self, project: str) -> str:
        from triops.store.repositories.runs import ensure_project

        now = utc_ms(self.clock.now())
        return self.store.write(lambda conn: ensure_project(conn, project, now))

    def register(
        self,
        name: str,
        data: Any,
        *,
        contract: Any = None,
        project: str = "default",
        run_id: str | None = None,
        keep_data: bool = True,
        skip_unsupported: bool = False,
    ) -> Registered:
        """Check, profile and store ``data`` as the next version of ``name`` (its bytes kept as an artifact
        unless ``keep_data`` is False, so later diffs are exact), once it passes the ``dataset.publish`` gate
        (``GateBlockedError`` naming the policy and reason otherwise; nothing is stored)."""
        from triops.dataops.datasets import register_dataset
        from triops.governance.rbac import Permission, require

        require(Permission.DATASET_WRITE, self.principal, project)
        require(Permission.DATASET_PUBLISH, self.principal, project)  # storing a version publishes it
        return register_dataset(
            self.store,
            project_id=self._project_id(project),
            name=name,
            data=data,
            contract=contract,
            clock=self.clock,
            run_id=run_id,
            artifacts=self.artifacts if keep_data else None,
            privacy=self.privacy(),
            skip_unsupported=skip_unsupported,
            publish_gate=lambda candidate: self._publish_gate(project, candidate),
        )

    def _publish_gate(self, project: str, candidate: Publication) -> None:
        """A dataset version is stored only once it passes the ``dataset.publish`` gate of its project."""
        from triops.governance.gates import enforce_gate
        from triops.workspace.gate_facts import dataset_publish_facts

        facts = dataset_publish_facts(
            project=project,
            name=candidate.name,
            content_hash=candidate.content_hash,
            row_count=candidate.row_count,
            contract=candidate.contract_id,
            passed=candidate.passed,
            score=candidate.score,
            dimensions=candidate.dimensions,
        )
        enforce_gate(self.store, facts, self.principal.name, self.clock, record_unguarded=False)

    def check(
        self,
        contract: Any,
        data: Any,
        *,
        project: str = "default",
        reveal: bool = False,
        **options: Any,
    ) -> Any:
        """Check ``data`` against ``contract`` (a Contract, a path or ODCS YAML text); nothing is stored.
        ``reveal=True`` shows restricted and personal cells in clear: it needs ``dataset.read_restricted``
        and is audited."""
        from triops.dataops.checks import check
        from triops.dataops.contracts import Contract, load_contract, parse_contract

        if isinstance(contract, str) and "\n" in contract:
            loaded = parse_contract(contract, where="<contract>")
        elif isinstance(contract, Contract):
            loaded = contract
        else:
            loaded = load_contract(contract)
        from triops.governance.rbac import Permission, require

        # a check reads and stores nothing of the project's: reading the project is enough
        require(Permission.PROJECT_READ, self.principal, project)
        if reveal:
            self._allow_reveal(
                project, f"check of {getattr(data, 'name', None) or data!s:.200} against {loaded.id}"
            )
        return check(loaded, data, clock=self.clock, privacy=self.privacy(reveal=reveal), **options)

    def _allow_reveal(self, project: str, what: str) -> None:
        from triops.governance.rbac import Permission, require
        from triops.store import audit as audit_store

        principal = self.principal
        require(Permission.DATASET_READ_RESTRICTED, principal, project)
        now = utc_ms(self.clock.now())
        self.store.write(
            lambda conn: audit_store.append_event(
                conn,
                actor=principal.name,
                action="dataset.restricted_read",
                object_type="project",
                object_id=project,
                before=None,
                after={"what": what},
                project=project,
                at_ms=now,
            )
        )

    def _existing_project_id(self, project: str) -> str:
        """Reads look the project up; only ``register`` may create one. A project the principal cannot read
        is as absent as one that does not exist."""
        import sqlalchemy as sa

        from triops.errors import NotFoundError
        from triops.store.tables import projects
        from triops.workspace.guarded import readable

        readable(self.principal, project, f"project {project!r}")

        with self.store.connect() as conn:
            found = conn.execute(sa.select(projects.c.id).where(projects.c.name == project)).scalar()
        if found is None:
            raise NotFoundError(
                f"project {project!r} has no datasets",
                hint="register one with ws.datasets.register(name, data)",
            )
        return str(found)

    def get(self, name: str, version: int | None = None, *, project: str = "default") -> Any:
        from triops.store.repositories.dataops import get_dataset_version

        project_id = self._existing_project_id(project)
        with self.store.connect() as conn:
            return get_dataset_version(conn, project_id, name, version)

    def versions(self, name: str | None = None, *, project: str = "default") -> list[Any]:
        """Every version (of ``name``, or of every dataset) in ``project``, by name then version."""
        from triops.store.repositories.dataops import list_dataset_versions

        project_id = self._existing_project_id(project)
        with self.store.connect() as conn:
            return list_dataset_versions(conn, project_id, name)

    def diff(self, name: str, v1: int, v2: int, *, project: str = "default") -> Any:
        """Exact when both versions' data are in the artifact store, else estimated from their profiles."""
        from triops.dataops.datasets import diff_versions

        return diff_versions(
            self.store, self._existing_project_id(project), name, v1, v2, artifacts=self.artifacts
        )

    def lineage(
        self, name: str, version: int | None = None, *, project: str = "default", depth: int = 3
    ) -> Any:
        """Where a dataset version came from and what was made from it: the run that registered it and the
        step runs that read or wrote its bytes (a tree of ``LineageNode``)."""
        from triops.errors import NotFoundError
        from triops.mlops.pipelines.lineage import LineageNode, lineage
        from triops.workspace.lineage_access import prune_unreadable

        row = self.get(name, version, project=project)
        children = []
        for sha in dict.fromkeys(s for s in (row.artifact_sha256, row.content_hash) if s):
            for direction in ("up", "down"):
                try:
                    walked = lineage(self.store, sha, direction=direction, depth=depth)
                    children.append(dataclasses.replace(walked, direction=direction))
                except NotFoundError:
                    break
        if row.run_id:
            children.append(LineageNode("run", row.run_id, f"run {row.run_id}", run_id=row.run_id))
        node = LineageNode(
            "dataset", row.id, f"{row.name}/{row.version}", size=row.row_count, children=tuple(children)
        )
        return prune_unreadable(self.store, self.principal, node)


__all__ = ["Datasets"]
