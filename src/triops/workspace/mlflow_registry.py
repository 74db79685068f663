"""MLflow's model registry on triops' registry, for the acting principal of a workspace.

An MLflow model version is a triops model version of flavour ``mlflow`` (``registry.external``): it records
the MLflow source (``runs:/…``, ``models:/<logged model id>`` or ``mlflow-artifacts:/…`` on this server),
its run, and the run's files under that path — content-addressed run artifacts that triops never loads.
Everything else is the registry's own: stages (MLflow ``None`` is ``development``), aliases, the audit log,
the governance guards (a gate that blocks a stage change or a ``champion`` move blocks it here too), and
permissions — ``model.register`` / ``model.stage`` / ``model.alias`` in the model's project, read access
(``project.read``) or the model does not exist.

A registered model created without a project (MLflow has none) is workspace-wide until its first version,
which places it in the project of that version's run; a principal without a workspace-wide
``model.register`` names the project with the tag ``triops.project`` (or holds the permission in exactly
one project, which is then used).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from triops.domain.filters import evaluate
from triops.domain.mlflow_filter import PROMPT_TAG, parse_registry_filter
from triops.domain.validation import check_key, tag_text
from triops.errors import InvalidInputError, NotFoundError
from triops.governance.rbac import GLOBAL, Permission, require
from triops.mlops.registry import external
from triops.mlops.registry.records import ModelVersion
from triops.store.repositories import registry as repo
from triops.store.repositories import registry_external as ext_repo
from triops.workspace.mlflow import MlflowTracking
from triops.workspace.mlflow_models import MlflowLoggedModels
from triops.workspace.projects import model_project, project_id

PROJECT_TAG = "triops.project"
NOT_A_PROMPT = {PROMPT_TAG: "false"}  # what MLflow's prompt filter sees on every triops model
# MLflow stage ↔ triops stage
TO_TRIOPS = {"none": "development", "staging": "staging", "production": "production", "archived": "archived"}
TO_MLFLOW = {"development": "None", "staging": "Staging", "production": "Production", "archived": "Archived"}
_RUNS = re.compile(r"^runs:/([^/]+)/?(.*)$")
_ARTIFACTS = re.compile(r"^mlflow-artifacts:/+[^/]+/([^/]+)/artifacts/?(.*)$")
_MODELS = re.compile(r"^models:/(m-[0-9a-f]+)/?$")


@dataclass(frozen=True)
class RegisteredModelView:
    name: str
    created_ms: int
    updated_ms: int
    user: str
    description: str | None
    latest: list[ModelVersion]
    aliases: dict[str, int]
    tags: dict[int, dict[str, str]]  # 0: the model's own, n: version n's


def mlflow_stage(stage: str) -> str:
    """The triops stage of an MLflow stage name (case-insensitive), or an error naming the field."""
    found = TO_TRIOPS.get(stage.strip().lower())
    if found is None:
        raise InvalidInputError(
            f"stage {stage!r} is not one of None, Staging, Production, Archived", detail={"field": "stage"}
        )
    return found


class MlflowRegistry:
    """The MLflow registry operations on one workspace, acting as its principal."""

    def __init__(self, tracking: MlflowTracking) -> None:
        self.mt = tracking
        self.ws = tracking.ws
        self.principal = tracking.principal
        self.models = tracking.ws.models

    # -- models --------------------------------------------------------------------------------------------
    def _project(self, name: str) -> str | None:
        """The project of model ``name``; NotFound when it does not exist or cannot be read."""
        with self.mt.store.connect() as conn:
            row = repo.model_row(conn, name)
        project = model_project(self.mt.store, name) if row is not None else None
        if row is None or not self.principal.can(Permission.PROJECT_READ, project):
            raise NotFoundError(
                f"registered model {name!r} does not exist",
                hint="list models with search_registered_models",
                detail={"field": "name"},
            )
        return project

    def _home_project(self, tags: Mapping[str, str]) -> str | None:
        if tags.get(PROJECT_TAG):
            return tags[PROJECT_TAG]
        if self.principal.can(Permission.MODEL_REGISTER, None):
            return None
        mine = [
            p
            for p in self.principal.roles
            if p != GLOBAL and self.principal.can(Permission.MODEL_REGISTER, p)
        ]
        if len(mine) == 1:
            return mine[0]
        raise InvalidInputError(
            "name the triops project of this registered model with the tag 'triops.project'",
            hint="e.g. MlflowClient().create_registered_model(name, tags={'triops.project': 'churn'})",
            detail={"field": "tags"},
        )

    def create_model(self, name: str, description: str, tags: Mapping[str, str]) -> RegisteredModelView:
        project = self._home_project(tags)
        require(Permission.MODEL_REGISTER, self.principal, project)
        pid = project_id(self.mt.store, project, self.ws.clock) if project else None
        external.create_model(
            self.models, name, project_id=pid, description=description, actor=self.principal.name
        )
        own = {k: v for k, v in tags.items() if k != PROJECT_TAG}
        external.set_tags(self.models, name, 0, _checked(own), actor=self.principal.name)
        return self.model(name)

    def model(self, name: str) -> RegisteredModelView:
        self._project(name)
        return self._view(name)

    def _view(self, name: str) -> RegisteredModelView:
        with self.mt.store.connect() as conn:
            row = repo.model_row(conn, name)
            assert row is not None
            last = ext_repo.latest_version_ms(conn, str(row["id"]))
        versions = self.models.versions(name)
        numbers = {v.id: v.version for v in versions}
        aliases = {a: numbers[v.id] for v in versions for a in v.aliases}
        return RegisteredModelView(
            name=name,
            created_ms=int(row["created_ms"]),
            updated_ms=int(last or row["created_ms"]),
            user=str(row["created_by"]),
            description=row["description"],
            latest=self._latest(versions, ()),
            aliases=dict(sorted(aliases.items())),
            tags=external.tags_of(self.models, name),
        )

    @staticmethod
    def _latest(versions: Sequence[ModelVersion], stages: Sequence[str]) -> list[ModelVersion]:
        best: dict[str, ModelVersion] = {}
        for v in versions:
            if stages and v.stage not in stages:
                continue
            if v.stage not in best or v.version > best[v.stage].version:
                best[v.stage] = v
        return sorted(best.values(), key=lambda v: v.version)

    def search_models(self, filter: str, order_by: Sequence[str] = ()) -> list[RegisteredModelView]:
        node = parse_registry_filter(filter, ("name",))
        with self.mt.store.connect() as conn:
            names = repo.model_names(conn)
        out = []
        for name in names:
            if not self.principal.can(Permission.PROJECT_READ, model_project(self.mt.store, name)):
                continue
            view = self._view(name)
            record = {"attribute": {"name": name}, "tag": {**NOT_A_PROMPT, **view.tags.get(0, {})}}
            if node is None or evaluate(node, record):
                out.append(view)
        keys: dict[str, Callable[[RegisteredModelView], Any]] = {
            "name": lambda m: m.name,
            "creation_timestamp": lambda m: m.created_ms,
            "last_updated_timestamp": lambda m: m.updated_ms,
        }
        return ordered(out, order_by, keys)

    def latest_versions(self, name: str, stages: Sequence[str]) -> list[ModelVersion]:
        self._project(name)
        wanted = [mlflow_stage(s) for s in stages]
        return self._latest(self.models.versions(name), wanted)

    def set_tag(self, name: str, version: int | str | None, key: str, value: str) -> None:
        require(Permission.MODEL_REGISTER, self.principal, self._project(name))
        number = 0 if version is None else _number(version)
        external.set_tags(self.models, name, number, _checked({key: value}), actor=self.principal.name)

    def delete_tag(self, name: str, version: int | str | None, key: str) -> None:
        require(Permission.MODEL_REGISTER, self.principal, self._project(name))
        number = 0 if version is None else _number(version)
        external.delete_tag(self.models, name, number, key, actor=self.principal.name)

    def version_tags(self, version: ModelVersion) -> dict[str, str]:
        return external.tags_of(self.models, version.model).get(version.version, {})

    def rename(self, name: str, new_name: str) -> RegisteredModelView:
        require(Permission.MODEL_REGISTER, self.principal, self._project(name))
        external.rename(self.models, name, new_name, actor=self.principal.name)
        return self.model(new_name)

    def describe(self, name: str, version: int | None, text: str) -> None:
        require(Permission.MODEL_REGISTER, self.principal, self._project(name))
        external.describe(self.models, name, version, text, actor=self.principal.name)

    # -- versions ------------------------------------------------------------------------------------------
    def _source(self, source: str, run_id: str, model_id: str) -> tuple[str, str, str]:
        """(run id, artifact path, logged model id) of an MLflow model source on this server."""
        if found := _RUNS.match(source):
            return found[1], found[2].strip("/"), model_id
        if found := _ARTIFACTS.match(source):
            return found[1], found[2].strip("/"), model_id
        if (found := _MODELS.match(source)) or model_id:
            logged = MlflowLoggedModels(self.mt).get(found[1] if found else model_id)
            return logged.run_id, logged.name, logged.id
        raise InvalidInputError(
            f"model source {source!r} is not a model on this server",
            hint="register runs:/RUN_ID/PATH, models:/MODEL_ID or mlflow-artifacts:/… (files logged to triops)",
            detail={"field": "source"},
        )

    def create_version(
        self,
        name: str,
        source: str,
        run_id: str,
        description: str,
        model_id: str,
        tags: Mapping[str, str] | None = None,
    ) -> ModelVersion:
        project = self._project(name)
        src_run, path, logged_id = self._source(source, run_id, model_id)
        if run_id and run_id != src_run:
            raise InvalidInputError(
                f"run_id {run_id!r} is not the run of source {source!r} ({src_run})",
                detail={"field": "run_id"},
            )
        run = self.mt.get_run(src_run)  # read access to the run, or it does not exist
        require(Permission.MODEL_REGISTER, self.principal, project or run.project)
        prefix = path + "/" if path else ""
        files = [
            {"path": ref.name, "sha256": ref.sha256, "size": ref.size}
            for ref in run.artifacts
            if ref.name == path or ref.name.startswith(prefix)
        ]
        if not files:
            raise InvalidInputError(
                f"run {run.id} has no artifacts under {path!r}", detail={"field": "source"}
            )
        experiment = self.mt.experiment_of_run(run)
        manifest = {
            "flavour": external.MLFLOW_FLAVOUR,
            "source": source,
            "run_id": run.id,
            "artifact_path": path,
            "model_id": logged_id,
            "download_uri": f"mlflow-artifacts:/{experiment}/{run.id}/artifacts/{path}".rstrip("/"),
            "files": sorted(files, key=lambda f: str(f["path"])),
        }
        pid = None if project else project_id(self.mt.store, run.project, self.ws.clock)
        checked = _checked(tags or {})
        created = external.register_reference(
            self.models,
            name,
            manifest,
            run_id=run.id,
            project_id=pid,
            description=description,
            actor=self.principal.name,
        )
        external.set_tags(self.models, name, created.version, checked, actor=self.principal.name)
        return created

    def version(self, name: str, version: int | str) -> ModelVersion:
        self._project(name)
        return self.models.get(f"{name}/{_number(version)}")

    def manifest(self, version: ModelVersion) -> dict[str, Any]:
        return external.manifest_of(self.models, version)

    def search_versions(self, filter: str, order_by: Sequence[str] = ()) -> list[ModelVersion]:
        node = parse_registry_filter(filter, ("name", "run_id", "source_path"))
        out = []
        for model in self.search_models(""):
            for v in self.models.versions(model.name):
                record = {
                    "name": v.model,
                    "run_id": v.run_id or "",
                    "source_path": self.manifest(v).get("source", ""),
                }
                tags = {**NOT_A_PROMPT, **model.tags.get(v.version, {})}
                if node is None or evaluate(node, {"attribute": record, "tag": tags}):
                    out.append(v)
        keys: dict[str, Callable[[ModelVersion], Any]] = {
            "name": lambda v: v.model,
            "version_number": lambda v: v.version,
            "creation_timestamp": lambda v: v.created_ms,
            "last_updated_timestamp": lambda v: v.created_ms,
            "run_id": lambda v: v.run_id or "",
        }
        return ordered(out, order_by, keys)

    def download_uri(self, name: str, version: int | str) -> str:
        found = self.version(name, version)
        uri = self.manifest(found).get("download_uri")
        if not uri:
            raise InvalidInputError(
                f"{found.ref} is a triops model (skops/ONNX), not an MLflow model: it has no MLflow artifacts",
                hint=f"download it with `triops models download {found.model} --version {found.version}`",
                detail={"field": "version"},
            )
        return str(uri)

    def transition(self, name: str, version: int | str, stage: str, archive_existing: bool) -> ModelVersion:
        target = mlflow_stage(stage)
        require(Permission.MODEL_STAGE, self.principal, self._project(name))
        moved = self.models.transition(f"{name}/{_number(version)}", target)
        if archive_existing and target in ("staging", "production"):
            for other in self.models.versions(name):
                if other.stage == target and other.version != moved.version:
                    self.models.transition(other.ref, "archived")
        return self.models.get(moved.ref)

    # -- aliases -------------------------------------------------------------------------------------------
    def set_alias(self, name: str, alias: str, version: int | str) -> None:
        require(Permission.MODEL_ALIAS, self.principal, self._project(name))
        self.models.set_alias(name, alias, _number(version))

    def delete_alias(self, name: str, alias: str) -> None:
        require(Permission.MODEL_ALIAS, self.principal, self._project(name))
        self.models.remove_alias(name, alias)

    def by_alias(self, name: str, alias: str) -> ModelVersion:
        self._project(name)
        return self.models.get(f"{name}@{alias}")


T = TypeVar("T")


def ordered(items: list[T], order_by: Sequence[str], keys: Mapping[str, Callable[[T], Any]]) -> list[T]:
    """``items`` sorted by MLflow ``order_by`` entries (``name``, ``version_number DESC``, …); an unknown
    field is an error naming it."""
    for entry in reversed(list(order_by)):
        parts = entry.split()
        field_name = parts[0].removeprefix("attributes.").removeprefix("attribute.") if parts else ""
        direction = parts[1].upper() if len(parts) > 1 else "ASC"
        if field_name not in keys or direction not in ("ASC", "DESC") or len(parts) > 2:
            raise InvalidInputError(
                f"order_by {entry!r} is not supported: use one of {', '.join(keys)} with ASC or DESC",
                detail={"field": "order_by"},
            )
        items = sorted(items, key=keys[field_name], reverse=direction == "DESC")
    return items


def _checked(tags: Mapping[str, str]) -> dict[str, str]:
    return {check_key(k, "tag key"): tag_text(k, v) for k, v in tags.items()}


def _number(version: int | str) -> int:
    text = str(version).strip()
    if not text.isdigit() or int(text) < 1:
        raise InvalidInputError(f"version {version!r} is not a version number", detail={"field": "version"})
    return int(text)


__all__ = ["PROJECT_TAG", "TO_MLFLOW", "MlflowRegistry", "RegisteredModelView", "mlflow_stage"]
