"""The inventory and the framework report, backed by the store.

``add_use_case`` / ``list_use_cases`` / ``export_inventory`` keep the AI use-case inventory (audited writes).
``collect_evidence`` reads what the governance tables hold (policies, gate evaluations, approvals, role
bindings, the audit chain and its checkpoints, the inventory and its minimum practices); evidence from the
other pillars (model cards, evaluations, contracts, monitoring, costs …) is passed in by the caller as
``extra`` so this pillar never imports another. ``compliance_report`` maps it all onto a framework.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

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


def collect_evidence(store: Store, link_base: str = "") -> dict[str, list[fw.Evidence]]:
    """Evidence the governance tables hold, by kind, with links (``link_base`` + a path)."""
    evidence: dict[str, list[fw.Evidence]] = {}
    with store.connect() as conn:
        counts = repo.governance_counts(conn)
        for kind, count in counts.items():
            if not count:
                continue
            if kind == "audit_log":
                last, _ = audit_store.head(conn)
                evidence[kind] = [
                    fw.Evidence(kind, f"{count} audit events (head {last})", f"{link_base}/audit")
                ]
                continue
            evidence[kind] = [
                fw.Evidence(kind, label, f"{link_base}/governance/{kind}/{ident}")
                for ident, label in repo.recent_ids(conn, kind)
            ]
        use_cases = [_from_row(r) for r in repo.list_use_cases(conn)]
    for uc in use_cases:
        for practice, kind in PRACTICE_EVIDENCE.items():
            if uc.practices.get(practice) == PracticeStatus.IMPLEMENTED.value:
                label = f"{uc.name}: {practice.replace('_', ' ')} implemented"
                evidence.setdefault(kind, []).append(
                    fw.Evidence(kind, label, f"{link_base}/inventory/{uc.id}")
                )
    return evidence


def compliance_report(
    store: Store,
    framework: str,
    *,
    extra: Mapping[str, Sequence[fw.Evidence]] | None = None,
    link_base: str = "",
) -> fw.FrameworkReport:
    """The framework map over governance evidence plus ``extra`` evidence from the other pillars."""
    evidence: dict[str, list[fw.Evidence]] = collect_evidence(store, link_base)
    for kind, items in (extra or {}).items():
        evidence.setdefault(kind, []).extend(items)
    return fw.assess(framework, evidence)
