"""Framework evidence reports: NIST AI RMF 1.0 subcategories and EU AI Act obligations → evidence kinds.

``assess(framework, evidence)`` is pure: ``evidence`` maps an evidence kind (see ``EVIDENCE_KINDS``) to the
records of that kind found in the store, each with the API route and the CLI command that show it; human
statements recorded for an item arrive as kind ``statement`` keyed by item (``statements``). An item is
*present* when every kind it needs has a record (and its statement, if it needs one, is recorded),
*partial* when some have, *missing* when none has, and *needs-statement* ("needs a human statement") when
all that the store can show is there, or nothing can be shown, and the statement it needs is not recorded.
The items themselves are in ``triops.governance.framework_items``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from triops.errors import InvalidInputError
from triops.governance.framework_items import EU_AI_ACT, EVIDENCE_KINDS, NIST_AI_RMF, Item


class Framework(enum.StrEnum):
    NIST_AI_RMF = "nist-ai-rmf"
    EU_AI_ACT = "eu-ai-act"


FRAMEWORKS: Mapping[Framework, tuple[Item, ...]] = {
    Framework.NIST_AI_RMF: NIST_AI_RMF,
    Framework.EU_AI_ACT: EU_AI_ACT,
}
STATUSES = ("present", "partial", "missing", "needs-statement")
STATUS_TEXT = {
    "present": "present",
    "partial": "partial",
    "missing": "missing",
    "needs-statement": "needs a human statement",
}
API_PREFIX = "/api/v1"


@dataclass(frozen=True, slots=True)
class Evidence:
    """One record: ``link`` is the API route that shows it (``/api/v1/…``), ``command`` the CLI command."""

    kind: str
    label: str
    link: str
    command: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "label": self.label, "link": self.link, "command": self.command}


def record_hint(framework: str, item_id: str) -> dict[str, str]:
    """Where to record a human statement for an item: the CLI command and the API route."""
    return {
        "command": f'triops compliance statement add --framework {framework} --item "{item_id}" --text "…"',
        "api": f"POST {API_PREFIX}/governance/compliance/{framework}/statements",
    }


@dataclass(frozen=True, slots=True)
class ItemResult:
    id: str
    title: str
    status: str  # one of STATUSES
    evidence: tuple[Evidence, ...]
    missing: tuple[str, ...]
    statement: str | None = None  # what the human statement this item needs must say
    framework: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "evidence": [e.to_dict() for e in self.evidence],
            "missing": [{"kind": k, "what": EVIDENCE_KINDS[k]} for k in self.missing],
            "statement": None
            if self.statement is None
            else {"needed": self.statement, **record_hint(self.framework, self.id)},
        }


@dataclass(frozen=True, slots=True)
class FrameworkReport:
    framework: str
    items: tuple[ItemResult, ...]

    def count(self, status: str) -> int:
        return sum(1 for i in self.items if i.status == status)

    def to_dict(self) -> dict[str, Any]:
        return {
            "framework": self.framework,
            "summary": {s: self.count(s) for s in STATUSES},
            "items": [i.to_dict() for i in self.items],
        }


def parse_framework(value: str) -> Framework:
    try:
        return Framework(value)
    except ValueError:
        raise InvalidInputError(
            f"unknown framework {value!r}", hint=f"frameworks are {', '.join(f.value for f in Framework)}"
        ) from None


def find_item(framework: Framework | str, item_id: str) -> Item:
    """The item of ``framework`` named ``item_id`` (case and spacing as in the report, e.g. ``GOVERN 2.2``)."""
    fw = parse_framework(str(framework))
    wanted = " ".join(item_id.split()).upper()
    for item in FRAMEWORKS[fw]:
        if item.id.upper() == wanted:
            return item
    raise InvalidInputError(
        f"{fw.value} has no item {item_id!r}",
        hint=f"see triops compliance report --framework {fw.value} (ids like {FRAMEWORKS[fw][0].id!r})",
    )


MAX_LINKS_PER_KIND = 5


def _status(item: Item, missing: Sequence[str], stated: bool) -> str:
    shown = len(item.kinds) - len(missing)
    if item.statement is not None and not missing:
        return "present" if stated else "needs-statement"
    if not missing:
        return "present"
    return "partial" if shown or stated else "missing"


def assess(
    framework: Framework | str,
    evidence: Mapping[str, Sequence[Evidence]],
    statements: Mapping[str, Sequence[Evidence]] | None = None,
) -> FrameworkReport:
    """For each item of ``framework``: the evidence present (up to 5 links a kind), its recorded statements
    (``statements`` by item id) and the kinds missing."""
    unknown = sorted(set(evidence) - set(EVIDENCE_KINDS))
    if unknown:
        raise InvalidInputError(f"unknown evidence kind(s): {', '.join(unknown)}", hint="see EVIDENCE_KINDS")
    fw = parse_framework(str(framework))
    results: list[ItemResult] = []
    for item in FRAMEWORKS[fw]:
        found: list[Evidence] = []
        missing: list[str] = []
        for kind in item.kinds:
            items = list(evidence.get(kind, ()))
            if items:
                found.extend(items[:MAX_LINKS_PER_KIND])
            else:
                missing.append(kind)
        stated = list((statements or {}).get(item.id, ()))
        found.extend(stated[:MAX_LINKS_PER_KIND])
        status = _status(item, missing, bool(stated))
        results.append(
            ItemResult(item.id, item.title, status, tuple(found), tuple(missing), item.statement, fw.value)
        )
    return FrameworkReport(fw.value, tuple(results))


__all__ = [
    "EVIDENCE_KINDS",
    "FRAMEWORKS",
    "STATUSES",
    "STATUS_TEXT",
    "Evidence",
    "Framework",
    "FrameworkReport",
    "ItemResult",
    "assess",
    "find_item",
    "parse_framework",
    "record_hint",
]
