"""Artifacts API: upload a run's artifact as the raw request body; download by run and name or by sha256."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from triops.domain.validation import check_key
from triops.errors import NotFoundError
from triops.governance.rbac import Permission
from triops.mlops.tracking.active_run import StoreTrackingSink
from triops.server.auth import PrincipalDep
from triops.server.authz import authorize_run, roles_of
from triops.server.http import PROBLEMS, check_download_name, download
from triops.store.repositories.runs import projects_with_artifact

router = APIRouter(tags=["artifacts"], responses=PROBLEMS)


@router.put("/runs/{run_id}/artifacts/{name:path}", status_code=201)
async def upload_artifact(request: Request, who: PrincipalDep, run_id: str, name: str) -> dict[str, Any]:
    check_key(name, "artifact name")
    check_download_name(name, "artifact name")
    authorize_run(request, who, Permission.RUN_WRITE, run_id)
    data = await request.body()
    ws = request.app.state.workspace
    media_type = request.headers.get("content-type", "application/octet-stream")
    stored = StoreTrackingSink(ws.store, ws.artifacts, ws.clock, None).log_artifact(
        run_id, name, data, media_type
    )
    return {"name": name, "sha256": stored.sha256, "size": stored.size, "media_type": stored.media_type}


@router.get("/runs/{run_id}/artifacts/{name:path}")
def download_run_artifact(request: Request, who: PrincipalDep, run_id: str, name: str) -> Response:
    """The artifact's bytes as an attachment (``application/octet-stream`` whatever type it was logged
    with; that stays in the run's metadata), with its sha256 as ETag."""
    check_download_name(name, "artifact name")
    authorize_run(request, who, Permission.PROJECT_READ, run_id)
    ws = request.app.state.workspace
    run = ws.runs.get(run_id)
    for ref in run.artifacts:
        if ref.name == name:
            return download(request, ws.artifacts.get_bytes(ref.sha256), name, ref.sha256)
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
    return download(request, ws.artifacts.get_bytes(sha256), sha256, sha256)
