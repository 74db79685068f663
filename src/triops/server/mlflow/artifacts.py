"""MLflow's proxied artifact routes (``mlflow_artifacts.proto``) on triops' content-addressed artifacts.

A run's ``artifact_uri`` is ``mlflow-artifacts:/<experiment id>/<run id>/artifacts``; the client turns it
into ``/api/2.0/mlflow-artifacts/artifacts/<experiment id>/<run id>/artifacts/<path>``. An upload (PUT) is
streamed to disk under ``max_artifact_bytes`` and recorded as the run's artifact named ``<path>``; a
download streams the blob back (re-hashed on read by the artifact store); a listing shows the entries
directly under a path. Permissions are the run's: ``run.write`` to upload, ``project.read`` to read.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from triops.artifacts import ArtifactTooLarge
from triops.domain.validation import check_key
from triops.errors import InvalidInputError
from triops.server.http import OCTET, check_download_name, etag_of
from triops.server.mlflow.requests import Message, TrackingDep, parse

router = APIRouter()
A = "/mlflow-artifacts/artifacts"


def _split(path: str) -> tuple[str, str]:
    """(run id, path inside the run's artifacts) of an mlflow-artifacts path."""
    parts = path.strip("/").split("/", 3)
    if len(parts) >= 2 and parts[1] == "models":
        raise InvalidInputError(
            "logged-model artifacts (mlflow-artifacts:/<experiment>/models/...) are not supported by triops",
            hint="log models as run artifacts (MLflow 2 style) or register them with triops models",
            detail={"mlflow_error_code": "NOT_IMPLEMENTED", "field": "path"},
        )
    if len(parts) < 3 or parts[2] != "artifacts":
        raise InvalidInputError(
            f"artifact path {path[:200]!r} is not <experiment id>/<run id>/artifacts[/<path>]",
            detail={"field": "path"},
        )
    inner = parts[3] if len(parts) == 4 else ""
    if inner:
        check_download_name(inner, "artifact path")
    return parts[1], inner


@router.put(f"{A}/{{path:path}}")
async def upload(request: Request, mt: TrackingDep, path: str) -> dict[str, Any]:
    run_id, name = _split(path)
    if not name:
        raise InvalidInputError("an upload needs a file path after /artifacts/", detail={"field": "path"})
    check_key(name, "artifact path")
    mt.check_artifact_write(run_id)
    ws = mt.ws
    limit = ws.settings.max_artifact_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ArtifactTooLarge(
            f"the artifact is {int(declared):,} bytes; the limit is {limit:,}",
            hint="raise TRIOPS_MAX_ARTIFACT_BYTES on the server",
        )
    media_type = request.headers.get("content-type", OCTET)
    with ws.artifacts.writer(max_bytes=limit) as out:
        async for chunk in request.stream():
            out.write(chunk)
        stored = out.commit(media_type)
    mt.attach_artifact(run_id, name, stored)
    return {}


@router.get(f"{A}/{{path:path}}")
def download(request: Request, mt: TrackingDep, path: str) -> Response:
    run_id, name = _split(path)
    ref = mt.artifact(run_id, name)
    chunks = mt.ws.artifacts.stream(ref.sha256)  # checked against its sha256 (ArtifactStore.stream)
    headers = {"ETag": etag_of(ref.sha256), "X-Content-Type-Options": "nosniff"}
    return StreamingResponse(chunks, media_type=OCTET, headers=headers)


class ListRequest(Message):
    path: str = ""


@router.get(A)
async def list_proxied(request: Request, mt: TrackingDep) -> dict[str, Any]:
    body = await parse(request, ListRequest)
    run_id, inner = _split(body.path)
    files = []
    for name, is_dir, size in mt.list_artifacts(run_id, inner):
        entry: dict[str, Any] = {"path": name, "is_dir": is_dir}
        if size is not None:
            entry["file_size"] = size
        files.append(entry)
    return {"files": files}


class TrackingListRequest(Message):
    run_id: str = ""
    run_uuid: str = ""
    path: str = ""
    page_token: str | None = None


@router.get("/mlflow/artifacts/list")
async def list_tracking(request: Request, mt: TrackingDep) -> dict[str, Any]:
    """The tracking service's ListArtifacts: paths relative to the run's artifact root."""
    body = await parse(request, TrackingListRequest)
    run_id = body.run_id or body.run_uuid
    run = mt.get_run(run_id)
    prefix = body.path.strip("/")
    files = []
    for name, is_dir, size in mt.list_artifacts(run_id, prefix):
        entry: dict[str, Any] = {"path": f"{prefix}/{name}" if prefix else name, "is_dir": is_dir}
        if size is not None:
            entry["file_size"] = size
        files.append(entry)
    root = f"mlflow-artifacts:/{mt.experiment_of_run(run)}/{run_id}/artifacts"
    return {"root_uri": root, "files": files}
