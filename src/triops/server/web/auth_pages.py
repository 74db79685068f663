"""Login (an API token in, an HttpOnly SameSite=Strict session cookie out) and logout.

The login form is protected by a double-submit CSRF token (a cookie and a hidden field that must match),
since no session exists yet. A wrong, revoked or expired token answers the form again with one line and
401, never saying which part was wrong. ``--dev`` servers need no login.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from triops.domain.clock import utc_ms
from triops.server.web.core import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    SESSION_LIFETIME_MS,
    FormDep,
    WebRoute,
    render_error,
)
from triops.server.web.render import render
from triops.store.repositories.web_sessions import end_session, open_session
from triops.workspace import Workspace

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # only a path on this server: never an absolute URL or a scheme-relative //host
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _login_form(request: Request, error: str | None = None, status: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        status=status,
        login_csrf=token,
        error=error,
        next=_safe_next(request.query_params.get("next")),
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request), path="/login"
    )
    return response


@router.get("/login")
def login_page(request: Request) -> Response:
    if request.app.state.dev:
        return RedirectResponse("/", status_code=303)
    return _login_form(request)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    given, expected = form.get("csrf"), request.cookies.get(LOGIN_CSRF_COOKIE)
    if (
        not isinstance(given, str)
        or not expected
        or not hmac.compare_digest(given.encode(), expected.encode())
    ):
        return render_error(
            request,
            403,
            "Forbidden",
            "the login form's security token is missing or stale; reload the login page and try again",
        )
    token = form.get("token")
    ws: Workspace = request.app.state.workspace
    now = utc_ms(ws.clock.now())
    opened = None
    if isinstance(token, str) and 0 < len(token) <= 200:
        opened = ws.store.write(lambda conn: open_session(conn, token.strip(), now, SESSION_LIFETIME_MS))
    if opened is None:
        return _login_form(request, "That token is not valid (wrong, revoked or expired).", status=401)
    cookie, _ = opened
    target = form.get("next")
    response = RedirectResponse(_safe_next(target if isinstance(target, str) else None), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        max_age=SESSION_LIFETIME_MS // 1000,
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, form: FormDep) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    ws: Workspace = request.app.state.workspace
    if cookie:
        now = utc_ms(ws.clock.now())
        ws.store.write(lambda conn: end_session(conn, cookie, now))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
