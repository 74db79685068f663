"""The registry part of ``triops import mlflow``: registered models, their versions and aliases.

Each MLflow model version becomes a triops version of flavour ``mlflow`` (as the MLflow endpoint makes
them, ``registry.external``) recording its MLflow source, its run (imported first, same id) and the run's
files under the model's path — never loaded. Idempotent: a version whose manifest names the same MLflow
version is skipped ("already imported"). Governance holds: versions arrive in ``development`` (their
MLflow stage is kept in the manifest and reported; promoting them passes triops' gates), aliases are set
through the registry so the ``champion`` gate applies, and each version gets an ``mlflow.import`` audit
event with its MLflow name and version. Everything not brought over is counted with its reason.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from triops.domain.validation import check_key, tag_text
from triops.errors import InvalidInputError, NotFoundError, TriopsError
from triops.governance.rbac import Permission, require
from triops.mlops.registry import external
from triops.mlops.tracking.mlflow_sources import SourceModel, SourceVersion
from triops.store.repositories import registry as registry_repo
from triops.workspace.mlflow import MlflowTracking
from triops.workspace.projects import model_project, project_id

if TYPE_CHECKING:
    from triops.workspace.local import Workspace

_RUNS = re.compile(r"^runs:/([^/]+)/?(.*)$")


@dataclass
class RegistryReport:
    models: int = 0
    versions: int = 0
    aliases: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # reason → how many versions / aliases
    stages_left: Counter[str] = field(default_factory=Counter)  # MLflow stage → versions imported in it

    def to_dict(self) -> dict[str, Any]:
        return {
            "registered_models_imported": self.models,
            "model_versions_imported": self.versions,
            "aliases_set": self.aliases,
            "registry_skipped": dict(self.skipped),
            "mlflow_stages_not_carried_over": dict(self.stages_left),
        }


def artifact_path(version: SourceVersion) -> str | None:
    """The path of a version's files among its run's artifacts, or None when they are not run artifacts."""
    if found := _RUNS.match(version.source):
        return found[2].strip("/")
    marker = f"/{version.run_id}/artifacts"
    if version.run_id and marker in version.source:
        return version.source.split(marker, 1)[1].strip("/")
    return None


class RegistryImporter:
    def __init__(self, ws: Workspace, location: str) -> None:
        self.ws = ws
        self.location = location
        self.mt = MlflowTracking(ws)
        self.report = RegistryReport()

    def run(self, models: list[SourceModel]) -> RegistryReport:
        for model in models:
            self._model(model)
        return self.report

    def _imported(self, name: str) -> dict[int, Any] | None:
        """MLflow version → triops version already imported; None when ``name`` is a triops-native model."""
        out: dict[int, Any] = {}
        try:
            versions = self.ws.models.versions(name)
        except NotFoundError:
            return out
        for v in versions:
            manifest = external.manifest_of(self.ws.models, v)
            if not manifest:
                return None
            if manifest.get("imported_from") is not None and "mlflow_version" in manifest:
                out[int(manifest["mlflow_version"])] = v
        return out

    def _model(self, model: SourceModel) -> None:
        done = self._imported(model.name)
        if done is None:
            self.report.skipped["a triops model of the same name exists"] += len(model.versions) or 1
            return
        with self.ws.store.connect() as conn:
            exists = registry_repo.model_row(conn, model.name) is not None
        for version in model.versions:
            if version.version in done:
                self.report.skipped["already imported"] += 1
                continue
            reason = self._version(model, version, exists)
            if reason is not None:
                self.report.skipped[reason] += 1
                continue
            exists = True
        if exists:
            self._aliases(model)

    def _version(self, model: SourceModel, version: SourceVersion, exists: bool) -> str | None:
        path = artifact_path(version)
        if path is None:
            return "its files are not run artifacts (e.g. an MLflow 3 logged model, models:/m-…)"
        try:
            run = self.ws.runs.get(version.run_id)
        except NotFoundError:
            return "its run was not imported"
        prefix = path + "/" if path else ""
        files = [
            {"path": a.name, "sha256": a.sha256, "size": a.size}
            for a in run.artifacts
            if a.name == path or a.name.startswith(prefix)
        ]
        if not files:
            return "its run's artifacts were not imported"
        project = model_project(self.ws.store, model.name) if exists else run.project
        require(Permission.MODEL_REGISTER, self.ws.principal, project or run.project)
        actor = self.ws.principal.name
        if not exists:
            external.create_model(
                self.ws.models,
                model.name,
                project_id=project_id(self.ws.store, run.project, self.ws.clock),
                description=model.description,
                actor=actor,
            )
            external.set_tags(self.ws.models, model.name, 0, self._tags(model.tags), actor=actor)
            self.report.models += 1
        experiment = self.mt.experiment_of_run(run)
        manifest = {
            "flavour": external.MLFLOW_FLAVOUR,
            "source": version.source,
            "run_id": run.id,
            "artifact_path": path,
            "model_id": "",
            "download_uri": f"mlflow-artifacts:/{experiment}/{run.id}/artifacts/{path}".rstrip("/"),
            "files": sorted(files, key=lambda f: str(f["path"])),
            "imported_from": self.location,
            "mlflow_version": version.version,
            "mlflow_stage": version.stage,
            "mlflow_user": version.user,
        }
        created = external.register_reference(
            self.ws.models,
            model.name,
            manifest,
            run_id=run.id,
            project_id=None,
            description=version.description,
            actor=actor,
            imported={
                "mlflow_model": model.name,
                "mlflow_version": version.version,
                "mlflow_stage": version.stage,
                "source": self.location,
            },
        )
        external.set_tags(self.ws.models, model.name, created.version, self._tags(version.tags), actor=actor)
        self.report.versions += 1
        if version.stage not in ("None", ""):
            self.report.stages_left[version.stage] += 1
        return None

    def _tags(self, tags: dict[str, str]) -> dict[str, str]:
        out = {}
        for key, value in tags.items():
            try:
                out[check_key(key, "tag key")] = tag_text(key, value)
            except InvalidInputError:
                self.report.skipped["registry tag breaks a triops limit"] += 1
        return out

    def _aliases(self, model: SourceModel) -> None:
        done = self._imported(model.name) or {}
        require(Permission.MODEL_ALIAS, self.ws.principal, model_project(self.ws.store, model.name))
        for alias, number in sorted(model.aliases.items()):
            target = done.get(number)
            if target is None:
                self.report.skipped["alias of a version not imported"] += 1
                continue
            if alias in target.aliases:
                continue
            try:
                self.ws.models.set_alias(model.name, alias, target.version)
            except TriopsError as exc:  # a gate (champion) may refuse it: reported, never forced
                self.report.skipped[f"alias refused: {exc.message}"] += 1
                continue
            self.report.aliases += 1


def import_registry(ws: Workspace, location: str, models: list[SourceModel]) -> RegistryReport:
    return RegistryImporter(ws, location).run(models)


__all__ = ["RegistryImporter", "RegistryReport", "artifact_path", "import_registry"]
