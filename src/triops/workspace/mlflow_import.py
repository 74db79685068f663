"""``triops import mlflow``: bring an MLflow store's experiments, runs and artifacts into a triops store.

- An experiment becomes a project (``Default`` → ``default``; other names made valid project names, the
  renames reported). A run keeps its MLflow run id as its triops id (so ``runs:/<id>`` references and
  ``mlflow.parentRunId`` tags stay true) and carries the tag ``triops.mlflow.run_id``.
- A nested run (tagged ``mlflow.parentRunId``) is linked to its parent once both are imported (the parent
  may come in a later batch, or a later import); a parent that is not in the store is counted, not linked.
- Idempotent: a run whose id is already in the store is skipped ("already imported"); re-running an
  import adds only what is new.
- Bulk: runs are written in batches, each batch one transaction (runs, params, tags, whole metric
  histories, latest values, artifacts and one audit event per run, action ``mlflow.import``, naming the
  MLflow run id and the source).
- Registered models, versions and aliases of SQL stores and servers come along as versions of flavour
  ``mlflow`` (``mlflow_import_models``: recorded, never loaded); a file store's registry is counted, not read.
- Never silent: deleted runs and experiments, runs whose values break triops' limits, artifacts not on
  this machine, and model versions or aliases that cannot come along are skipped and counted with the
  reason in the report.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from triops.domain.clock import utc_ms
from triops.domain.records import StoredArtifact
from triops.domain.validation import check_key, param_text, tag_text
from triops.errors import InvalidInputError
from triops.governance.rbac import Permission, require
from triops.mlops.tracking.mlflow_sources import MlflowSource, SourceRun, open_source
from triops.store import audit as audit_store
from triops.store.repositories import mlflow as mlflow_repo
from triops.store.repositories import runs as run_repo
from triops.workspace.mlflow import LIFECYCLE_TAG, PARENT_TAG
from triops.workspace.mlflow_import_models import RegistryReport, import_registry

if TYPE_CHECKING:
    from triops.workspace.local import Workspace

SOURCE_TAG = "triops.mlflow.run_id"
RUN_STATUSES = {"RUNNING": "RUNNING", "SCHEDULED": "RUNNING", "FINISHED": "FINISHED", "FAILED": "FAILED"}


@dataclass
class ImportReport:
    source: str
    projects: dict[str, str] = field(default_factory=dict)  # experiment name → project
    runs_imported: int = 0
    metrics: int = 0
    params: int = 0
    tags: int = 0
    artifacts: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # reason → how many runs
    artifacts_skipped: Counter[str] = field(default_factory=Counter)
    registered_models_skipped: int = 0  # sources whose registry is not read (file stores)
    model_versions_skipped: int = 0
    registry: RegistryReport = field(default_factory=RegistryReport)
    parents_linked: int = 0
    parents_not_linked: Counter[str] = field(default_factory=Counter)  # reason → how many child runs

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "projects": self.projects,
            "runs_imported": self.runs_imported,
            "metrics": self.metrics,
            "params": self.params,
            "tags": self.tags,
            "artifacts": self.artifacts,
            "parents_linked": self.parents_linked,
            "parents_not_linked": dict(self.parents_not_linked),
            "runs_skipped": dict(self.skipped),
            "artifacts_skipped": dict(self.artifacts_skipped),
            "registered_models_skipped": self.registered_models_skipped,
            "model_versions_skipped": self.model_versions_skipped,
            **self.registry.to_dict(),
        }


def project_for_experiment(name: str) -> str:
    """A valid project name for an MLflow experiment name (``Default`` is ``default``)."""
    if name == "Default":
        return "default"
    cleaned = re.sub(r"[^A-Za-z0-9_\-.]+", "-", name).strip("-_.")[:100]
    return cleaned or "mlflow-experiment"


def _checked(run: SourceRun) -> None:
    for key, value in run.params.items():
        param_text(check_key(key, "param key"), value)
    for key, value in run.tags.items():
        tag_text(check_key(key, "tag key"), value)
    for key in {m[0] for m in run.metrics}:
        check_key(key, "metric key")


class MlflowImporter:
    """Imports one MLflow source into ``ws`` (a local store), acting as ``ws.principal``."""

    def __init__(
        self,
        ws: Workspace,
        location: str,
        *,
        artifacts_root: Path | None = None,
        include_deleted: bool = False,
        batch: int = 500,
        token: str | None = None,
    ) -> None:
        self.token = token
        self.ws = ws
        self.location = location
        self.artifacts_root = artifacts_root
        self.include_deleted = include_deleted
        self.batch = batch
        self.report = ImportReport(location)
        self.source: MlflowSource | None = None
        self._parents: dict[str, str] = {}  # child run id → the parent its mlflow.parentRunId tag names

    def run(self, progress: Callable[[int, int], None] | None = None) -> ImportReport:
        source = open_source(self.location, self.token)
        self.source = source
        try:
            experiments = {e.id: e for e in source.experiments()}
            project_of: dict[str, str] = {}
            taken: dict[str, str] = {}
            for exp in experiments.values():
                project = project_for_experiment(exp.name)
                if taken.get(project, exp.id) != exp.id:
                    project = f"{project[:90]}-{exp.id}"[:100]
                taken[project] = exp.id
                project_of[exp.id] = project
                if exp.deleted and not self.include_deleted:
                    continue
                require(Permission.RUN_WRITE, self.ws.principal, project)
                self.report.projects[exp.name] = project
            total = source.run_count()
            done = 0
            for runs in source.run_batches(self.batch):
                self._import_batch(runs, experiments, project_of)
                done += len(runs)
                if progress is not None:
                    progress(done, total)
            self._link_parents()
            models = source.registered_models()
            if models is None:  # a file store's registry is not read: counted, never silently dropped
                counts = source.registry_counts()
                self.report.registered_models_skipped = counts.registered_models
                self.report.model_versions_skipped = counts.model_versions
            else:
                self.report.registry = import_registry(self.ws, self.location, models)
        finally:
            source.close()
        return self.report

    def _wanted(self, run: SourceRun, experiments: dict[str, Any], project_of: dict[str, str]) -> str | None:
        """The reason to skip ``run``, or None to import it."""
        exp = experiments.get(run.experiment_id)
        if exp is None or run.experiment_id not in project_of:
            return "its experiment is missing from the source"
        if exp.deleted and not self.include_deleted:
            return "its experiment is deleted in MLflow (--include-deleted imports it)"
        if run.deleted and not self.include_deleted:
            return "deleted in MLflow (--include-deleted imports it)"
        try:
            _checked(run)
        except InvalidInputError as exc:
            return f"breaks a triops limit: {exc.message}"
        return None

    def _artifacts(self, run: SourceRun) -> list[tuple[str, StoredArtifact]]:
        assert self.source is not None
        folder = self.source.artifact_dir(run, self.artifacts_root)
        if folder is None:
            if run.artifact_uri:
                self.report.artifacts_skipped[
                    "not on this machine (give --artifacts-root for mlflow-artifacts:)"
                ] += 1
            return []
        if not folder.is_dir():
            return []
        out = []
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            out.append((path.relative_to(folder).as_posix(), self.ws.artifacts.put_file(path)))
        return out

    def _import_batch(
        self, batch: list[SourceRun], experiments: dict[str, Any], project_of: dict[str, str]
    ) -> None:
        with self.ws.store.connect() as conn:
            present = mlflow_repo.existing_run_ids(conn, [r.id for r in batch])
        todo: list[SourceRun] = []
        for run in batch:
            if run.id in present:
                self.report.skipped["already imported"] += 1
            else:
                reason = self._wanted(run, experiments, project_of)
                if reason is not None:
                    self.report.skipped[reason] += 1
                    continue
                todo.append(run)
            if PARENT_TAG in run.tags:  # linked after every batch is in (a parent may come later)
                self._parents[run.id] = run.tags[PARENT_TAG]
        if not todo:
            return
        blobs = {run.id: self._artifacts(run) for run in todo}
        actor = self.ws.principal.name
        now = utc_ms(self.ws.clock.now())

        def write(conn: Any) -> None:
            project_ids = {
                p: run_repo.ensure_project(conn, p, now) for p in {project_of[r.experiment_id] for r in todo}
            }
            mlflow_repo.insert_imported_runs(
                conn,
                [
                    (
                        r.id,
                        project_ids[project_of[r.experiment_id]],
                        (r.name or f"run-{r.id[-8:]}")[:250],
                        "tracked",
                        RUN_STATUSES.get(r.status, "KILLED" if r.status == "KILLED" else "FINISHED"),
                        r.start_ms,
                        r.end_ms,
                        r.user,
                    )
                    for r in todo
                ],
            )
            mlflow_repo.insert_key_values(
                conn, "params", [(r.id, k, v) for r in todo for k, v in r.params.items()]
            )
            tag_rows = []
            for r in todo:
                run_tags = {**r.tags, SOURCE_TAG: r.id}
                if r.deleted:
                    run_tags[LIFECYCLE_TAG] = "deleted"
                tag_rows += [(r.id, k, v) for k, v in run_tags.items()]
            mlflow_repo.insert_key_values(conn, "tags", tag_rows)
            mlflow_repo.insert_metric_history(
                conn, [(r.id, k, v, s, t) for r in todo for k, v, s, t in r.metrics]
            )
            for r in todo:
                if blobs[r.id]:
                    run_repo.add_run_artifacts(conn, r.id, blobs[r.id], now)
            audit_store.append_events(
                conn,
                [
                    {
                        "actor": actor,
                        "action": "mlflow.import",
                        "object_type": "run",
                        "object_id": r.id,
                        "before": None,
                        "after": {
                            "mlflow_run_id": r.id,
                            "mlflow_experiment_id": r.experiment_id,
                            "source": self.location,
                        },
                        "project": project_of[r.experiment_id],
                        "at_ms": now,
                    }
                    for r in todo
                ],
            )

        self.ws.store.write(write)
        self.report.runs_imported += len(todo)
        self.report.params += sum(len(r.params) for r in todo)
        self.report.tags += sum(len(r.tags) for r in todo)
        self.report.metrics += sum(len(r.metrics) for r in todo)
        self.report.artifacts += sum(len(b) for b in blobs.values())

    def _link_parents(self) -> None:
        """Link every imported nested run to its parent, when the parent is in the store too."""
        pairs = self._parents
        if not pairs:
            return
        report = self.report

        def write(conn: Any) -> None:
            current = mlflow_repo.parent_ids(conn, list(pairs))
            existing = mlflow_repo.parent_ids(conn, sorted(set(pairs.values())))
            for child, parent in pairs.items():
                if current.get(child) == parent:
                    continue  # linked by an earlier import
                if parent not in existing:
                    report.parents_not_linked["its parent run is not in the store"] += 1
                    continue
                try:
                    run_repo.set_parent(conn, child, parent)
                except InvalidInputError:
                    report.parents_not_linked["the link would make a run its own ancestor"] += 1
                    continue
                report.parents_linked += 1

        self.ws.store.write(write)


def import_mlflow(
    ws: Workspace,
    location: str,
    *,
    artifacts_root: Path | None = None,
    include_deleted: bool = False,
    progress: Callable[[int, int], None] | None = None,
    token: str | None = None,
) -> ImportReport:
    """Import the MLflow store at ``location`` (``sqlite:///mlflow.db``, ``postgresql://…``,
    ``file:./mlruns``, ``http://mlflow-server`` with ``token``) into ``ws``; see the module docstring."""
    importer = MlflowImporter(
        ws, location, artifacts_root=artifacts_root, include_deleted=include_deleted, token=token
    )
    return importer.run(progress)


__all__ = ["SOURCE_TAG", "ImportReport", "MlflowImporter", "import_mlflow", "project_for_experiment"]
