"""The facilitator's side of a live workshop: open a session (title, learner level, tools), its console
with the join code, the projector (live pooled results, polled from ``results.json`` by /static/workshop.js),
the learners' saved roadmaps and Wardley maps (``/work``), close, export (Markdown, JSON) and delete. ``workshop.run`` is checked by the service."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from markupsafe import Markup

from triops.errors import InvalidInputError
from triops.server.web.core import FormDep, Page, PageDep, WebRoute
from triops.server.web.render import register_section, render
from triops.server.web.state_cache import principal_key, state_cache
from triops.server.web.workshop_charts import interval_chart, radar_chart
from triops.workspace.workshop import LEVELS, TOOLS, WorkshopService
from triops.workspace.workshop_results import COMPARED, PILLARS, export_json, export_markdown, pooled
from triops.workspace.workshop_works import PHASES, works

router = APIRouter(route_class=WebRoute, include_in_schema=False)
register_section("Workshops", "/workshops")

LABELS = {
    "net_value": "Net value (k)",
    "projects_in_production": "Projects in production",
    "time_to_production_weeks": "Weeks to production",
    "total_cost": "Total cost (k)",
    "incidents": "Incidents",
}


def join_url(page: Page, code: str) -> str:
    return f"{str(page.request.base_url).rstrip('/')}/w?code={code}"


def live_context(data: dict[str, Any]) -> dict[str, Any]:
    """The projector's live part: pooled numbers plus one interval chart per compared outcome."""
    charts = []
    if data["groups"]:
        for key in ("net_value", "projects_in_production"):
            bands = [("siloed baseline", *_band(data["groups"][0]["baseline"].get(key)))]
            bands += [(g["group"], *_band(g["mix"].get(key))) for g in data["groups"]]
            charts.append(interval_chart(f"{LABELS[key]}: 90 % interval and median by group", bands))
    radar = None
    if data["maturity"]["assessed"]:
        m = data["maturity"]
        radar = radar_chart(
            f"Mean maturity by pillar over {m['assessed']} self-assessments (levels 0-4)",
            PILLARS,
            [("mean", [float(m["mean"][p] or 0) for p in PILLARS])],
        )
    return {
        "data": data,
        "charts": charts,
        "radar": radar,
        "pillars": PILLARS,
        "compared": COMPARED,
        "labels": LABELS,
    }


def _pooled(page: Page, service: WorkshopService, session: dict[str, Any]) -> dict[str, Any]:
    """The session's pooled results, computed once per store state: the projector's poll and the live part
    it then asks for read the same answers, and a poll while nobody wrote recomputes nothing."""
    key = ("workshop.pooled", session["id"], principal_key(page.ws.principal))
    return state_cache(page.request).get(key, lambda: pooled(service, session))


def _band(summary: dict[str, Any] | None) -> tuple[Any, Any, Any]:
    s = summary or {}
    return s.get("low"), s.get("median"), s.get("high")


@router.get("/workshops")
def workshops(page: PageDep) -> Response:
    service = WorkshopService(page.ws)
    return render(
        page.request, "workshop_list.html", page=page, sessions=service.sessions(), levels=LEVELS, tools=TOOLS
    )


@router.post("/workshops")
def open_workshop(page: PageDep, form: FormDep) -> Response:
    tools = [t for t in TOOLS if form.get(f"tool_{t}")]
    raw = form.get("questions", "6").strip() or "6"
    if not raw.isdigit():
        raise InvalidInputError("questions must be a whole number")
    session = WorkshopService(page.ws).open(
        form.get("title", ""), form.get("level", ""), tools, int(raw), prefill=bool(form.get("prefill"))
    )
    return RedirectResponse(f"/workshops/{session['code']}", status_code=303)


@router.get("/workshops/{code}")
def console(page: PageDep, code: str) -> Response:
    service = WorkshopService(page.ws)
    session = service.facilitated(code)
    data = _pooled(page, service, session)
    return render(
        page.request,
        "workshop_console.html",
        page=page,
        session=session,
        join=join_url(page, session["code"]),
        **live_context(data),
    )


@router.get("/workshops/{code}/projector")
def projector(page: PageDep, code: str, part: str = "") -> Response:
    service = WorkshopService(page.ws)
    session = service.facilitated(code)
    context = live_context(_pooled(page, service, session))
    if part == "live":
        return render(page.request, "workshop_live.html", page=page, session=session, **context)
    return render(
        page.request,
        "workshop_projector.html",
        page=page,
        session=session,
        join=join_url(page, session["code"]),
        **context,
    )


@router.get("/workshops/{code}/results.json")
def results(page: PageDep, code: str) -> Response:
    service = WorkshopService(page.ws)
    data = _pooled(page, service, service.facilitated(code))
    runs = [g["ran_ms"] for g in data["groups"]]
    votes = [p["counts"] for p in data["polls"]]
    saved = [w["saved_ms"] for w in data["works"]]
    stamp = [data["learners"], data["answers"], runs, data["maturity"]["mean"], votes, data["closed"], saved]
    return JSONResponse({**data, "version": json.dumps(stamp)})


@router.get("/workshops/{code}/work")
def learners_work(page: PageDep, code: str, learner: str = "") -> Response:
    """The learners' saved roadmaps and Wardley maps, big enough for the projector (one learner with
    ``?learner=NAME``)."""
    service = WorkshopService(page.ws)
    session = service.facilitated(code)
    saved = works(service, session)
    shown = [w for w in saved if not learner or w["learner"] == learner]
    maps = {}
    for w in shown:
        if w["kind"] == "wardley":
            maps[w["learner"]] = Markup(page.ws.strategy.wardley_render(w["content"]["text"]).svg)  # noqa: S704 - the renderer escapes every text
    return render(
        page.request,
        "workshop_work.html",
        page=page,
        session=session,
        names=sorted({w["learner"] for w in saved}),
        learner=learner,
        works=shown,
        maps=maps,
        phases=PHASES,
    )


@router.get("/workshops/{code}/export.json")
def export_as_json(page: PageDep, code: str) -> Response:
    service = WorkshopService(page.ws)
    session = service.facilitated(code)
    return JSONResponse(
        export_json(service, session),
        headers={"Content-Disposition": f'attachment; filename="workshop-{session["code"]}.json"'},
    )


@router.get("/workshops/{code}/export.md")
def export_as_markdown(page: PageDep, code: str) -> Response:
    service = WorkshopService(page.ws)
    session = service.facilitated(code)
    return PlainTextResponse(
        export_markdown(service, session),
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="workshop-{session["code"]}.md"'},
    )


@router.post("/workshops/{code}/polls")
def open_poll(page: PageDep, code: str, form: FormDep) -> Response:
    options = form.get("options", "").splitlines()
    WorkshopService(page.ws).open_poll(code, form.get("question", ""), options)
    return RedirectResponse(f"/workshops/{code}#polls", status_code=303)


@router.post("/workshops/{code}/close")
def close(page: PageDep, code: str, form: FormDep) -> Response:
    WorkshopService(page.ws).close(code)
    return RedirectResponse(f"/workshops/{code}", status_code=303)


@router.post("/workshops/{code}/delete")
def delete(page: PageDep, code: str, form: FormDep) -> Response:
    if form.get("confirm", "").strip().upper() != code.upper():
        raise InvalidInputError(
            "confirm: type the workshop's code to delete it", hint="this cannot be undone"
        )
    WorkshopService(page.ws).delete(code)
    return RedirectResponse("/workshops", status_code=303)
