"""Models API: the registry over HTTP (list, versions, get, register a skops file, stage, alias, card,
evaluations, download). Thin over ``ws.models``; the model's project decides who may read or change it."""

from __future__ import annotations

import hashlib
import io
import json
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError

from triops.errors import InvalidInputError
from triops.governance.rbac import Permission
from triops.server.authz import ActingDep, readable, require_in
from triops.server.http import PROBLEMS, SafeJSONResponse, download, immutable_json
from triops.server.pagination import CursorQuery, LimitQuery, Listing, PageOut, paginate
from triops.server.schemas import (
    MAX_LIST,
    Currency,
    ModelName,
    Name,
    NonNegInt64,
    ProjectName,
    Text,
    Version,
)
from triops.workspace import Workspace
from triops.workspace.projects import model_project, project_id

if TYPE_CHECKING:
    from triops.mlops.registry.records import ModelVersion

router = APIRouter(prefix="/models", tags=["models"], responses=PROBLEMS)
MAX_SAMPLE_ROWS = 10_000


class ModelMetadata(BaseModel):
    """What a registration says about the model file it uploads (all optional)."""

    project: ProjectName | None = None
    description: Text | None = None
    signature: dict[str, Any] | None = None
    run_id: Name | None = None
    datasets: list[Name] = Field(default_factory=list, max_length=MAX_LIST)
    evaluation_datasets: list[Name] = Field(default_factory=list, max_length=MAX_LIST)
    git_commit: Annotated[str, Field(pattern=r"^[0-9a-f]{40,64}$")] | None = None
    cost_to_train_micros: NonNegInt64 | None = None
    currency: Currency | None = None
    onnx: bool = True


class StageChange(BaseModel):
    stage: Literal["development", "staging", "production", "archived"]


class AliasChange(BaseModel):
    version: Version


def _read_model(ws: Workspace, name: str) -> str | None:
    project = model_project(ws.store, name)
    readable(ws, project, f"model {name!r}")
    return project


def _version_out(version: ModelVersion) -> dict[str, Any]:
    return version.to_dict()


def _version_response(version: ModelVersion) -> SafeJSONResponse:
    """A version as the response itself: its dict is plain JSON already, and FastAPI would validate and
    encode it again (a third of a registry read's time in the framework)."""
    return SafeJSONResponse(version.to_dict())


# The registry's reads are ``async`` routes that read the store inline: a read takes a millisecond or two
# (WAL readers never wait for a lock), less than the hop to a worker thread and back, whose wake-ups made
# most of a round trip on a busy machine. Writes stay plain ``def`` routes: they may wait for the write lock.


@router.get("", response_model=PageOut)
async def list_models(ws: ActingDep, limit: LimitQuery = 100, cursor: CursorQuery = None) -> SafeJSONResponse:
    """Every model you can read: latest version, its stage, aliases. (Returned as a response: FastAPI
    would validate the page against PageOut again.)"""
    rows = ws.models.list_models()  # only models in projects you can read (filtered in the query)
    page = paginate(rows, lambda r: (r["name"],), Listing.of("models"), cursor, limit)
    return SafeJSONResponse(page.out(lambda r: r))


@router.get("/{name}", summary="The latest version of a model", response_model=dict[str, Any])
async def get_latest(ws: ActingDep, name: ModelName) -> SafeJSONResponse:
    return _version_response(ws.models.get(name))  # ws.models refuses a model you cannot read (404)


@router.get("/{name}/versions", response_model=PageOut)
def list_versions(
    ws: ActingDep, name: ModelName, limit: LimitQuery = 100, cursor: CursorQuery = None
) -> dict[str, Any]:
    _read_model(ws, name)
    page = paginate(
        ws.models.versions(name),
        lambda v: (v.version,),
        Listing.of("model-versions", name=name),
        cursor,
        limit,
    )
    return page.out(_version_out)


@router.get("/{name}/versions/{version}", response_model=dict[str, Any])
async def get_version(ws: ActingDep, name: ModelName, version: Version) -> SafeJSONResponse:
    return _version_response(ws.models.get(f"{name}/{version}"))  # ws.models refuses a model you cannot read


@router.get("/{name}/aliases/{alias}")
def get_alias(ws: ActingDep, name: ModelName, alias: ModelName) -> dict[str, Any]:
    _read_model(ws, name)
    return _version_out(ws.models.get(f"{name}@{alias}"))


def _metadata(text: str) -> ModelMetadata:
    try:
        return ModelMetadata.model_validate_json(text or "{}")
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'metadata'}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidInputError(
            f"invalid model metadata: {problems}",
            hint="send metadata as a JSON object",
            detail={"field": "metadata"},
        ) from None


def _sample(data: bytes | None) -> Any:
    if not data:
        return None
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise InvalidInputError(
            f"the sample is not a Parquet file: {exc}", hint="send the training features as Parquet"
        ) from None
    if table.num_rows > MAX_SAMPLE_ROWS:
        raise InvalidInputError(
            f"the sample has {table.num_rows} rows; the limit is {MAX_SAMPLE_ROWS}",
            detail={"field": "sample", "limit": MAX_SAMPLE_ROWS},
        )
    return table.to_pandas()


@router.post("/{name}/versions", status_code=201)
async def register_version(
    ws: ActingDep,
    name: ModelName,
    file: Annotated[UploadFile, File(description="the model as a skops file")],
    metadata: Annotated[str, Form(max_length=1_000_000, description="ModelMetadata as JSON")] = "{}",
    sample: Annotated[
        UploadFile | None, File(description="training features as Parquet (signature, ONNX)")
    ] = None,
) -> dict[str, Any]:
    """Register an uploaded skops file as the next version of ``name``. The file is loaded with the
    allow-list loader first: anything that is not a skops archive of trusted types is refused (422)."""
    from triops.mlops.registry.serialization import load_model
    from triops.mlops.registry.signature import Signature

    meta = _metadata(metadata)
    from triops.store.repositories import registry as registry_repo

    with ws.store.connect() as conn:
        is_new = registry_repo.model_row(conn, name) is None
    existing = model_project(ws.store, name)
    project = meta.project or existing
    if not is_new:  # a new model's first version needs model.register in its project, not a global read
        readable(ws, existing, f"model {name!r}")
    require_in(ws, Permission.MODEL_REGISTER, project)
    if meta.run_id is not None:
        readable(ws, ws.runs.get(meta.run_id).project, f"run {meta.run_id!r}")
    model = load_model(await file.read(), ws.models.trusted, blob=f"upload {file.filename or name!r}")
    frame = _sample(await sample.read() if sample is not None else None)
    signature = Signature.from_dict(meta.signature) if meta.signature else None
    version = ws.models.register(
        name,
        model,
        training_frame=frame,
        signature=signature,
        run_id=meta.run_id,
        datasets=meta.datasets,
        evaluation_datasets=meta.evaluation_datasets,
        git_commit=meta.git_commit,
        cost_to_train_micros=meta.cost_to_train_micros,
        currency=meta.currency,
        project_id=project_id(ws.store, project, ws.clock) if project and existing is None else None,
        description=meta.description,
        onnx=meta.onnx,
    )
    return _version_out(version)


@router.put("/{name}/versions/{version}/stage", response_model=dict[str, Any])
def set_stage(ws: ActingDep, name: ModelName, version: Version, body: StageChange) -> SafeJSONResponse:
    """Move a version to a stage; the stage gate's policies and approvals apply (409 when blocked). ``ws.models``
    checks that the model is readable (404) and ``model.stage`` in its project (403)."""
    return _version_response(ws.models.transition(f"{name}/{version}", body.stage))


@router.put("/{name}/aliases/{alias}")
def set_alias(ws: ActingDep, name: ModelName, alias: ModelName, body: AliasChange) -> dict[str, Any]:
    return _version_out(ws.models.set_alias(name, alias, body.version))


@router.delete("/{name}/aliases/{alias}", status_code=204, response_model=None, response_class=Response)
def delete_alias(ws: ActingDep, name: ModelName, alias: ModelName) -> None:
    ws.models.remove_alias(name, alias)


CardFormat = Literal["md", "html", "json"]
_CARD_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "json": "application/json",
}


def _card_response(request: Request, text: str, fmt: str) -> Response:
    if fmt == "json":
        stable = json.loads(text)
        stable.pop("generated", None)  # the build time is not part of the content
        digest = hashlib.sha256(json.dumps(stable, sort_keys=True).encode()).hexdigest()
        return immutable_json(request, text.encode(), digest)
    response = Response(text, media_type=_CARD_TYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="card.{fmt}"'
    return response


@router.get("/{name}/versions/{version}/card")
def get_card(
    request: Request, ws: ActingDep, name: ModelName, version: Version, format: CardFormat = "md"
) -> Response:
    """The model card as Markdown, HTML (as an attachment: never rendered in place) or JSON (with an ETag)."""
    _read_model(ws, name)
    return _card_response(request, ws.models.card(f"{name}/{version}", format), format)


@router.post("/{name}/versions/{version}/card")
def regenerate_card(
    request: Request, ws: ActingDep, name: ModelName, version: Version, format: CardFormat = "md"
) -> Response:
    """Regenerate and store the card (human sections are kept), then return it."""
    project = _read_model(ws, name)
    require_in(ws, Permission.MODEL_REGISTER, project)
    return _card_response(request, ws.models.card(f"{name}/{version}", format, regenerate=True), format)


@router.get("/{name}/versions/{version}/evaluations", response_model=PageOut)
def evaluations(
    ws: ActingDep, name: ModelName, version: Version, limit: LimitQuery = 100, cursor: CursorQuery = None
) -> dict[str, Any]:
    _read_model(ws, name)
    rows = ws.models.evaluations(f"{name}/{version}")
    listing = Listing.of("model-evaluations", name=name, version=version)
    # newest first: the key sorts descending creation time, then id
    page = paginate(
        rows, lambda r: (int(r["created_ms"]), str(r["id"])), listing, cursor, limit, descending=True
    )
    return page.out(lambda r: json.loads(json.dumps(r, default=str)))


@router.get("/{name}/versions/{version}/completeness")
def card_completeness(ws: ActingDep, name: ModelName, version: Version) -> dict[str, float | None]:
    _read_model(ws, name)
    return {"completeness": ws.models.card_completeness(f"{name}/{version}")}


@router.get("/{name}/versions/{version}/file", response_class=Response)
def download_model(
    request: Request,
    ws: ActingDep,
    name: ModelName,
    version: Version,
    kind: Annotated[
        Literal["skops", "onnx"], Query(description="the skops file or its ONNX export")
    ] = "skops",
) -> Response:
    """The model file as an attachment, with its sha256 as ETag (304 on If-None-Match)."""
    _read_model(ws, name)
    found, data = ws.models.model_bytes(f"{name}/{version}")
    if kind == "onnx":
        if found.onnx_sha256 is None:
            from triops.errors import NotFoundError

            raise NotFoundError(f"{found.ref} has no ONNX export", hint=found.onnx_note or "")
        return download(
            request,
            ws.models.artifacts.get_bytes(found.onnx_sha256),
            f"{name}-{version}.onnx",
            found.onnx_sha256,
        )
    return download(request, data, f"{name}-{version}.skops", found.artifact_sha256)
