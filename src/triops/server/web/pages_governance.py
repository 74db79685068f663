"""Governance: the approval queue (approve or reject with a justification; separation of duties and roles
are enforced by the service), the audit log's verification, the AI use-case inventory and a compliance
report whose evidence links to the page that holds it; the policy gates' decisions with their facts and
reasons (``/governance/gates``). The audit verification and the compliance report are kept per store
state (``state_cache.py``)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from triops.errors import InvalidInputError
from triops.governance.frameworks import STATUS_TEXT
from triops.governance.policies import Gate
from triops.governance.rbac import Permission
from triops.server.web.core import FormDep, PageDep, WebRoute
from triops.server.web.render import render
from triops.server.web.state_cache import principal_key, state_cache

router = APIRouter(route_class=WebRoute, include_in_schema=False)
Framework = Literal["nist-ai-rmf", "eu-ai-act"]
MAX_JUSTIFICATION = 2000
GATES = [g.value for g in Gate]


def web_link(link: str) -> str:
    """The web page for an evidence link of the compliance report (an API route ``/api/v1/…``)."""
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(link)
    path = parts.path.removeprefix("/api/v1").strip("/").split("/")
    query = parse_qs(parts.query)
    head = path[0] if path else ""
    if head == "models" and len(path) >= 4 and path[2] == "versions":
        return f"/models/{path[1]}/{path[3]}"
    if head == "datasets" and len(path) >= 4 and path[2] == "versions":
        return f"/datasets/{query.get('project', ['default'])[0]}/{path[1]}/{path[3]}"
    if head == "runs" and len(path) >= 2:
        return f"/runs/{path[1]}"
    if head == "lineage" and len(path) >= 2:
        return f"/pipelines/{path[1]}"
    if head == "finops":
        return "/costs"
    if head == "monitoring" and len(path) >= 2 and "@v" in path[1]:
        model, version = path[1].rsplit("@v", 1)
        return f"/models/{model}/{version}"
    if head == "governance" and len(path) >= 2:
        section = {"audit": "audit", "inventory": "inventory", "approvals": "approvals"}.get(path[1])
        return f"/governance#{section or 'compliance'}"
    return "/governance#compliance"


def _compliance(ws: Any, framework: str) -> dict[str, Any]:
    compliance: dict[str, Any] = ws.governance.compliance_report(framework).to_dict()
    for item in compliance["items"]:
        for e in item["evidence"]:
            e["href"] = web_link(str(e["link"]))
    return compliance


@router.get("/governance")
def governance(page: PageDep, framework: Framework = "nist-ai-rmf") -> Response:
    ws = page.ws
    can = ws.principal.can
    approvals = [
        a for a in ws.governance.approval_requests() if can(Permission.PROJECT_READ, a.get("project"))
    ]
    pending = [a for a in approvals if a["status"] == "pending"]
    decided = [a for a in approvals if a["status"] != "pending"][:20]
    verify: dict[str, Any] | None = None
    events: list[dict[str, Any]] = []
    cache, who = state_cache(page.request), principal_key(ws.principal)
    if can(Permission.AUDIT_READ, None):
        report = cache.get(("audit.verify", who), ws.governance.verify_audit)
        verify = {"ok": report.ok, **report.to_dict()}
        events = ws.governance.audit_events(limit=20)
    inventory = [uc for uc in ws.governance.use_cases() if can(Permission.PROJECT_READ, uc.project)]
    compliance = None
    if can(Permission.AUDIT_READ, None):
        compliance = cache.get(("compliance", who, framework), lambda: _compliance(ws, framework))
    return render(
        page.request,
        "governance.html",
        page=page,
        pending=pending,
        decided=decided,
        verify=verify,
        events=events,
        inventory=inventory,
        compliance=compliance,
        status_text=STATUS_TEXT,
        framework=framework,
        can_decide=any(can(Permission.APPROVAL_DECIDE, a.get("project")) for a in pending),
    )


@router.post("/governance/approvals/{request_id}")
def decide(page: PageDep, request_id: str, form: FormDep) -> Response:
    verdict = form.get("verdict", "")
    if verdict not in ("approve", "reject"):
        raise InvalidInputError("verdict must be approve or reject")
    justification = form.get("justification", "").strip()
    if not justification or len(justification) > MAX_JUSTIFICATION:
        raise InvalidInputError(
            f"justification is required (1-{MAX_JUSTIFICATION} characters)",
            hint="say why you approve or reject; it goes into the audit log",
        )
    page.ws.governance.decide(request_id, verdict, justification)
    return RedirectResponse("/governance#approvals", status_code=303)


def _flat(facts: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """The facts a gate saw as ``name: value`` lines (nested maps as dotted names)."""
    out: list[tuple[str, Any]] = []
    for key, value in sorted(facts.items()):
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out += _flat(value, name + ".")
        elif value not in (None, {}, [], ""):
            out.append((name, value))
    return out


@router.get("/governance/gates")
def gate_decisions(page: PageDep, project: str = "", gate: str = "") -> Response:
    """Policy gate decisions with the facts they saw and each rule's reason (``project.read`` applies; an
    unreadable project is 404)."""
    if gate and gate not in GATES:
        raise InvalidInputError(f"gate: {gate!r} is not a gate", hint=f"use one of {', '.join(GATES)}")
    rows = page.ws.governance.gate_evaluations(project=project or None, gate=gate or None, limit=200)
    decisions = [{**r, "facts": _flat(r["result"].get("facts") or {})} for r in rows]
    return render(
        page.request,
        "governance_gates.html",
        page=page,
        decisions=decisions,
        project=project,
        gate=gate,
        gates=GATES,
        projects=page.ws.kpis.projects(),
    )
