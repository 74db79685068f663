"""Users and API tokens. Tokens are random, shown once, and stored only as their sha256."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from triops.domain.ids import new_id
from triops.domain.validation import check_name
from triops.errors import InvalidInputError, NotFoundError
from triops.store.audit import append_event
from triops.store.tables import api_tokens, users
from triops.store.tables_governance import role_bindings

TOKEN_PREFIX = "tri_"


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str
    user_name: str
    kind: str
    token_id: str | None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def ensure_user(
    conn: Connection, name: str, now_ms: int, kind: str = "user", actor: str | None = None
) -> str:
    check_name(name, "user name")
    if kind not in ("user", "service"):
        raise InvalidInputError(f"invalid user kind {kind!r}", hint="use 'user' or 'service'")
    found = conn.execute(sa.select(users.c.id).where(users.c.name == name)).scalar()
    if found is not None:
        return str(found)
    user_id = new_id(now_ms)
    conn.execute(users.insert().values(id=user_id, name=name, kind=kind, created_ms=now_ms))
    append_event(
        conn,
        actor=actor or name,
        action="user.create",
        object_type="user",
        object_id=user_id,
        before=None,
        after={"name": name, "kind": kind},
        at_ms=now_ms,
    )
    return user_id


def list_users(conn: Connection) -> list[dict[str, object]]:
    rows = conn.execute(
        sa.select(users.c.name, users.c.kind, users.c.created_ms, users.c.disabled_ms).order_by(users.c.name)
    )
    return [dict(r._mapping) for r in rows]


def set_user_disabled(conn: Connection, name: str, now_ms: int, actor: str, disabled: bool = True) -> None:
    """Disable (or re-enable) a user: a disabled user's tokens authenticate nobody. Audited."""
    row = conn.execute(sa.select(users.c.id, users.c.disabled_ms).where(users.c.name == name)).first()
    if row is None:
        raise NotFoundError(f"no user {name!r}", hint="list users with `triops user list`")
    value = now_ms if disabled else None
    conn.execute(users.update().where(users.c.id == row[0]).values(disabled_ms=value))
    append_event(
        conn,
        actor=actor,
        action="user.disable" if disabled else "user.enable",
        object_type="user",
        object_id=str(row[0]),
        before={"name": name, "disabled_ms": row[1]},
        after={"name": name, "disabled_ms": value},
        at_ms=now_ms,
    )


def create_token(
    conn: Connection,
    user_name: str,
    token_name: str,
    now_ms: int,
    expires_ms: int | None = None,
    actor: str | None = None,
) -> tuple[str, str]:
    """Returns (token id, the token itself). The token is not stored and cannot be shown again."""
    check_name(token_name, "token name")
    user_id = ensure_user(conn, user_name, now_ms, actor=actor)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = new_id(now_ms)
    conn.execute(
        api_tokens.insert().values(
            id=token_id,
            user_id=user_id,
            name=token_name,
            token_hash=hash_token(token),
            prefix=token[:8],
            created_ms=now_ms,
            expires_ms=expires_ms,
        )
    )
    # the audit event names the token, never its value or hash
    after = {"user": user_name, "name": token_name, "prefix": token[:8], "expires_ms": expires_ms}
    append_event(
        conn,
        actor=actor or user_name,
        action="token.create",
        object_type="token",
        object_id=token_id,
        before=None,
        after=after,
        at_ms=now_ms,
    )
    return token_id, token


# built once: every authenticated request runs it, and building a select costs more than running it
_AUTHENTICATE = (
    sa.select(
        api_tokens.c.id,
        api_tokens.c.expires_ms,
        api_tokens.c.revoked_ms,
        users.c.id,
        users.c.name,
        users.c.kind,
        users.c.disabled_ms,
    )
    .join(users, users.c.id == api_tokens.c.user_id)
    .where(api_tokens.c.token_hash == sa.bindparam("token_hash"))
)


# the token, its user and the user's role bindings (one row per binding; NULLs when there is none)
_AUTHENTICATE_WITH_BINDINGS = _AUTHENTICATE.add_columns(
    role_bindings.c.project, role_bindings.c.role
).outerjoin(role_bindings, role_bindings.c.principal == users.c.name)


def _valid(row: Any, now_ms: int) -> Principal | None:
    token_id, expires_ms, revoked_ms, user_id, user_name, kind, disabled_ms = row[:7]
    if disabled_ms is not None:
        return None
    if revoked_ms is not None or (expires_ms is not None and expires_ms <= now_ms):
        return None
    return Principal(user_id=user_id, user_name=user_name, kind=kind, token_id=token_id)


def authenticate(conn: Connection, token: str, now_ms: int) -> Principal | None:
    row = conn.execute(_AUTHENTICATE, {"token_hash": hash_token(token)}).first()
    return None if row is None else _valid(row, now_ms)


def authenticate_with_bindings(
    conn: Connection, token: str, now_ms: int
) -> tuple[Principal, list[tuple[str, str]]] | None:
    """``authenticate`` and the user's role bindings as ``(project, role)`` pairs (``project`` as stored:
    ``*`` for every project), read in one statement: a server request reads both, and each statement
    costs more than the rows it returns."""
    rows = conn.execute(_AUTHENTICATE_WITH_BINDINGS, {"token_hash": hash_token(token)}).all()
    principal = None if not rows else _valid(rows[0], now_ms)
    if principal is None:
        return None
    return principal, [(str(r[7]), str(r[8])) for r in rows if r[8] is not None]


def revoke_token(conn: Connection, token_id: str, now_ms: int, actor: str = "local") -> None:
    result = conn.execute(
        api_tokens.update()
        .where(api_tokens.c.id == token_id, api_tokens.c.revoked_ms.is_(None))
        .values(revoked_ms=now_ms)
    )
    if result.rowcount == 0:
        raise NotFoundError(
            f"no active token with id {token_id!r}", hint="list tokens with `triops token list`"
        )
    append_event(
        conn,
        actor=actor,
        action="token.revoke",
        object_type="token",
        object_id=token_id,
        before={"revoked_ms": None},
        after={"revoked_ms": now_ms},
        at_ms=now_ms,
    )


def list_tokens(conn: Connection) -> list[dict[str, object]]:
    rows = conn.execute(
        sa.select(
            api_tokens.c.id,
            users.c.name.label("user"),
            api_tokens.c.name,
            api_tokens.c.prefix,
            api_tokens.c.created_ms,
            api_tokens.c.expires_ms,
            api_tokens.c.revoked_ms,
        )
        .join(users, users.c.id == api_tokens.c.user_id)
        .order_by(api_tokens.c.created_ms)
    ).mappings()
    return [dict(r) for r in rows]
