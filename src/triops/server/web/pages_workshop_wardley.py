"""The workshop's Wardley map editor: OWM text beside the live SVG. Typing redraws the map (the page's own
script posts the text to ``?part=preview`` after a pause and swaps in the answer); without the script the
Draw button does the same. Save stores the learner's map with the session (only a map that draws), so the
facilitator can project it and it goes into the export; the editor opens on the saved map.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from triops.errors import InvalidInputError
from triops.server.web.core import WebRoute
from triops.server.web.render import environment, render
from triops.server.web.workshop_learners import (
    LEARNER_TURN,
    LearnerFormDep,
    check_csrf,
    learner_of,
    service_of,
)
from triops.strategy.wardley import write
from triops.workspace.workshop import WorkshopService
from triops.workspace.workshop_works import save_map, work_of

router = APIRouter(route_class=WebRoute, include_in_schema=False)
MAX_TEXT = 20_000


def preview(service: WorkshopService, text: str) -> dict[str, Any]:
    """The map's SVG (trusted: the renderer XML-escapes every text) or the problems that stop drawing it."""
    if len(text) > MAX_TEXT:
        raise InvalidInputError(f"text: a map is at most {MAX_TEXT:,} characters")
    report = service.ws.strategy.wardley_check(text)
    if not report.ok:
        return {"svg": None, "errors": [str(p) for p in report.errors], "warnings": list(report.warnings)}
    drawn = service.ws.strategy.wardley_render(text)
    warnings = list(dict.fromkeys([*report.warnings, *drawn.warnings]))
    return {"svg": Markup(drawn.svg), "errors": [], "warnings": warnings}  # noqa: S704 - escaped by renderer


def _editor(request: Request, service: WorkshopService, code: str) -> tuple[dict[str, Any], dict[str, Any]]:
    session, learner = learner_of(request, service, code)
    if "wardley" not in session["tools"]:
        raise InvalidInputError("this workshop has no Wardley map editor")
    return session, learner


@router.get("/w/{code}/wardley", dependencies=[LEARNER_TURN])
def editor(request: Request, code: str) -> Response:
    service = service_of(request)
    try:
        session, learner = _editor(request, service, code)
    except LookupError:
        return RedirectResponse(f"/w?code={code}", status_code=303)
    saved = work_of(service, session, learner, "wardley")
    text = saved["text"] if saved else write(service.ws.strategy.wardley_default())
    return render(
        request,
        "workshop_wardley.html",
        session=session,
        learner=learner,
        text=text,
        saved=False,
        **preview(service, text),
    )


@router.post("/w/{code}/wardley", dependencies=[LEARNER_TURN])
def draw(request: Request, code: str, form: LearnerFormDep, part: str = "") -> Response:
    service = service_of(request)
    try:
        session, learner = _editor(request, service, code)
    except LookupError:
        return RedirectResponse(f"/w?code={code}", status_code=303)
    given = form.get("csrf")
    check_csrf(given if isinstance(given, str) else None, learner["csrf"])
    raw = form.get("text")
    text = raw if isinstance(raw, str) else ""
    shown = preview(service, text)
    if part == "save":
        save_map(service, code, learner, text)
    if part == "preview":
        body = environment().get_template("workshop_wardley_preview.html").render(**shown)
        return HTMLResponse(body, headers={"Cache-Control": "no-store"})
    return render(
        request,
        "workshop_wardley.html",
        session=session,
        learner=learner,
        text=text,
        saved=part == "save",
        **shown,
    )
