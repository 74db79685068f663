"""Role bindings in the store: grant, revoke, list, and resolve a principal's roles for ``require``.

Granting and revoking need ``role.write`` in the project (an admin) and each appends an audit event in
the same transaction. Nobody can revoke the last workspace-wide admin, so a workspace cannot lock itself out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from triops.domain.clock import Clock, SystemClock, utc_ms
from triops.domain.ids import new_id
from triops.errors import ConflictError, InvalidInputError, NotFoundError
from triops.governance.rbac import GLOBAL, Permission, Principal, Role, parse_role, require
from triops.store import audit as audit_store
from triops.store.engine import Store
from triops.store.repositories import governance as repo

MAX_NAME = 250


@dataclass(frozen=True, slots=True)
class Binding:
    id: str
    principal: str
    role: str
    project: str  # a project name or "*"
    granted_by: str
    granted_ms: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "principal": self.principal,
            "role": self.role,
            "project": self.project,
            "granted_by": self.granted_by,
            "granted_ms": self.granted_ms,
        }


def _check_name(name: str) -> str:
    if (
        not isinstance(name, str)
        or not name.strip()
        or len(name) > MAX_NAME
        or any(ord(c) < 32 for c in name)
    ):
        raise InvalidInputError(
            f"invalid principal name {name!r}",
            hint=f"1-{MAX_NAME} printable characters (no control characters)",
        )
    return name


def _scope(project: str | None) -> str:
    return GLOBAL if project in (None, "", GLOBAL) else str(project)


def load_principal(conn: Connection, name: str, kind: str = "user") -> Principal:
    """The principal with every role binding it holds."""
    rows = repo.list_bindings(conn, principal=name)
    return principal_of(name, [(r["project"], r["role"]) for r in rows], kind)


def principal_of(name: str, bindings: list[tuple[str, str]], kind: str = "user") -> Principal:
    """The principal holding ``bindings``, stored ``(project, role)`` rows (project ``*``: every project)."""
    return Principal.from_bindings(
        name, [(None if project == GLOBAL else project, role) for project, role in bindings], kind
    )


def grant(
    store: Store, actor: Principal, principal: str, role: str, project: str | None, clock: Clock | None = None
) -> Binding:
    """Bind ``role`` to ``principal`` in ``project`` (``None``: every project). Audited."""
    parsed: Role = parse_role(role)
    name = _check_name(principal)
    scope = _scope(project)
    require(Permission.ROLE_WRITE, actor, None if scope == GLOBAL else scope)
    now = utc_ms((clock or SystemClock()).now())
    with store.begin() as conn:
        if repo.find_binding(conn, name, parsed.value, scope) is not None:
            raise ConflictError(f"{name!r} already holds role {parsed.value!r} in {scope!r}")
        binding = Binding(new_id(now), name, parsed.value, scope, actor.name, now)
        repo.insert_binding(conn, binding.to_dict())
        audit_store.append_event(
            conn,
            actor=actor.name,
            action="role.grant",
            object_type="role_binding",
            object_id=binding.id,
            before=None,
            after={"principal": name, "role": parsed.value, "project": scope},
            project=None if scope == GLOBAL else scope,
            at_ms=now,
        )
    return binding


def revoke(
    store: Store, actor: Principal, principal: str, role: str, project: str | None, clock: Clock | None = None
) -> Binding:
    """Remove a binding. Audited. The last workspace-wide admin cannot be revoked."""
    parsed = parse_role(role)
    scope = _scope(project)
    require(Permission.ROLE_WRITE, actor, None if scope == GLOBAL else scope)
    now = utc_ms((clock or SystemClock()).now())
    with store.begin() as conn:
        row = repo.find_binding(conn, principal, parsed.value, scope)
        if row is None:
            raise NotFoundError(
                f"{principal!r} holds no role {parsed.value!r} in {scope!r}", hint="see triops role list"
            )
        if parsed is Role.ADMIN and scope == GLOBAL:
            admins = [b for b in repo.list_bindings(conn, project=GLOBAL) if b["role"] == Role.ADMIN.value]
            if len(admins) <= 1:
                raise ConflictError(
                    f"{principal!r} is the last workspace-wide admin",
                    hint="grant admin to someone else first",
                )
        repo.delete_binding(conn, row["id"])
        audit_store.append_event(
            conn,
            actor=actor.name,
            action="role.revoke",
            object_type="role_binding",
            object_id=str(row["id"]),
            before={"principal": principal, "role": parsed.value, "project": scope},
            after=None,
            project=None if scope == GLOBAL else scope,
            at_ms=now,
        )
    return Binding(**row)


def list_bindings(store: Store, *, principal: str | None = None, project: str | None = None) -> list[Binding]:
    with store.connect() as conn:
        rows = repo.list_bindings(conn, principal=principal, project=project)
    return [Binding(**r) for r in rows]


def bootstrap_owner(store: Store, owner: str, clock: Clock | None = None) -> Binding | None:
    """Make ``owner`` a workspace-wide admin if nobody holds any role yet (a fresh workspace). Audited."""
    now = utc_ms((clock or SystemClock()).now())
    with store.begin() as conn:
        if repo.list_bindings(conn):
            return None
        binding = Binding(new_id(now), _check_name(owner), Role.ADMIN.value, GLOBAL, owner, now)
        repo.insert_binding(conn, binding.to_dict())
        audit_store.append_event(
            conn,
            actor=owner,
            action="role.bootstrap",
            object_type="role_binding",
            object_id=binding.id,
            before=None,
            after={"principal": owner, "role": Role.ADMIN.value, "project": GLOBAL},
            at_ms=now,
        )
    return binding


def record_display_name(store: Store, principal: str, display: str, clock: Clock | None = None) -> None:
    """Audit that a local session of ``principal`` (the OS user) gave itself the display name ``display``
    (``TRIOPS_USER``): the actor stays the principal; the name grants and changes nothing."""
    now = utc_ms((clock or SystemClock()).now())
    with store.begin() as conn:
        audit_store.append_event(
            conn,
            actor=principal,
            action="identity.display_name",
            object_type="principal",
            object_id=principal,
            before=None,
            after={"principal": principal, "display_name": display[:250]},
            at_ms=now,
        )


def acting_principal(store: Store, name: str, clock: Clock | None = None) -> Principal:
    """Who a local command or SDK call acts as: ``name`` (the OS user) with exactly the roles bound to it.

    A user without bindings holds no permission at all (never admin). The one exception is the creation of
    a local SQLite workspace: while its store holds no binding whatsoever, the first user to open it becomes
    its owner (a workspace-wide ``admin`` binding, audited as ``role.bootstrap``). A PostgreSQL store is
    never bootstrapped implicitly: ``triops init --admin NAME`` does it, once.
    """
    with store.connect() as conn:
        loaded = load_principal(conn, name)
        fresh = not loaded.roles and store.dialect == "sqlite" and not repo.list_bindings(conn)
    if fresh:
        bootstrap_owner(store, name, clock)
        # Reloaded even when another process bootstrapped first: it may have made this same user the owner.
        with store.connect() as conn:
            loaded = load_principal(conn, name)
    return loaded
