"""MLflow 3 logged-model routes (``service.proto``: CreateLoggedModel … SearchLoggedModels, LogOutputs), thin
over ``MlflowLoggedModels``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field

from triops.server.mlflow.requests import KeyValue, Message, TrackingDep, next_token, page_offset, parse
from triops.workspace.mlflow_models import LoggedModel, MlflowLoggedModels

router = APIRouter()
L = "/mlflow/logged-models"


def model_to_wire(model: LoggedModel) -> dict[str, Any]:
    return {
        "info": {
            "model_id": model.id,
            "experiment_id": model.experiment_id,
            "name": model.name,
            "creation_timestamp_ms": model.created_ms,
            "last_updated_timestamp_ms": model.updated_ms,
            "artifact_uri": f"mlflow-artifacts:/{model.experiment_id}/{model.run_id}/artifacts/{model.name}",
            "status": model.status,
            "model_type": model.model_type,
            "source_run_id": model.run_id,
            "tags": [{"key": k, "value": v} for k, v in model.tags.items()],
        },
        "data": {"params": [{"key": k, "value": v} for k, v in model.params.items()], "metrics": []},
    }


class CreateModel(Message):
    experiment_id: str = ""
    name: str = ""
    model_type: str = ""
    source_run_id: str = ""
    params: list[KeyValue] = Field(default_factory=list, max_length=1000)
    tags: list[KeyValue] = Field(default_factory=list, max_length=1000)


class Finalize(Message):
    status: str


class Tags(Message):
    tags: list[KeyValue] = Field(default_factory=list, max_length=1000)


class Params(Message):
    params: list[KeyValue] = Field(default_factory=list, max_length=1000)


class Search(Message):
    experiment_ids: list[str] = Field(default_factory=list, max_length=1000)
    filter: str = ""
    max_results: int = Field(default=100, ge=1, le=10_000)
    page_token: str | None = None


class ModelRef(Message):
    model_id: str
    step: int = 0


class Outputs(Message):
    run_id: str
    models: list[ModelRef] = Field(default_factory=list, max_length=1000)


@router.post(L)
async def create(request: Request, mt: TrackingDep) -> dict[str, Any]:
    b = await parse(request, CreateModel)
    model = MlflowLoggedModels(mt).create(
        b.experiment_id,
        b.name,
        b.source_run_id,
        b.model_type,
        {t.key: t.value for t in b.tags},
        {p.key: p.value for p in b.params},
    )
    return {"model": model_to_wire(model)}


@router.post(f"{L}/search")
async def search(request: Request, mt: TrackingDep) -> dict[str, Any]:
    b = await parse(request, Search)
    offset = page_offset(b.page_token)
    found = MlflowLoggedModels(mt).search(b.experiment_ids, b.filter)
    page = found[offset : offset + b.max_results]
    return {"models": [model_to_wire(m) for m in page], **next_token(offset, len(page), b.max_results)}


@router.get(f"{L}/{{model_id}}")
def get(mt: TrackingDep, model_id: str) -> dict[str, Any]:
    return {"model": model_to_wire(MlflowLoggedModels(mt).get(model_id))}


@router.patch(f"{L}/{{model_id}}")
async def finalize(request: Request, mt: TrackingDep, model_id: str) -> dict[str, Any]:
    b = await parse(request, Finalize)
    return {"model": model_to_wire(MlflowLoggedModels(mt).update(model_id, status=b.status))}


@router.patch(f"{L}/{{model_id}}/tags")
async def set_tags(request: Request, mt: TrackingDep, model_id: str) -> dict[str, Any]:
    b = await parse(request, Tags)
    MlflowLoggedModels(mt).update(model_id, tags={t.key: t.value for t in b.tags})
    return {}


@router.post(f"{L}/{{model_id}}/params")
async def log_params(request: Request, mt: TrackingDep, model_id: str) -> dict[str, Any]:
    b = await parse(request, Params)
    MlflowLoggedModels(mt).update(model_id, params={p.key: p.value for p in b.params})
    return {}


@router.post("/mlflow/runs/outputs")
async def log_outputs(request: Request, mt: TrackingDep) -> dict[str, Any]:
    """The run's output models: a logged model is already its source run's, so this checks the link."""
    b = await parse(request, Outputs)
    mt.check_artifact_write(b.run_id)
    models = MlflowLoggedModels(mt)
    for ref in b.models:
        models.get(ref.model_id)
    return {}
