"""Approvals bound to the change they were given for: pure rules over stored approval requests.

An approval request names its gate, its subject, the exact change (``from_stage``/``to_stage``, an alias
move, a budget override's reason) and the digest of the gate's policies when it was asked for. A gate check
uses only a request whose change is contained in the change being made, whose policies are still the ones
in force, and that no earlier change has consumed: an approval "for staging" cannot move a model to
production, and an approval used once cannot be used again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from triops.domain.audit_chain import canonical_json
from triops.governance.policies import Policy


def policy_digest(policies: Sequence[Policy]) -> str:
    """The sha256 of what the policies of a gate ask (names, conditions, rules, approvals), order-free."""
    body = sorted(
        [
            p.name,
            p.gate.value,
            p.when or "",
            [r.expr for r in p.rules],
            None if p.approvals is None else [p.approvals.role.value, p.approvals.count],
        ]
        for p in policies
    )
    return hashlib.sha256(canonical_json(body)).hexdigest()


def change_matches(requested: Mapping[str, Any] | None, made: Mapping[str, Any]) -> bool:
    """True when every field of the requested change has the same value in the change being made. A request
    naming no change at all matches nothing: it cannot be bound."""
    if not requested:
        return False
    return all(str(made.get(key)) == str(value) for key, value in requested.items())


def pick_request(
    rows: Sequence[Mapping[str, Any]], change: Mapping[str, Any] | None
) -> Mapping[str, Any] | None:
    """The newest request (``rows`` newest first) that is not consumed and whose change the given one
    contains; with ``change`` None (a listing, not a gate), simply the newest."""
    for row in rows:
        if change is None:
            return row
        if row.get("consumed_ms") is None and change_matches(row.get("change"), change):
            return row
    return None


__all__ = ["change_matches", "pick_request", "policy_digest"]
