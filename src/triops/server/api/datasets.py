"""Datasets and contracts API: register a version from an upload or from a server-side file the admin
allows (``TRIOPS_DATA_ROOTS``), list and show versions (report, profile), diff two versions, check data
against a contract without registering it, and a version's lineage. Thin over ``ws.datasets``.

A version that fails its contract is stored as failed (``passed: false``), never as passed; the answer is
still 201 because the version was recorded.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, StringConstraints

from triops.errors import InvalidInputError, PermissionDeniedError
from triops.governance.rbac import Permission
from triops.server.authz import ActingDep, readable, require_in
from triops.server.http import PROBLEMS, check_download_name, immutable_json
from triops.server.pagination import CursorQuery, LimitQuery, Listing, PageOut, paginate
from triops.server.schemas import Depth, ModelName, ProjectName, Text, Version
from triops.workspace import Workspace

router = APIRouter(tags=["datasets"], responses=PROBLEMS)
DATA_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq", ".jsonl", ".ndjson", ".arrow")
MAX_CONTRACT_BYTES = 1_000_000
RunId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z\-]+$")]
ProjectQuery = Annotated[ProjectName, Query(description="the project the dataset belongs to")]


class SourceRegistration(BaseModel):
    """Register a file that is already on the server, under one of the data roots its admin allows."""

    source: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    project: ProjectName = "default"
    contract: Text | None = None


def registered_out(registered: Any) -> dict[str, Any]:
    return {
        "version": registered.version.to_dict(),
        "report": registered.report.to_dict() if registered.report is not None else None,
        "profile": registered.profile.to_dict(),
        "score": registered.score.to_dict() if registered.score is not None else None,
    }


def _summary(row: Any) -> dict[str, Any]:
    return {k: v for k, v in row.to_dict().items() if k not in ("profile", "quality")}


@contextmanager
def upload_path(data: bytes, filename: str | None) -> Iterator[Path]:
    """The upload as a temporary file whose suffix tells its format (the reader goes by suffix)."""
    name = check_download_name(filename or "", "file name")
    suffix = Path(name).suffix.lower()
    if suffix not in DATA_SUFFIXES:
        raise InvalidInputError(
            f"cannot tell the format of {name!r} from its suffix {suffix!r}",
            hint=f"upload one of: {', '.join(DATA_SUFFIXES)}",
            detail={"field": "file"},
        )
    with tempfile.TemporaryDirectory(prefix="triops-upload-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        yield path


def _contract_text(data: bytes | None) -> str | None:
    if not data:
        return None
    if len(data) > MAX_CONTRACT_BYTES:
        raise InvalidInputError(
            f"the contract is {len(data)} bytes; the limit is {MAX_CONTRACT_BYTES}",
            detail={"field": "contract", "limit": MAX_CONTRACT_BYTES},
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError("the contract is not UTF-8 text", detail={"field": "contract"}) from None


def _contract(text: str | None) -> Any:
    from triops.dataops.contracts import parse_contract

    return parse_contract(text, where="<contract>") if text else None


def upload_source(path: Path, name: str, uri: str) -> Any:
    from triops.dataops.sources import open_source

    return dataclasses.replace(open_source(path, name=name), uri=uri)


@router.post("/datasets/{name}/versions", status_code=201)
async def register_upload(
    ws: ActingDep,
    name: ModelName,
    file: Annotated[UploadFile, File(description="the data: .csv .tsv .parquet .jsonl .arrow")],
    contract: Annotated[UploadFile | None, File(description="an ODCS v3 contract (YAML) to check")] = None,
    project: Annotated[ProjectName, Form()] = "default",
    run_id: Annotated[RunId | None, Form(description="the run that produced the data")] = None,
    keep_data: Annotated[bool, Form(description="keep the bytes as an artifact (exact diffs)")] = True,
    skip_unsupported: Annotated[
        bool, Form(description="skip contract rules triops cannot check instead of refusing")
    ] = False,
) -> dict[str, Any]:
    """Register an uploaded file as the next version of ``name``, checked against the contract if given."""
    require_in(ws, Permission.DATASET_WRITE, project)
    if run_id is not None:
        readable(ws, ws.runs.get(run_id).project, f"run {run_id!r}")
    parsed = _contract(_contract_text(await contract.read() if contract is not None else None))
    data = await file.read()
    with upload_path(data, file.filename) as path:
        source = upload_source(path, name, f"upload:{file.filename}")
        registered = ws.datasets.register(
            name,
            source,
            contract=parsed,
            project=project,
            run_id=run_id,
            keep_data=keep_data,
            skip_unsupported=skip_unsupported,
        )
    return registered_out(registered)


def allowed_path(ws: Workspace, source: str) -> Path:
    """``source`` (a path or file:// URL) resolved inside one of the server's data roots, or 403."""
    from urllib.parse import unquote, urlparse

    text = source
    if source.startswith("file://"):
        parsed = urlparse(source)
        if parsed.netloc not in ("", "localhost"):
            raise InvalidInputError(f"{source!r} names another host", detail={"field": "source"})
        text = unquote(parsed.path)
    elif "://" in source:
        raise InvalidInputError(
            f"{source!r} is not a file path",
            hint="the server registers files under its data roots only",
            detail={"field": "source"},
        )
    check_download_name(text.lstrip("/") or "x", "source")
    path = Path(text).resolve()
    roots = [Path(r).resolve() for r in ws.settings.data_roots]
    if not any(path == r or r in path.parents for r in roots):
        raise PermissionDeniedError(
            f"{source!r} is outside the data roots this server allows",
            hint="its admin lists them in TRIOPS_DATA_ROOTS"
            + (f" (now: {', '.join(map(str, roots))})" if roots else " (now: none)"),
            detail={"setting": "data_roots"},
        )
    return path


@router.post("/datasets/{name}/versions/from-source", status_code=201)
def register_source(ws: ActingDep, name: ModelName, body: SourceRegistration) -> dict[str, Any]:
    """Register a file that lives on the server, inside a data root its admin allows."""
    require_in(ws, Permission.DATASET_WRITE, body.project)
    path = allowed_path(ws, body.source)
    registered = ws.datasets.register(name, path, contract=_contract(body.contract), project=body.project)
    return registered_out(registered)


@router.get("/datasets", response_model=PageOut)
def list_all_versions(
    ws: ActingDep, project: ProjectQuery = "default", limit: LimitQuery = 100, cursor: CursorQuery = None
) -> dict[str, Any]:
    """Every version of every dataset in ``project`` (without profiles and reports)."""
    readable(ws, project, f"project {project!r}")
    rows = _versions(ws, None, project)
    page = paginate(
        rows, lambda r: (r.name, r.version), Listing.of("datasets", project=project), cursor, limit
    )
    return page.out(_summary)


def _versions(ws: Workspace, name: str | None, project: str) -> list[Any]:
    return list(ws.datasets.versions(name, project=project))


@router.get("/datasets/{name}/versions", response_model=PageOut)
def list_versions(
    ws: ActingDep,
    name: ModelName,
    project: ProjectQuery = "default",
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    readable(ws, project, f"dataset {name!r}")
    rows = _versions(ws, name, project)
    listing = Listing.of("dataset-versions", name=name, project=project)
    return paginate(rows, lambda r: (r.version,), listing, cursor, limit).out(_summary)


@router.get("/datasets/{name}/versions/{version}")
def show_version(
    request: Request, ws: ActingDep, name: ModelName, version: Version, project: ProjectQuery = "default"
) -> Response:
    """One version with its quality report and profile. Versions never change, so the answer has an ETag."""
    readable(ws, project, f"dataset {name!r}")
    row = ws.datasets.get(name, version, project=project)
    body = json.dumps(row.to_dict(), default=str, allow_nan=False).encode()
    return immutable_json(request, body, hashlib.sha256(f"dataset-version:{row.id}".encode()).hexdigest())


@router.get("/datasets/{name}/latest")
def show_latest(ws: ActingDep, name: ModelName, project: ProjectQuery = "default") -> dict[str, Any]:
    readable(ws, project, f"dataset {name!r}")
    data: dict[str, Any] = ws.datasets.get(name, None, project=project).to_dict()
    return data


@router.get("/datasets/{name}/diff")
def diff_versions(
    ws: ActingDep, name: ModelName, v1: Version, v2: Version, project: ProjectQuery = "default"
) -> dict[str, Any]:
    """Schema changes, row counts and per-column shift between two versions."""
    readable(ws, project, f"dataset {name!r}")
    result: dict[str, Any] = ws.datasets.diff(name, v1, v2, project=project).to_dict()
    return result


@router.get("/datasets/{name}/versions/{version}/lineage")
def version_lineage(
    ws: ActingDep, name: ModelName, version: Version, project: ProjectQuery = "default", depth: Depth = 3
) -> dict[str, Any]:
    """The run that registered the version and the step runs that read or wrote its bytes."""
    readable(ws, project, f"dataset {name!r}")
    node: dict[str, Any] = ws.datasets.lineage(name, version, project=project, depth=depth).to_dict()
    return node


@router.post("/contracts/check")
async def check_contract(
    ws: ActingDep,
    file: Annotated[UploadFile, File(description="the data to check")],
    contract: Annotated[UploadFile, File(description="the ODCS v3 contract (YAML)")],
) -> dict[str, Any]:
    """Check uploaded data against an uploaded contract; nothing is stored. ``passed`` is false when an
    error-severity rule fails."""
    text = _contract_text(await contract.read())
    if text is None:
        raise InvalidInputError("the contract is empty", detail={"field": "contract"})
    parsed = _contract(text)
    data = await file.read()
    with upload_path(data, file.filename) as path:
        report = ws.datasets.check(
            parsed, upload_source(path, Path(file.filename or "data").stem, f"upload:{file.filename}")
        )
    out: dict[str, Any] = report.to_dict()
    return out
