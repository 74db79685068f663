"""What every page shares: who is looking (session or ``--dev``), CSRF on forms, HTML errors.

A page runs as the session's user over the same workspace services as the API (``ws.acting_as``), so roles
apply identically; a missing or ended session (logged out, expired, its token revoked or expired) sends the
browser to the login page — a form posted then is not applied. Every form carries the session's CSRF token;
a POST without it, or with another session's, is refused with 403. Errors render as HTML pages with the
status the API would answer (a project the user cannot read is 404).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute

from triops.domain.clock import utc_ms
from triops.errors import TriopsError
from triops.server.auth import DEV_PRINCIPAL
from triops.server.authz import roles_of
from triops.server.web.render import render_error
from triops.store.repositories.web_sessions import find_session
from triops.workspace import Workspace

SESSION_COOKIE = "triops_session"
LOGIN_CSRF_COOKIE = "triops_login_csrf"
SESSION_LIFETIME_MS = 8 * 3600 * 1000


class LoginRequired(Exception):
    """No valid session: the browser goes to the login page."""


class CsrfRefused(Exception):
    """A form without the session's CSRF token."""


@dataclass
class Page:
    """One page request: the acting workspace, the user's name and the CSRF token for its forms."""

    request: Request
    ws: Workspace
    user: str
    csrf: str
    dev: bool


def dev_csrf(request: Request) -> str:
    state = request.app.state
    token: str | None = getattr(state, "web_dev_csrf", None)
    if token is None:
        token = state.web_dev_csrf = secrets.token_urlsafe(32)
    return token


def page_context(request: Request) -> Page:
    app_ws: Workspace = request.app.state.workspace
    if request.app.state.dev:
        who, csrf = DEV_PRINCIPAL, dev_csrf(request)
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            raise LoginRequired
        with app_ws.store.connect() as conn:
            session = find_session(conn, cookie, utc_ms(app_ws.clock.now()))
        if session is None:
            raise LoginRequired
        who, csrf = session.principal, session.csrf
    ws = app_ws.acting_as(roles_of(request, who))
    return Page(request, ws, who.user_name, csrf, bool(request.app.state.dev))


PageDep = Annotated[Page, Depends(page_context)]


async def posted_form(request: Request, page: PageDep) -> dict[str, str]:
    """The posted form's fields, after its CSRF token matched the session's (403 otherwise)."""
    form = await request.form()
    given = form.get("csrf")
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), page.csrf.encode()):
        raise CsrfRefused
    return {k: v for k, v in form.items() if isinstance(v, str)}


FormDep = Annotated[dict[str, str], Depends(posted_form)]


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        target = "/"  # a form posted without a session is dropped, never replayed after login
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


class WebRoute(APIRoute):
    """Turns errors into HTML: login redirects, 403 for CSRF, and TriopsError as its HTTP status."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                response = await handler(request)
            except LoginRequired:
                return login_redirect(request)
            except CsrfRefused:
                return render_error(
                    request,
                    403,
                    "Forbidden",
                    "the form's security token is missing or stale; reload the page and submit again",
                )
            except RequestValidationError as exc:
                named = "; ".join(
                    f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg', '')}"
                    for e in exc.errors()[:3]
                )
                return render_error(request, 422, "Cannot do that", f"the address is not valid: {named}")
            except TriopsError as exc:
                title = {404: "Not found", 403: "Forbidden", 409: "Conflict"}.get(
                    exc.status, "Cannot do that"
                )
                return render_error(request, exc.status, title, exc.message, exc.hint)
            response.headers.setdefault("Cache-Control", "no-store")
            return response

        return run


def html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status)


__all__ = [
    "LOGIN_CSRF_COOKIE",
    "SESSION_COOKIE",
    "SESSION_LIFETIME_MS",
    "CsrfRefused",
    "FormDep",
    "LoginRequired",
    "Page",
    "PageDep",
    "WebRoute",
    "html",
    "page_context",
    "posted_form",
    "render_error",
]
