"""Governance API, part two: the audit log (verify, seal, export, events), the AI use-case inventory and
compliance reports. Thin over ``ws.governance``.

``/audit/witness`` hands out the signed head of the chain to keep outside the server; ``POST /audit/verify``
checks the store against such heads as well as against the server's own witness file.
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from triops.governance.rbac import Permission
from triops.server.authz import ActingDep, readable, require_in
from triops.server.http import PROBLEMS
from triops.server.pagination import CursorQuery, LimitQuery, Listing, PageOut, paginate
from triops.server.schemas import Name, ProjectName
from triops.workspace import Workspace

router = APIRouter(prefix="/governance", tags=["governance"], responses=PROBLEMS)
Framework = Literal["nist-ai-rmf", "eu-ai-act"]


class SealIn(BaseModel):
    every: Annotated[int, Field(ge=1, le=1_000_000)] = 1000


class UseCaseIn(BaseModel):
    use_case: dict[str, Any] = Field(description="the use case fields (docs/governance.md#inventory)")
    replace: bool = False


@router.get("/audit/verify")
def verify(ws: ActingDep) -> dict[str, Any]:
    """Re-hash the chain and check the signed checkpoints with the server's audit key; ``ok`` false names
    the first bad sequence number."""
    report = ws.governance.verify_audit()
    return {**report.to_dict(), "ok": report.ok, "first_bad_seq": report.first_bad_seq}


class WitnessIn(BaseModel):
    witness: list[dict[str, Any]] = Field(
        max_length=10_000, description="signed heads kept outside the server"
    )


@router.post("/audit/verify")
def verify_with_witness(ws: ActingDep, body: WitnessIn) -> dict[str, Any]:
    """As GET, and also against signed heads you kept (``triops audit witness``): a head the store
    contradicts fails at its sequence number."""
    from triops.governance.witness import read_entries

    entries = list(read_entries([json.dumps(e) for e in body.witness], "witness"))
    report = ws.governance.verify_audit(witness=entries)
    return {**report.to_dict(), "ok": report.ok, "first_bad_seq": report.first_bad_seq}


@router.get("/audit/witness")
def witness(ws: ActingDep) -> dict[str, Any]:
    """The signed head of the audit log (signed now if events came after the last checkpoint): keep it
    outside the server and verify against it later."""
    head = ws.governance.witness()
    return {"head": None if head is None else dataclasses.asdict(head)}


@router.post("/audit/seal")
def seal(ws: ActingDep, body: SealIn) -> dict[str, Any]:
    """Sign the checkpoints that are due with the server's key (kept outside the store)."""
    signed, key_id = ws.governance.seal_audit(every=body.every)
    return {"signed": signed, "key_id": key_id}


def _export_lines(ws: Workspace) -> Iterator[bytes]:
    buffer = io.BytesIO()
    ws.governance.export_audit(buffer)
    data = buffer.getvalue()
    for start in range(0, len(data), 1 << 20):
        yield data[start : start + (1 << 20)]


@router.get(
    "/audit/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
def export(ws: ActingDep) -> StreamingResponse:
    """Every audit event as JSON Lines (canonical JSON, one event a line): verifiable on its own."""
    require_in(ws, Permission.AUDIT_READ, None)  # before streaming starts: the service checks it too late
    headers = {"Content-Disposition": 'attachment; filename="audit.jsonl"'}
    return StreamingResponse(_export_lines(ws), media_type="application/x-ndjson", headers=headers)


@router.get("/audit/events", response_model=PageOut)
def events(
    ws: ActingDep,
    object_id: Name | None = None,
    project: ProjectName | None = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
    latest: Annotated[
        int, Query(ge=1, le=100_000, description="how many of the latest events to page")
    ] = 1000,
) -> dict[str, Any]:
    """The latest audit events, newest first."""
    require_in(ws, Permission.AUDIT_READ, project)
    rows = ws.governance.audit_events(limit=latest, object_id=object_id, project=project)
    listing = Listing.of("audit-events", object_id=object_id, project=project, latest=latest)
    return paginate(rows, lambda r: (int(r["seq"]),), listing, cursor, limit, descending=True).out(
        lambda r: r
    )


@router.get("/inventory", response_model=PageOut)
def inventory(
    ws: ActingDep, project: ProjectName | None = None, limit: LimitQuery = 100, cursor: CursorQuery = None
) -> dict[str, Any]:
    """Use cases with their gaps (those in projects you can read)."""
    if project is not None:
        readable(ws, project, f"project {project!r}")
    rows = [
        uc.to_dict() for uc in ws.governance.use_cases(project=project)
        if ws.principal.can(Permission.PROJECT_READ, uc.project)
    ]  # fmt: skip
    return paginate(
        rows, lambda r: (str(r["name"]),), Listing.of("inventory", project=project), cursor, limit
    ).out(lambda r: r)


@router.post("/inventory", status_code=201)
def add_use_case(ws: ActingDep, body: UseCaseIn) -> dict[str, Any]:
    """Add (or with ``replace`` update) a use case. Audited."""
    data: dict[str, Any] = ws.governance.add_use_case(body.use_case, replace=body.replace).to_dict()
    return data


@router.get(
    "/inventory/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)
def export_inventory(
    ws: ActingDep, format: Literal["csv", "json"] = "csv", project: ProjectName | None = None
) -> Response:
    require_in(ws, Permission.PROJECT_READ, project)
    text = ws.governance.export_inventory(format, project=project)
    media = "text/csv; charset=utf-8" if format == "csv" else "application/json"
    headers = {"Content-Disposition": f'attachment; filename="inventory.{format}"'}
    return Response(text, media_type=media, headers=headers)


@router.get("/compliance/{framework}")
def compliance(ws: ActingDep, framework: Framework) -> dict[str, Any]:
    """For each item of the framework (all 72 NIST AI RMF subcategories, or the EU AI Act obligations): the
    evidence every pillar holds, each with the API route and the CLI command that show it, the statements
    recorded, what is missing, and where to record a statement an item needs. Needs ``audit.read``."""
    require_in(ws, Permission.AUDIT_READ, None)
    data: dict[str, Any] = ws.governance.compliance_report(framework).to_dict()
    return data


class StatementIn(BaseModel):
    item: Annotated[str, Field(min_length=1, max_length=40, description='the item id, e.g. "GOVERN 2.2"')]
    text: Annotated[str, Field(min_length=1, max_length=4000, description="the statement")]
    reference: Annotated[
        str | None, Field(max_length=2000, description="where a supporting document is kept")
    ] = None


@router.post("/compliance/{framework}/statements", status_code=201)
def record_statement(ws: ActingDep, framework: Framework, body: StatementIn) -> dict[str, Any]:
    """Record a human statement for a framework item (audited); it then counts as the item's evidence.
    Needs ``inventory.write``."""
    return ws.governance.record_statement(framework, body.item, body.text, reference=body.reference)


@router.get("/compliance/{framework}/statements", response_model=PageOut)
def statements(
    ws: ActingDep,
    framework: Framework,
    item: Annotated[str | None, Query(max_length=40)] = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> dict[str, Any]:
    """Statements recorded for the framework (one item's, when given), newest first. Needs ``audit.read``."""
    rows = ws.governance.statements(framework, item=item)
    listing = Listing.of("compliance-statements", framework=framework, item=item)
    return paginate(
        rows, lambda r: (int(r["recorded_ms"]), str(r["id"])), listing, cursor, limit, descending=True
    ).out(lambda r: r)
