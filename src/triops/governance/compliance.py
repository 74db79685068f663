"""The inventory and the framework report, backed by the store.

``add_use_case`` / ``list_use_cases`` / ``export_inventory`` keep the AI use-case inventory (audited writes).
``collect_evidence`` reads what the governance tables hold (policies, gate evaluations, approvals, role
bindings, the audit chain and its checkpoints, the inventory and its minimum practices), each record with
the API route and the CLI command that show it; evidence from the other pillars (model cards, evaluations,
contracts, monitoring, costs …) is passed in by the caller as ``extra`` so this pillar never imports
another. ``record_statement`` stores (and audits) a human statement for a framework item, which then
counts as its evidence. ``compliance_report`` maps it all onto a framework.
"""

from __future__ import annotations

import shlex
from collections.abc import Collection, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from triops.domain.clock import Clock, SystemClock, utc_ms
from triops.domain.ids import new_id
from triops.errors import ConflictError, InvalidInputError, NotFoundError
from triops.governance import frameworks as fw
from triops.governance.inventory import Practice, PracticeStatus, UseCase, to_csv, to_json, use_case_from_dict
from triops.governance.rbac import Permission, Principal, require
from triops.store import audit as audit_store
from triops.store.engine import Store
from triops.store.repositories import governance as repo

PRACTICE_EVIDENCE = {
    Practice.IMPACT_ASSESSMENT.value: "impact_assessment",
    Practice.INDEPENDENT_REVIEW.value: "independent_review",
    Practice.HUMAN_OVERSIGHT.value: "human_oversight",
    Practice.REMEDY_APPEAL.value: "remedy_appeal",
}


def _from_row(row: Mapping[str, Any]) -> UseCase:
    record = {k: v for k, v in dict(row["record"]).items() if k != "gaps"}
    return use_case_from_dict({**record, "id": row["id"]})


def add_use_case(
    store: Store,
    actor: Principal,
    data: Mapping[str, Any],
    *,
    replace: bool = False,
    clock: Clock | None = None,
) -> UseCase:
    """Validate and store a use case (``replace`` updates one of the same name). Audited."""
    use_case = use_case_from_dict(data)
    require(Permission.INVENTORY_WRITE, actor, use_case.project)
    now = utc_ms((clock or SystemClock()).now())
    with store.begin() as conn:
        old = repo.get_use_case(conn, use_case.name)
        if old is not None and not replace:
            raise ConflictError(
                f"use case {use_case.name!r} already exists", hint="pass --replace to update it"
            )
        use_case_id = old["id"] if old is not None else new_id(now)
        stored = UseCase(
            **{**{f: getattr(use_case, f) for f in UseCase.__dataclass_fields__}, "id": use_case_id}
        )
        record = stored.to_dict()
        values = {
            "name": stored.name,
            "project": stored.project,
            "stage": stored.stage.value,
            "high_impact": stored.high_impact.value,
            "record": record,
            "updated_ms": now,
        }
        if old is None:
            repo.insert_use_case(
                conn, {**values, "id": use_case_id, "created_by": actor.name, "created_ms": now}
            )
        else:
            repo.update_use_case(conn, use_case_id, values)
        audit_store.append_event(
            conn,
            actor=actor.name,
            action="inventory.update" if old is not None else "inventory.add",
            object_type="use_case",
            object_id=use_case_id,
            before=None if old is None else dict(old["record"]),
            after=record,
            project=stored.project,
            at_ms=now,
        )
    return stored


def get_use_case(store: Store, name_or_id: str) -> UseCase:
    with store.connect() as conn:
        row = repo.get_use_case(conn, name_or_id)
    if row is None:
        raise NotFoundError(f"no use case {name_or_id!r} in the inventory", hint="see triops inventory list")
    return _from_row(row)


def list_use_cases(
    store: Store, *, project: str | None = None, readable: Collection[str] | None = None
) -> list[UseCase]:
    with store.connect() as conn:
        return [_from_row(r) for r in repo.list_use_cases(conn, project=project, readable=readable)]


def export_inventory(store: Store, fmt: str, *, project: str | None = None) -> str:
    use_cases = list_use_cases(store, project=project)
    if fmt == "csv":
        return to_csv(use_cases)
    if fmt == "json":
        return to_json(use_cases)
    raise InvalidInputError(f"unknown export format {fmt!r}", hint="use csv or json")


def _q(path: str, **params: str | None) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{fw.API_PREFIX}{path}" + (f"?{query}" if query else "")


def _policy(label: str) -> fw.Evidence:
    return fw.Evidence("policy", label, _q("/governance/policies"), "triops policy list")


def _audited(kind: str, object_id: str, label: str) -> fw.Evidence:
    """A record whose history the audit log shows (gate evaluations, approval decisions)."""
    return fw.Evidence(
        kind,
        label,
        _q("/governance/audit/events", object_id=object_id),
        f"triops audit log --object {quote_arg(object_id)}",
    )


def quote_arg(value: str) -> str:
    """A shell-safe argument for the CLI command of an evidence link."""
    return shlex.quote(value)


def _binding(label: str) -> fw.Evidence:
    user = label.split(":", 1)[0]
    return fw.Evidence(
        "role_binding",
        label,
        _q("/governance/role-bindings", user=user),
        f"triops role list --user {quote_arg(user)}",
    )


def _checkpoint(seq: str, key_id: str) -> fw.Evidence:
    label = f"checkpoint at seq {seq} (key {key_id})"
    return fw.Evidence("audit_checkpoint", label, _q("/governance/audit/verify"), "triops audit verify")


def _inventory(kind: str, label: str, project: str | None) -> fw.Evidence:
    command = "triops inventory list" + (f" --project {quote_arg(project)}" if project else "")
    return fw.Evidence(kind, label, _q("/governance/inventory", project=project), command)


def collect_evidence(store: Store) -> dict[str, list[fw.Evidence]]:
    """Evidence the governance tables hold, by kind, each with the API route and CLI command showing it."""
    evidence: dict[str, list[fw.Evidence]] = {}
    with store.connect() as conn:
        counts = repo.governance_counts(conn)
        for kind, count in counts.items():
            if not count or kind == "inventory":  # the use cases are read whole below
                continue
            if kind == "audit_log":
                last, _ = audit_store.head(conn)
                label = f"{count} audit events (head {last})"
                evidence[kind] = [
                    fw.Evidence(kind, label, _q("/governance/audit/events"), "triops audit log")
                ]
                continue
            rows = repo.recent_ids(conn, kind)
            if kind == "policy":
                evidence[kind] = [_policy(label) for _, label in rows]
            elif kind in ("gate_evaluation", "approval"):
                evidence[kind] = [_audited(kind, i, label) for i, label in rows]
            elif kind == "role_binding":
                evidence[kind] = [_binding(label) for _, label in rows]
            elif kind == "audit_checkpoint":
                evidence[kind] = [_checkpoint(i, label) for i, label in rows]
        use_cases = [_from_row(r) for r in repo.list_use_cases(conn)]
    for uc in use_cases:
        evidence.setdefault("inventory", []).append(_inventory("inventory", uc.name, uc.project))
        for practice, kind in PRACTICE_EVIDENCE.items():
            if uc.practices.get(practice) == PracticeStatus.IMPLEMENTED.value:
                label = f"{uc.name}: {practice.replace('_', ' ')} implemented"
                evidence.setdefault(kind, []).append(_inventory(kind, label, uc.project))
    return evidence


# -------------------------------------------------------------------------------- human statements

MAX_STATEMENT = 4000


def record_statement(
    store: Store,
    actor: Principal,
    framework: str,
    item_id: str,
    text: str,
    *,
    reference: str | None = None,
    clock: Clock | None = None,
) -> dict[str, Any]:
    """Record a human statement for a framework item (e.g. who is trained on AI risk): stored, audited, and
    from then on evidence for that item. Needs ``inventory.write`` workspace-wide."""
    require(Permission.INVENTORY_WRITE, actor, None)
    item = fw.find_item(framework, item_id)
    text = text.strip()
    if not text or len(text) > MAX_STATEMENT:
        raise InvalidInputError(
            f"statement text is required (1-{MAX_STATEMENT} characters)",
            hint=f"say what {item.id} asks: {item.statement or item.title}",
        )
    if reference is not None and len(reference) > 2000:
        raise InvalidInputError("reference is longer than 2000 characters", hint="give a URL or a file path")
    now = utc_ms((clock or SystemClock()).now())
    row = {
        "id": new_id(now),
        "framework": fw.parse_framework(framework).value,
        "item": item.id,
        "text": text,
        "reference": reference or None,
        "recorded_by": actor.name,
        "recorded_ms": now,
    }
    with store.begin() as conn:
        repo.insert_statement(conn, row)
        audit_store.append_event(
            conn,
            actor=actor.name,
            action="compliance.statement",
            object_type="compliance_statement",
            object_id=f"{row['framework']}:{item.id}",
            before=None,
            after=row,
            project=None,
            at_ms=now,
        )
    return row


def list_statements(store: Store, framework: str, item_id: str | None = None) -> list[dict[str, Any]]:
    """Statements recorded for a framework (one item's, when given), newest first."""
    fwk = fw.parse_framework(framework).value
    item = None if item_id is None else fw.find_item(fwk, item_id).id
    with store.connect() as conn:
        return repo.list_statements(conn, fwk, item)


def statement_evidence(store: Store, framework: str) -> dict[str, list[fw.Evidence]]:
    """The statements of a framework as evidence, by item id."""
    by_item: dict[str, list[fw.Evidence]] = {}
    fwk = fw.parse_framework(framework).value
    for row in list_statements(store, fwk):
        item = str(row["item"])
        label = f"statement by {row['recorded_by']}: {_excerpt(str(row['text']))}"
        link = _q(f"/governance/compliance/{fwk}/statements", item=item)
        command = f"triops compliance statement list --framework {fwk} --item {quote_arg(item)}"
        by_item.setdefault(item, []).append(fw.Evidence("statement", label, link, command))
    return by_item


def _excerpt(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def compliance_report(
    store: Store, framework: str, *, extra: Mapping[str, Sequence[fw.Evidence]] | None = None
) -> fw.FrameworkReport:
    """The framework map over governance evidence, the statements recorded, and ``extra`` evidence from the
    other pillars (passed in by the workspace: this pillar never imports another)."""
    evidence: dict[str, list[fw.Evidence]] = collect_evidence(store)
    for kind, items in (extra or {}).items():
        evidence.setdefault(kind, []).extend(items)
    return fw.assess(framework, evidence, statement_evidence(store, framework))
