"""Policies kept in the store: add (replacing same-named ones in the scope), remove, install the built-in
ones, and load the policies a gate applies.

A policy is stored for one project or for the whole workspace (``project`` None). A gate for a subject in
project P applies P's policies and the workspace-wide ones; a gate for a workspace-wide subject applies
only the workspace-wide ones (``gate_policies``). Listings (``load_policies``) without a project show every
scope.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection

from triops.domain.clock import Clock, SystemClock, utc_ms
from triops.domain.ids import new_id
from triops.errors import NotFoundError
from triops.governance.policies import Gate, Policy, parse_policies
from triops.governance.rbac import Permission, Principal, require
from triops.store import audit as audit_store
from triops.store.engine import Store
from triops.store.repositories import governance as repo

# Budget overrides need the finops role's approval (issue 8 §3); installed by ``install_builtin_policies``.
BUILTIN_POLICIES = """\
policies:
  - name: budget-override-needs-finops
    gate: budget.override
    description: a budget override is approved by someone with the finops role who did not ask for it
    rules:
      - name: has-justification
        expr: size(change.justification) > 0
        reason: a budget override states why it is needed
    approvals: {role: finops, count: 1, expires_in_days: 7}
"""


def now_ms(clock: Clock | None) -> int:
    return utc_ms((clock or SystemClock()).now())


def add_policies(
    store: Store, actor: Principal, text: str, *, source: str = "<string>", project: str | None = None,
    clock: Clock | None = None,
) -> list[Policy]:  # fmt: skip
    """Store every policy of a YAML document as active, replacing same-named ones in the scope. Audited."""
    require(Permission.POLICY_WRITE, actor, project)
    parsed = parse_policies(text, source)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    now = now_ms(clock)
    with store.begin() as conn:
        for policy in parsed:
            old = repo.active_policy(conn, policy.name, project)
            if old is not None:
                repo.deactivate_policy(conn, old["id"])
            row = {
                "id": new_id(now),
                "name": policy.name,
                "gate": policy.gate.value,
                "project": project,
                "source": text,
                "sha256": digest,
                "active": True,
                "created_by": actor.name,
                "created_ms": now,
            }
            repo.insert_policy(conn, row)
            audit_store.append_event(
                conn,
                actor=actor.name,
                action="policy.add",
                object_type="policy",
                object_id=policy.name,
                before=None if old is None else {"sha256": old["sha256"], "gate": old["gate"]},
                after={
                    "sha256": digest,
                    "gate": policy.gate.value,
                    "source": source,
                    "rules": len(policy.rules),
                },
                project=project,
                at_ms=now,
            )
    return parsed


def remove_policy(
    store: Store, actor: Principal, name: str, *, project: str | None = None, clock: Clock | None = None
) -> None:
    require(Permission.POLICY_WRITE, actor, project)
    now = now_ms(clock)
    with store.begin() as conn:
        old = repo.active_policy(conn, name, project)
        if old is None:
            raise NotFoundError(f"no active policy named {name!r}", hint="see triops policy list")
        repo.deactivate_policy(conn, old["id"])
        audit_store.append_event(
            conn,
            actor=actor.name,
            action="policy.remove",
            object_type="policy",
            object_id=name,
            before={"sha256": old["sha256"], "gate": old["gate"]},
            after=None,
            project=project,
            at_ms=now,
        )


def install_builtin_policies(store: Store, actor: Principal, clock: Clock | None = None) -> list[Policy]:
    """Install ``BUILTIN_POLICIES`` unless a policy of the same name is already active."""
    with store.connect() as conn:
        if repo.active_policy(conn, "budget-override-needs-finops", None) is not None:
            return []
    return add_policies(store, actor, BUILTIN_POLICIES, source="<builtin>", clock=clock)


@functools.lru_cache(maxsize=256)
def _parsed(source: str, label: str) -> tuple[Policy, ...]:
    """A stored policy document, parsed once per process: every guarded change reads the gate's policies,
    and parsing their YAML cost more than reading them (the parsed policies are immutable)."""
    return tuple(parse_policies(source, label))


def _policies_from_rows(rows: Sequence[dict[str, Any]]) -> list[Policy]:
    out: list[Policy] = []
    for row in rows:
        out.extend(p for p in _parsed(row["source"], f"policy {row['name']}") if p.name == row["name"])
    return out


def load_policies(
    store: Store, *, gate: Gate | str | None = None, project: str | None = None
) -> list[Policy]:
    with store.connect() as conn:
        rows = repo.list_policies(conn, gate=None if gate is None else Gate(gate).value, project=project)
    return _policies_from_rows(rows)


def gate_policies(
    store: Store, gate: Gate | str, project: str | None, *, conn: Connection | None = None
) -> list[Policy]:
    """The policies a gate applies to a subject in ``project``: that project's and the workspace-wide ones
    (a workspace-wide subject: the workspace-wide ones only, never another project's). ``conn``: read on
    the caller's connection."""
    if conn is not None:
        return _policies_from_rows(repo.gate_policy_rows(conn, Gate(gate).value, project))
    with store.connect() as own:
        return _policies_from_rows(repo.gate_policy_rows(own, Gate(gate).value, project))


__all__ = [
    "BUILTIN_POLICIES",
    "add_policies",
    "gate_policies",
    "install_builtin_policies",
    "load_policies",
    "now_ms",
    "remove_policy",
]
