"""Artifacts API: upload a run's artifact as the raw request body, streamed to disk under its own size limit;
download by run and name or by sha256, streamed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response, StreamingResponse

from triops.artifacts import ArtifactTooLarge
from triops.domain.validation import check_key
from triops.errors import NotFoundError
from triops.governance.rbac import Permission
from triops.mlops.tracking.active_run import StoreTrackingSink
from triops.server.auth import PrincipalDep
from triops.server.authz import authorize_run, roles_of
from triops.store.repositories.runs import projects_with_artifact

router = APIRouter(tags=["artifacts"])


@router.put("/runs/{run_id}/artifacts/{name:path}", status_code=201)
async def upload_artifact(request: Request, who: PrincipalDep, run_id: str, name: str) -> dict[str, Any]:
    """The body is the artifact, streamed to disk in chunks (never held in memory) up to
    ``max_artifact_bytes``; the JSON body limit does not apply here."""
    check_key(name, "artifact name")
    authorize_run(request, who, Permission.RUN_WRITE, run_id)
    ws = request.app.state.workspace
    limit = ws.settings.max_artifact_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ArtifactTooLarge(
            f"the artifact is {int(declared):,} bytes; the limit is {limit:,}",
            hint="raise TRIOPS_MAX_ARTIFACT_BYTES on the server, or store it elsewhere",
        )
    media_type = request.headers.get("content-type", "application/octet-stream")
    with ws.artifacts.writer(max_bytes=limit) as out:
        async for chunk in request.stream():
            out.write(chunk)
        stored = out.commit(media_type)
    StoreTrackingSink(ws.store, ws.artifacts, ws.clock, None).attach_artifact(run_id, name, stored)
    return {"name": name, "sha256": stored.sha256, "size": stored.size, "media_type": stored.media_type}


def _blob_response(ws: Any, sha256: str, media_type: str) -> Response:
    """A file response from a local root, else the blob streamed in chunks; never read whole."""
    path = ws.artifacts.local_path(sha256)
    if path is not None:
        if not path.is_file():
            ws.artifacts.get_bytes(sha256)  # raises the NotFoundError that names the artifact
        return FileResponse(path, media_type=media_type)

    def chunks() -> Iterator[bytes]:
        with ws.artifacts.open(sha256) as handle:
            while chunk := handle.read(1 << 20):
                yield chunk

    return StreamingResponse(chunks(), media_type=media_type)


@router.get("/runs/{run_id}/artifacts/{name:path}")
def download_run_artifact(request: Request, who: PrincipalDep, run_id: str, name: str) -> Response:
    authorize_run(request, who, Permission.PROJECT_READ, run_id)
    ws = request.app.state.workspace
    run = ws.runs.get(run_id)
    for ref in run.artifacts:
        if ref.name == name:
            return _blob_response(ws, ref.sha256, ref.media_type)
    names = ", ".join(a.name for a in run.artifacts) or "none"
    raise NotFoundError(f"run {run_id} has no artifact named {name!r}", hint=f"its artifacts: {names}")


@router.get("/artifacts/{sha256}")
def download_artifact(request: Request, who: PrincipalDep, sha256: str) -> Response:
    ws = request.app.state.workspace
    principal = roles_of(request, who)
    with ws.store.connect() as conn:
        owners = projects_with_artifact(conn, sha256)
    if not any(principal.can(Permission.PROJECT_READ, p) for p in owners):
        raise NotFoundError(f"no artifact {sha256} in a project you can read", hint="check the sha256")
    return _blob_response(ws, sha256, "application/octet-stream")
