"""Model versions triops records but never loads: MLflow models, which are pickles.

An MLflow model version is a registry version of flavour ``mlflow`` (its ``model_type``). Its artifact is
a JSON *manifest* triops writes — the MLflow source (``runs:/…``, ``models:/…`` or ``mlflow-artifacts:…``),
the URI its files download from, its run, and each file's path, sha256 and size (the files themselves are
content-addressed run artifacts). Nothing here unpickles: ``records.require_loadable`` refuses such a
version wherever triops would load or serve a model. Stages, aliases, the audit log and the governance
guards are the registry's own (``ModelRegistry.transition`` / ``set_alias``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from triops.errors import ConflictError, NotFoundError
from triops.mlops.registry.records import ModelVersion, check_name
from triops.mlops.registry.service import ModelRegistry
from triops.mlops.registry.writes import add_version, new_model
from triops.store import audit
from triops.store.repositories import registry as repo
from triops.store.repositories import registry_external as ext_repo

MLFLOW_FLAVOUR = "mlflow"
MANIFEST_MEDIA_TYPE = "application/vnd.triops.mlflow-model+json"


def create_model(
    registry: ModelRegistry, name: str, *, project_id: str | None, description: str | None, actor: str
) -> None:
    """A registered model without versions yet (MLflow creates the model first); audited."""
    check_name(name, "model name")
    now = registry.now_ms()

    def write(conn: Any) -> None:
        if repo.model_row(conn, name, lock=True) is not None:
            raise ConflictError(
                f"registered model {name!r} already exists",
                detail={"field": "name", "mlflow_error_code": "RESOURCE_ALREADY_EXISTS"},
            )
        values = new_model(
            conn, name, project_id=project_id, description=description or None, actor=actor, now=now
        )
        audit.append_event(
            conn,
            actor=actor,
            action="model.create",
            object_type="model",
            object_id=name,
            before=None,
            after={"id": values["id"], "project_id": project_id},
            at_ms=now,
        )

    registry.store.write(write)


def register_reference(
    registry: ModelRegistry,
    name: str,
    manifest: Mapping[str, Any],
    *,
    run_id: str | None,
    project_id: str | None,
    description: str | None,
    actor: str,
    flavour: str = MLFLOW_FLAVOUR,
    imported: Mapping[str, Any] | None = None,
) -> ModelVersion:
    """The next version of ``name``, of ``flavour``, recording ``manifest`` (never a model's bytes);
    ``imported`` (where it came from) adds an ``mlflow.import`` audit event in the same transaction."""
    check_name(name, "model name")
    data = orjson.dumps(dict(manifest), option=orjson.OPT_SORT_KEYS)
    stored = registry.artifacts.put_bytes(data, MANIFEST_MEDIA_TYPE)
    now = registry.now_ms()

    def write(conn: Any) -> ModelVersion:
        repo.record_artifact(conn, stored, now)
        row = repo.model_row(conn, name, lock=True)
        if row is None:
            raise NotFoundError(f"registered model {name!r} does not exist", detail={"field": "name"})
        if row["project_id"] is None and project_id is not None:
            ext_repo.set_model_project(conn, str(row["id"]), project_id)
        fields = {
            "run_id": run_id,
            "artifact_sha256": stored.sha256,
            "onnx_note": f"a model of flavour {flavour!r}: recorded, never loaded by triops",
            "model_type": flavour,
            "description": description or None,
        }
        audited = {
            "flavour": flavour,
            "source": manifest.get("source"),
            "manifest_sha256": stored.sha256,
            "run_id": run_id,
        }
        version = add_version(conn, str(row["id"]), name, fields, audited=audited, actor=actor, now=now)
        if imported is not None:
            audit.append_event(
                conn,
                actor=actor,
                action="mlflow.import",
                object_type="model_version",
                object_id=version.ref,
                before=None,
                after=dict(imported),
                at_ms=now,
            )
        return version

    return registry.store.write(write)


def manifest_of(registry: ModelRegistry, version: ModelVersion) -> dict[str, Any]:
    """The manifest of a foreign-flavour version (JSON triops wrote; never a model file)."""
    if version.model_type != MLFLOW_FLAVOUR:
        return {}
    loaded = orjson.loads(registry.artifacts.get_bytes(version.artifact_sha256))
    return loaded if isinstance(loaded, dict) else {}


def describe(registry: ModelRegistry, name: str, version: int | None, text: str, *, actor: str) -> None:
    """Set the description of a model (``version`` None) or of one version; audited."""
    now = registry.now_ms()
    target = registry.get(f"{name}/{version}") if version is not None else None

    def write(conn: Any) -> None:
        row = repo.model_row(conn, name)
        if row is None:
            raise NotFoundError(f"registered model {name!r} does not exist", detail={"field": "name"})
        if target is None:
            ext_repo.set_model_description(conn, str(row["id"]), text or None)
        else:
            ext_repo.set_version_description(conn, target.id, text or None)
        audit.append_event(
            conn,
            actor=actor,
            action="model.describe",
            object_type="model" if target is None else "model_version",
            object_id=name if target is None else target.ref,
            before=None,
            after={"description": text},
            at_ms=now,
        )

    registry.store.write(write)


def _model_id(conn: Any, name: str) -> str:
    row = repo.model_row(conn, name)
    if row is None:
        raise NotFoundError(f"registered model {name!r} does not exist", detail={"field": "name"})
    return str(row["id"])


def set_tags(
    registry: ModelRegistry, name: str, version: int, values: Mapping[str, str], *, actor: str
) -> None:
    """Tag a model (``version`` 0) or one of its versions; one audited write."""
    if not values:
        return
    if version:
        registry.get(f"{name}/{version}")  # NotFound names the versions there are
    now = registry.now_ms()

    def write(conn: Any) -> None:
        model_id = _model_id(conn, name)
        for key, value in values.items():
            ext_repo.set_tag(conn, model_id, version, key, value)
        audit.append_event(
            conn,
            actor=actor,
            action="model.tag.set",
            object_type="model_version" if version else "model",
            object_id=f"{name}/{version}" if version else name,
            before=None,
            after=dict(values),
            at_ms=now,
        )

    registry.store.write(write)


def delete_tag(registry: ModelRegistry, name: str, version: int, key: str, *, actor: str) -> None:
    now = registry.now_ms()

    def write(conn: Any) -> None:
        if not ext_repo.delete_tag(conn, _model_id(conn, name), version, key):
            raise NotFoundError(
                f"no tag {key!r} on {name}{f'/{version}' if version else ''}", detail={"field": "key"}
            )
        audit.append_event(
            conn,
            actor=actor,
            action="model.tag.delete",
            object_type="model_version" if version else "model",
            object_id=f"{name}/{version}" if version else name,
            before={"key": key},
            after=None,
            at_ms=now,
        )

    registry.store.write(write)


def rename(registry: ModelRegistry, name: str, new_name: str, *, actor: str) -> None:
    """Rename a model (its versions, aliases and tags follow: they hang off its id); audited."""
    check_name(new_name, "model name")
    now = registry.now_ms()

    def write(conn: Any) -> None:
        model_id = _model_id(conn, name)
        if repo.model_row(conn, new_name) is not None:
            raise ConflictError(
                f"registered model {new_name!r} already exists",
                detail={"field": "new_name", "mlflow_error_code": "RESOURCE_ALREADY_EXISTS"},
            )
        ext_repo.rename_model(conn, model_id, new_name)
        audit.append_event(
            conn,
            actor=actor,
            action="model.rename",
            object_type="model",
            object_id=new_name,
            before={"name": name},
            after={"name": new_name, "id": model_id},
            at_ms=now,
        )

    registry.store.write(write)


def tags_of(registry: ModelRegistry, name: str) -> dict[int, dict[str, str]]:
    with registry.store.connect() as conn:
        return ext_repo.tags(conn, _model_id(conn, name))


__all__ = [
    "MANIFEST_MEDIA_TYPE",
    "MLFLOW_FLAVOUR",
    "create_model",
    "delete_tag",
    "describe",
    "manifest_of",
    "register_reference",
    "rename",
    "set_tags",
    "tags_of",
]
