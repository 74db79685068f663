"""MLflow model-registry routes (``model_registry.proto``), thin over ``MlflowRegistry``.

Registered models and model versions are triops registry records (see ``workspace.mlflow_registry``);
deletes answer ``NOT_IMPLEMENTED`` naming them (triops keeps every version).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from triops.mlops.registry.records import ModelVersion
from triops.server.mlflow.requests import KeyValue, Message, TrackingDep, next_token, page_offset, parse
from triops.workspace.mlflow import MlflowTracking
from triops.workspace.mlflow_registry import TO_MLFLOW, MlflowRegistry, RegisteredModelView

router = APIRouter()
RM = "/mlflow/registered-models"
MV = "/mlflow/model-versions"


def registry(mt: TrackingDep) -> MlflowRegistry:
    return MlflowRegistry(mt)


RegistryDep = Annotated[MlflowRegistry, Depends(registry)]


def version_to_wire(reg: MlflowRegistry, v: ModelVersion) -> dict[str, Any]:
    manifest = reg.manifest(v)
    out: dict[str, Any] = {
        "name": v.model,
        "version": str(v.version),
        "creation_timestamp": v.created_ms,
        "last_updated_timestamp": v.created_ms,
        "user_id": v.created_by,
        "current_stage": TO_MLFLOW.get(v.stage, v.stage),
        "description": v.description or "",
        "source": manifest.get("source", f"triops:/models/{v.model}/{v.version}"),
        "run_id": v.run_id or "",
        "status": "READY",
        "tags": [{"key": k, "value": val} for k, val in reg.version_tags(v).items()],
        "aliases": list(v.aliases),
    }
    if manifest.get("model_id"):
        out["model_id"] = manifest["model_id"]
    return out


def model_to_wire(reg: MlflowRegistry, m: RegisteredModelView) -> dict[str, Any]:
    return {
        "name": m.name,
        "creation_timestamp": m.created_ms,
        "last_updated_timestamp": m.updated_ms,
        "user_id": m.user,
        "description": m.description or "",
        "latest_versions": [version_to_wire(reg, v) for v in m.latest],
        "tags": [{"key": k, "value": v} for k, v in m.tags.get(0, {}).items()],
        "aliases": [{"alias": a, "version": str(n)} for a, n in m.aliases.items()],
    }


class Name(Message):
    name: str


class CreateModel(Message):
    name: str
    description: str = ""
    tags: list[KeyValue] = Field(default_factory=list, max_length=1000)


class UpdateModel(Message):
    name: str
    description: str = ""


class Search(Message):
    filter: str = ""
    max_results: int = Field(default=100, ge=1, le=10_000)
    order_by: list[str] = Field(default_factory=list, max_length=10)
    page_token: str | None = None


class LatestVersions(Message):
    name: str
    stages: list[str] = Field(default_factory=list, max_length=10)


class CreateVersion(Message):
    name: str
    source: str
    run_id: str = ""
    description: str = ""
    model_id: str = ""
    tags: list[KeyValue] = Field(default_factory=list, max_length=1000)


class VersionRef(Message):
    name: str
    version: str


class UpdateVersion(VersionRef):
    description: str = ""


class Transition(VersionRef):
    stage: str
    archive_existing_versions: bool = False


class Alias(Message):
    name: str
    alias: str


class SetAlias(Alias):
    version: str


@router.post(f"{RM}/create")
async def create_model(request: Request, reg: RegistryDep) -> dict[str, Any]:
    b = await parse(request, CreateModel)
    model = reg.create_model(b.name, b.description, {t.key: t.value for t in b.tags})
    return {"registered_model": model_to_wire(reg, model)}


@router.get(f"{RM}/get")
async def get_model(request: Request, reg: RegistryDep) -> dict[str, Any]:
    b = await parse(request, Name)
    return {"registered_model": model_to_wire(reg, reg.model(b.name))}


@router.patch(f"{RM}/update")
async def update_model(request: Request, reg: RegistryDep) -> dict[str, Any]:
    b = await parse(request, UpdateModel)
    reg.describe(b.name, None, b.description)
    return {"registered_model": model_to_wire(reg, reg.model(b.name))}


class Rename(Message):
    name: str
    new_name: str


@router.post(f"{RM}/rename")
async def rename_model(request: Request, reg: RegistryDep) -> dict[str, Any]:
    b = await parse(request, Rename)
    return {"registered_model": model_to_wire(reg, reg.rename(b.name, b.new_name))}


@router.get(f"{RM}/search")
async def search_models(request: Request, reg: RegistryDep) -> dict[str, Any]:
    b = await parse(request, Search, lists=("order_by",))
    offset = page_offset(b.page_token)
    found = reg.search_models(b.filter, b.order_by)
    page = found[offset : offset + b.max_results]
    return {
        "registered_models": [model_to_wire(reg, m) for m in page],
        **next_token(offset, len(page), b.max_results),
    }


@router.post(f"{RM}/get-latest-versions")
@router.get(f"{RM}/get-latest-versions")
async def latest_versions(request: Request, reg: RegistryDep) -> dict[str, Any]:
    b = await parse(request, LatestVersions, lists=("stages",))
    return {"model_versions": [version_to_wire(reg, v) for v in reg.latest_versions(b.name, b.stages)]}


@router.post(f"{MV}/create")
async def create_version(request: Request, reg: RegistryDep) -> dict[str, Any]:
    b = await parse(request, CreateVersion)
    tags = {t.key: t.value for t in b.tags}
    version = reg.create_version(b.name, b.source, b.run_id, b.description, b.model_id, tags)
    return {"model_version": version_to_wire(reg, version)}


@router.get(f"{MV}/get")
async def get_version(request: Request, reg: RegistryDep) -> dict[str, Any]:
    b = await parse(request, VersionRef)
    return {"model_version": version_to_wire(reg, reg.version(b.name, b.version))}


@router.patch(f"{MV}/update")
async def update_version(request: Request, reg: RegistryDep) -> dict[str, Any]:
    b = await parse(request, UpdateVersion)
    reg.describe(b.name, int(reg.version(b.name, b.version).version), b.description)
    return {"model_version": version_to_wire(reg, reg.version(b.name, b.version))}


@router.get(f"{MV}/search")
async def search_versions(request: Request, reg: RegistryDep) -> dict[str, Any]:
    b = await parse(request, Search, lists=("order_by",))
    offset = page_offset(b.page_token)
    found = reg.search_versions(b.filter, b.order_by)
    page = found[offset : offset + b.max_results]
    return {
        "model_versions": [version_to_wire(reg, v) for v in page],
        **next_token(offset, len(page), b.max_results),
    }


@router.get(f"{MV}/get-download-uri")
async def download_uri(request: Request, reg: RegistryDep) -> dict[str, Any]:
    b = await parse(request, VersionRef)
    return {"artifact_uri": reg.download_uri(b.name, b.version)}


@router.post(f"{MV}/transition-stage")
async def transition(request: Request, reg: RegistryDep) -> dict[str, Any]:
    b = await parse(request, Transition)
    moved = reg.transition(b.name, b.version, b.stage, b.archive_existing_versions)
    return {"model_version": version_to_wire(reg, moved)}


class ModelTag(Message):
    name: str
    key: str
    value: str = ""


class VersionTag(ModelTag):
    version: str


@router.post(f"{RM}/set-tag")
async def set_model_tag(request: Request, reg: RegistryDep) -> dict[str, Any]:
    b = await parse(request, ModelTag)
    reg.set_tag(b.name, None, b.key, b.value)
    return {}


@router.delete(f"{RM}/delete-tag")
async def delete_model_tag(request: Request, reg: RegistryDep) -> dict[str, Any]:
    b = await parse(request, ModelTag)
    reg.delete_tag(b.name, None, b.key)
    return {}


@router.post(f"{MV}/set-tag")
async def set_version_tag(request: Request, reg: RegistryDep) -> dict[str, Any]:
    b = await parse(request, VersionTag)
    reg.set_tag(b.name, b.version, b.key, b.value)
    return {}


@router.delete(f"{MV}/delete-tag")
async def delete_version_tag(request: Request, reg: RegistryDep) -> dict[str, Any]:
    b = await parse(request, VersionTag)
    reg.delete_tag(b.name, b.version, b.key)
    return {}


@router.post(f"{RM}/alias")
async def set_alias(request: Request, reg: RegistryDep) -> dict[str, Any]:
    b = await parse(request, SetAlias)
    reg.set_alias(b.name, b.alias, b.version)
    return {}


@router.delete(f"{RM}/alias")
async def delete_alias(request: Request, reg: RegistryDep) -> dict[str, Any]:
    b = await parse(request, Alias)
    reg.delete_alias(b.name, b.alias)
    return {}


@router.get(f"{RM}/alias")
async def by_alias(request: Request, reg: RegistryDep) -> dict[str, Any]:
    b = await parse(request, Alias)
    return {"model_version": version_to_wire(reg, reg.by_alias(b.name, b.alias))}


__all__ = ["MlflowTracking", "router"]
