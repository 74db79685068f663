"""Browser sessions of the web app: made from an API token at login, ended at logout or with the token.

Only the sha256 of the cookie value is stored. A session is valid while it has not ended, has not expired,
and the token it was made from is still valid (not revoked, not expired) — so revoking a token logs its
browser sessions out at their next request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from triops.store.repositories.tokens import Principal, authenticate
from triops.store.tables import api_tokens, users
from triops.store.tables_web import web_sessions


@dataclass(frozen=True, slots=True)
class WebSession:
    principal: Principal
    csrf: str
    expires_ms: int


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def open_session(
    conn: Connection, token: str, now_ms: int, lifetime_ms: int
) -> tuple[str, WebSession] | None:
    """A new session for ``token`` (None when the token is wrong, revoked or expired): (cookie value, session)."""
    principal = authenticate(conn, token, now_ms)
    if principal is None or principal.token_id is None:
        return None
    cookie = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    expires = now_ms + lifetime_ms
    conn.execute(
        web_sessions.insert().values(
            id_hash=_hash(cookie),
            token_id=principal.token_id,
            user_name=principal.user_name,
            csrf=csrf,
            created_ms=now_ms,
            expires_ms=expires,
        )
    )
    return cookie, WebSession(principal, csrf, expires)


def find_session(conn: Connection, cookie: str, now_ms: int) -> WebSession | None:
    row = conn.execute(
        sa.select(
            web_sessions.c.csrf,
            web_sessions.c.expires_ms,
            api_tokens.c.id,
            api_tokens.c.expires_ms.label("token_expires"),
            api_tokens.c.revoked_ms,
            users.c.id.label("user_id"),
            users.c.name,
            users.c.kind,
        )
        .join(api_tokens, api_tokens.c.id == web_sessions.c.token_id)
        .join(users, users.c.id == api_tokens.c.user_id)
        .where(web_sessions.c.id_hash == _hash(cookie), web_sessions.c.ended_ms.is_(None))
    ).first()
    if row is None or row.expires_ms <= now_ms or row.revoked_ms is not None:
        return None
    if row.token_expires is not None and row.token_expires <= now_ms:
        return None
    principal = Principal(user_id=row.user_id, user_name=row.name, kind=row.kind, token_id=row.id)
    return WebSession(principal, row.csrf, row.expires_ms)


def end_session(conn: Connection, cookie: str, now_ms: int) -> None:
    conn.execute(
        web_sessions.update()
        .where(web_sessions.c.id_hash == _hash(cookie), web_sessions.c.ended_ms.is_(None))
        .values(ended_ms=now_ms)
    )


__all__ = ["WebSession", "end_session", "find_session", "open_session"]
