"""The learners' side of a live workshop: join with the code and a display name (no account), answer the
scenario assessment with feedback after each answer, run the simulation as a group.

A learner is identified by a random key held in an HttpOnly, SameSite=Strict cookie scoped to ``/w``; the
join form carries that key and a double-submit CSRF token, every later form the learner's own token. A code
that does not exist (404) or a closed workshop (409) answers with a page saying so.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from triops.errors import InvalidInputError
from triops.server.web.core import WebRoute
from triops.server.web.pages_workshop_wardley import router as wardley_router
from triops.server.web.render import render
from triops.server.web.sim_pool import run_cpu
from triops.server.web.workshop_charts import interval_chart, radar_chart
from triops.server.web.workshop_learners import (
    LEARNER_COOKIE,
    LEARNER_TURN,
    LearnerFormDep,
    check_csrf,
    service_of,
    turns,
)
from triops.strategy.group_run import GroupSimulation, run_group_simulation
from triops.workspace.workshop import WorkshopService, maturity_model, normalise_code, sim_controls
from triops.workspace.workshop_results import COMPARED, PILLARS
from triops.workspace.workshop_works import MAX_ACTIONS, PHASES, roadmap_markdown, save_roadmap, work_of

router = APIRouter(route_class=WebRoute, include_in_schema=False)
JOIN_CSRF_COOKIE = "triops_join_csrf"


def _form_fields(form: Any) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _join_form(request: Request, code: str = "", error: str | None = None, status: int = 200) -> Response:
    csrf, key = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
    response = render(
        request, "workshop_join.html", status=status, code=code, error=error, join_csrf=csrf, key=key
    )
    secure = request.url.scheme == "https"
    response.set_cookie(JOIN_CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=secure, path="/w")
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/w", dependencies=[LEARNER_TURN])
def join_page(request: Request, code: str = "") -> Response:
    return _join_form(request, normalise_code(code))


@router.post("/w/join", dependencies=[LEARNER_TURN])
def join(request: Request, posted: LearnerFormDep) -> Response:
    form = _form_fields(posted)
    check_csrf(form.get("csrf"), request.cookies.get(JOIN_CSRF_COOKIE))
    service = service_of(request)
    learner = service.join(form.get("code", ""), form.get("name", ""), form.get("key", ""))
    session = service.find(form.get("code", ""))
    assert session is not None
    response = RedirectResponse(f"/w/{session['code']}", status_code=303)
    response.set_cookie(
        LEARNER_COOKIE,
        form["key"],
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/w",
        max_age=24 * 3600,
    )
    del learner
    return response


def _learner(request: Request, code: str) -> tuple[WorkshopService, dict[str, Any], dict[str, Any] | None]:
    service = service_of(request)
    session, learner = service.learner(code, request.cookies.get(LEARNER_COOKIE))
    return service, session, learner


@router.get("/w/{code}", dependencies=[LEARNER_TURN])
def learner_home(request: Request, code: str, feedback: str = "") -> Response:
    service, session, learner = _learner(request, code)
    if learner is None:
        return RedirectResponse(f"/w?code={session['code']}", status_code=303)
    context: dict[str, Any] = {
        "session": session,
        "learner": learner,
        "closed": session["closed_ms"] is not None,
    }
    if "scenarios" in session["tools"]:
        quiz = service.quiz(session)
        mine = service.answers_of(learner)
        context["shown_feedback"] = quiz.answer(feedback, mine[feedback]) if feedback in mine else None
        context["next_question"] = next((q for q in quiz.questions if q.scenario_id not in mine), None)
        context["answered"] = len(mine)
        context["total"] = len(quiz.questions)
        if len(mine) == len(quiz.questions):
            context["result"] = service.grade(session, mine)
    if "simulation" in session["tools"]:
        level = service.sim_level(session)
        ctl = sim_controls(level)
        context["sim_level"] = level
        context["sim_choices"] = ctl.levers if level == "intro" else ctl.practices
    polls = service.polls(session)
    if polls:
        context["poll"] = polls[0]
        context["my_vote"] = polls[0]["voters"].get(learner["id"])
    if "maturity" in session["tools"]:
        context["dimensions"] = maturity_model().dimensions
        context["saved_roadmap"] = work_of(service, session, learner, "roadmap") is not None
    return render(request, "workshop_learner.html", **context)


@router.post("/w/{code}/answer", dependencies=[LEARNER_TURN])
def answer(request: Request, code: str, posted: LearnerFormDep) -> Response:
    form = _form_fields(posted)
    service, session, learner = _learner(request, code)
    if learner is None:
        return RedirectResponse(f"/w?code={session['code']}", status_code=303)
    check_csrf(form.get("csrf"), learner["csrf"])
    scenario = form.get("scenario_id", "")
    service.answer(code, learner, scenario, form.get("letter", ""))
    return RedirectResponse(f"/w/{session['code']}?feedback={scenario}#feedback", status_code=303)


@router.post("/w/{code}/simulate")
async def simulate(request: Request, code: str, posted: LearnerFormDep) -> Response:
    """Checked and stored in the server's threads (taking a learner's turn each time), simulated in its
    simulation pool: the event loop and the interpreter lock stay free for the projector and the other
    learners while a group's run computes."""
    form = _form_fields(posted)
    choices = [v for v in posted.getlist("choice") if isinstance(v, str)]
    async with turns():
        planned = await run_in_threadpool(_plan_simulation, request, code, form, choices)
    if isinstance(planned, Response):
        return planned
    service, session, learner, plan = planned
    outcome = await run_cpu(run_group_simulation, plan)  # no turn held: the pool queues the groups
    async with turns():
        return await run_in_threadpool(_simulated, request, service, session, learner, plan, outcome)


def _plan_simulation(
    request: Request, code: str, form: dict[str, str], choices: list[str]
) -> Response | tuple[WorkshopService, dict[str, Any], dict[str, Any], GroupSimulation]:
    service, session, learner = _learner(request, code)
    if learner is None:
        return RedirectResponse(f"/w?code={session['code']}", status_code=303)
    check_csrf(form.get("csrf"), learner["csrf"])
    return service, session, learner, service.plan_simulation(code, learner, form.get("group", ""), choices)


def _simulated(
    request: Request,
    service: WorkshopService,
    session: dict[str, Any],
    learner: dict[str, Any],
    plan: GroupSimulation,
    result: dict[str, Any],
) -> Response:
    outcome = service.save_simulation(plan, result)
    bands = [
        (name, summary.get("low"), summary.get("median"), summary.get("high"))
        for name, summary in (
            ("siloed baseline", outcome["baseline"]["net_value"]),
            (outcome["group"], outcome["mix"]["net_value"]),
        )
    ]
    chart = interval_chart("Net value (thousands): 90 % interval and median", bands)
    return render(
        request,
        "workshop_sim_result.html",
        session=session,
        learner=learner,
        outcome=outcome,
        chart=chart,
        compared=COMPARED,
    )


@router.post("/w/{code}/maturity", dependencies=[LEARNER_TURN])
def maturity(request: Request, code: str, posted: LearnerFormDep) -> Response:
    form = _form_fields(posted)
    service, session, learner = _learner(request, code)
    if learner is None:
        return RedirectResponse(f"/w?code={session['code']}", status_code=303)
    check_csrf(form.get("csrf"), learner["csrf"])
    answers: dict[str, int] = {}
    for dim in maturity_model().dimensions:
        raw = form.get(f"dim_{dim.id}", "")
        if raw not in ("0", "1", "2", "3", "4"):
            raise InvalidInputError(f"dim_{dim.id}: choose a level 0-4 for {dim.name}")
        answers[dim.id] = int(raw)
    result, roadmap = service.assess(code, learner, answers)
    levels = {p.pillar: p.level for p in result.pillars}
    chart = radar_chart(
        "Your maturity by pillar (levels 0-4)",
        PILLARS,
        [("your self-assessment", [float(levels.get(p) or 0) for p in PILLARS])],
    )
    phases = {
        str(days): [
            {"title": a.title, "owner": a.owner_role, "done": a.done.description, "reason": a.reason}
            for a in roadmap.actions
            if a.phase_days == days
        ]
        for days in (30, 60, 90)
    }
    return render(
        request,
        "workshop_maturity.html",
        session=session,
        learner=learner,
        result=result,
        levels=levels,
        pillars=PILLARS,
        chart=chart,
        phases=phases,
        later=roadmap.later,
    )


router.include_router(wardley_router)


def _roadmap_actions(form: dict[str, str]) -> list[dict[str, str]]:
    """The edited roadmap posted by the roadmap form (actions moved to "drop" are left out)."""
    raw = form.get("count", "0")
    if not raw.isdigit() or int(raw) > MAX_ACTIONS:
        raise InvalidInputError("count: the roadmap form is incomplete; reload the page")
    actions = []
    for i in range(1, int(raw) + 1):
        phase = form.get(f"phase_{i}", "")
        if phase == "drop":
            continue
        if phase not in PHASES:
            raise InvalidInputError(f"phase_{i}: choose 30, 60, 90, later or drop")
        actions.append(
            {
                "phase": phase,
                "title": " ".join(form.get(f"title_{i}", "").split())[:200],
                "owner": " ".join(form.get(f"owner_{i}", "").split())[:120],
                "done": " ".join(form.get(f"done_{i}", "").split())[:500],
            }
        )
    return actions


@router.post("/w/{code}/roadmap.md", dependencies=[LEARNER_TURN])
def roadmap_download(request: Request, code: str, posted: LearnerFormDep) -> Response:
    """The learner's edited roadmap as Markdown, from the posted form (saving it is a separate button)."""
    form = _form_fields(posted)
    _, session, learner = _learner(request, code)
    if learner is None:
        return RedirectResponse(f"/w?code={session['code']}", status_code=303)
    check_csrf(form.get("csrf"), learner["csrf"])
    lines = roadmap_markdown(f"30-60-90-day roadmap ({session['title']})", _roadmap_actions(form))
    return Response(
        "\n".join(lines),
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="roadmap.md"', "Cache-Control": "no-store"},
    )


@router.post("/w/{code}/roadmap", dependencies=[LEARNER_TURN])
def roadmap_save(request: Request, code: str, posted: LearnerFormDep) -> Response:
    """Store the learner's edited roadmap with the session (the facilitator can project it; it is in the
    export and deleted with the session), then show it again for more edits."""
    form = _form_fields(posted)
    service, session, learner = _learner(request, code)
    if learner is None:
        return RedirectResponse(f"/w?code={session['code']}", status_code=303)
    check_csrf(form.get("csrf"), learner["csrf"])
    save_roadmap(service, code, learner, _roadmap_actions(form))
    return RedirectResponse(f"/w/{session['code']}/roadmap?saved=1", status_code=303)


@router.get("/w/{code}/roadmap", dependencies=[LEARNER_TURN])
def roadmap_page(request: Request, code: str, saved: int = 0) -> Response:
    service, session, learner = _learner(request, code)
    if learner is None:
        return RedirectResponse(f"/w?code={session['code']}", status_code=303)
    content = work_of(service, session, learner, "roadmap")
    if content is None:
        return RedirectResponse(f"/w/{session['code']}#maturity", status_code=303)
    phases = {
        phase: [{**a, "reason": ""} for a in content["actions"] if a["phase"] == phase] for phase in PHASES
    }
    return render(
        request, "workshop_roadmap.html", session=session, learner=learner, phases=phases, saved=bool(saved)
    )


@router.post("/w/{code}/vote", dependencies=[LEARNER_TURN])
def vote(request: Request, code: str, posted: LearnerFormDep) -> Response:
    form = _form_fields(posted)
    service, session, learner = _learner(request, code)
    if learner is None:
        return RedirectResponse(f"/w?code={session['code']}", status_code=303)
    check_csrf(form.get("csrf"), learner["csrf"])
    raw = form.get("choice", "")
    if not raw.isdigit():
        raise InvalidInputError("choice: pick one of the poll's options")
    service.vote(code, learner, form.get("poll_id", ""), int(raw))
    return RedirectResponse(f"/w/{session['code']}#poll", status_code=303)
