"""Artifacts API: upload a run's artifact as the raw request body, streamed to disk under its own size limit;
download by run and name or by sha256, streamed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from triops.artifacts import ArtifactTooLarge
from triops.domain.validation import check_key
from triops.errors import NotFoundError
from triops.governance.rbac import Permission
from triops.mlops.tracking.active_run import StoreTrackingSink
from triops.server.auth import PrincipalDep
from triops.server.authz import authorize_run, roles_of, stored_run
from triops.server.http import OCTET, PROBLEMS, check_download_name, disposition, etag_of, not_modified
from triops.store.repositories.runs import projects_with_artifact

router = APIRouter(tags=["artifacts"], responses=PROBLEMS)


@router.put("/runs/{run_id}/artifacts/{name:path}", status_code=201)
async def upload_artifact(request: Request, who: PrincipalDep, run_id: str, name: str) -> dict[str, Any]:
    """The body is the artifact, streamed to disk in chunks (never held in memory) up to
    ``max_artifact_bytes``; the JSON body limit does not apply here."""
    check_key(name, "artifact name")
    check_download_name(name, "artifact name")
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


def _blob_response(request: Request, ws: Any, sha256: str, filename: str) -> Response:
    """The blob as an attachment (octet-stream, nosniff, its sha256 as ETag, 304 on If-None-Match),
    streamed in chunks, never read whole."""
    etag = etag_of(sha256)
    headers = {
        "ETag": etag,
        "Cache-Control": "private, max-age=31536000, immutable",
        "Content-Disposition": disposition(filename),
        "X-Content-Type-Options": "nosniff",
    }
    if not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    # a missing blob is a 404, and a small swapped one a problem, before any byte is sent
    return StreamingResponse(ws.artifacts.stream(sha256), media_type=OCTET, headers=headers)


@router.get("/runs/{run_id}/artifacts/{name:path}")
def download_run_artifact(request: Request, who: PrincipalDep, run_id: str, name: str) -> Response:
    """The artifact's bytes as an attachment (``application/octet-stream`` whatever type it was logged
    with; that stays in the run's metadata), with its sha256 as ETag."""
    check_download_name(name, "artifact name")
    authorize_run(request, who, Permission.PROJECT_READ, run_id)
    ws = request.app.state.workspace
    run = stored_run(request, run_id)
    for ref in run.artifacts:
        if ref.name == name:
            return _blob_response(request, ws, ref.sha256, name)
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
    return _blob_response(request, ws, sha256, sha256)
