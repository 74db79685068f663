"""Strategy API: portfolio simulation, the scenario quiz, the maturity assessment (with store evidence),
the 30-60-90 roadmap and Wardley maps (OWM text in, checks and SVG out). Thin over ``ws.strategy``.

Simulation sizes are bounded here more tightly than in the library (runs ≤ 20,000, projects ≤ 50, weeks
≤ 260) so that one request cannot occupy a worker for long.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from triops.errors import InvalidInputError
from triops.governance.rbac import Permission
from triops.server.authz import ActingDep, require_in
from triops.server.http import PROBLEMS
from triops.server.schemas import INT64_MAX, Name
from triops.workspace import Workspace

router = APIRouter(prefix="/strategy", tags=["strategy"], responses=PROBLEMS)
MAX_OWM = 200_000


Level = Literal["intro", "standard", "expert"]
LearnerLevel = Literal["novice", "experienced", "manager"]
Pillar = Literal["dataops", "mlops", "finops", "governance", "change"]


class SimulationIn(BaseModel):
    approaches: list[Name] = Field(default_factory=list, max_length=20)
    practices: list[Name] = Field(default_factory=list, max_length=50)
    levers: list[Name] = Field(default_factory=list, max_length=20)
    runs: Annotated[int, Field(ge=1, le=20_000)] = 2_000
    projects: Annotated[int, Field(ge=1, le=50)] = 5
    weeks: Annotated[int, Field(ge=1, le=260)] = 104
    seed: Annotated[int, Field(ge=0, le=INT64_MAX)] = 0
    level: Level = "standard"
    overrides: dict[Name, Annotated[float, Field(allow_inf_nan=False)]] = Field(
        default_factory=dict, max_length=100
    )
    neutral: bool = False
    currency: Annotated[str, Field(pattern="^[A-Z]{3}$")] | None = None


class SensitivityIn(SimulationIn):
    runs: Annotated[int, Field(ge=1, le=5_000)] = 1_000
    metric: Annotated[str, Field(max_length=100)] = "net_value"


def _bound_work(ws: Workspace, body: SimulationIn, limit: int, what: str) -> None:
    """One request may not hold a worker for minutes: runs × projects × weeks is bounded by the server's
    ``max_simulation_work`` setting (a sensitivity request by a tenth of it: it simulates each effect twice).
    The defaults fit the CLI's (2,000 × 5 × 104) and a 20,000-run simulation of 5 projects over two years."""
    work = body.runs * body.projects * body.weeks
    if work > limit:
        raise InvalidInputError(
            f"runs × projects × weeks is {work:,}; a {what} request may simulate at most {limit:,}",
            hint=f"lower runs, projects or weeks (or run `triops simulate{' --sensitivity' if what == 'sensitivity' else ''}` locally)",
            detail={"field": "runs", "limit": limit},
        )


class Attempt(BaseModel):
    """What identifies a quiz attempt: the same values give the same questions and letters."""

    level: LearnerLevel = "experienced"
    seed: Annotated[int, Field(ge=0, le=INT64_MAX)] = 0
    pillars: list[Pillar] = Field(default_factory=list, max_length=5)
    count: Annotated[int, Field(ge=1, le=500)] | None = None

    def options(self) -> dict[str, Any]:
        return {"level": self.level, "seed": self.seed, "pillars": self.pillars or None, "count": self.count}


class AnswerIn(Attempt):
    scenario_id: Annotated[str, Field(min_length=1, max_length=100)]
    letter: Annotated[str, Field(min_length=1, max_length=5)]


class QuizAnswers(Attempt):
    answers: dict[Annotated[str, Field(max_length=100)], Annotated[str, Field(max_length=5)]] = Field(
        max_length=500
    )


class MaturityIn(BaseModel):
    answers: dict[Annotated[str, Field(max_length=100)], Annotated[int, Field(ge=0, le=4)]] = Field(
        default_factory=dict, max_length=200
    )
    from_store: bool = True
    save: bool = True


class RoadmapIn(BaseModel):
    assessment: dict[str, Any] = Field(description="a maturity result as POST /strategy/maturity returns it")
    capacity: Annotated[int, Field(ge=1, le=100)] = 8


class OwmIn(BaseModel):
    text: Annotated[str, Field(min_length=1, max_length=MAX_OWM)]


def _simulation_options(body: SimulationIn) -> dict[str, Any]:
    return {
        "practices": body.practices,
        "runs": body.runs,
        "projects": body.projects,
        "weeks": body.weeks,
        "seed": body.seed,
        "level": body.level,
        "overrides": body.overrides or None,
        "neutral": body.neutral,
        "currency": body.currency,
    }


@router.post("/simulate")
def simulate(ws: ActingDep, body: SimulationIn) -> dict[str, Any]:
    """Simulate a portfolio under operating approaches (plus a custom mix of practices or levers) and
    compare; the answer carries its header and the line saying which effects are assumptions."""
    _bound_work(ws, body, ws.settings.max_simulation_work, "simulation")
    result = ws.strategy.simulate(body.approaches, levers=body.levers, **_simulation_options(body))
    data: dict[str, Any] = result.to_dict()
    return data


@router.post("/simulate/sensitivity")
def sensitivity(ws: ActingDep, body: SensitivityIn) -> dict[str, Any]:
    """Tornado data: the assumed effects ranked by how much they move ``metric``."""
    options = _simulation_options(body)
    _bound_work(ws, body, max(1, ws.settings.max_simulation_work // 10), "sensitivity")
    if body.levers:
        raise InvalidInputError(
            "levers do not apply to a sensitivity run",
            hint="name approaches or practices; levers belong to a simulation",
            detail={"field": "levers"},
        )
    if options.pop("neutral"):
        raise InvalidInputError(
            "neutral does not apply to a sensitivity run",
            hint="sensitivity sets each assumed effect to neutral and to double by itself; leave neutral out",
            detail={"field": "neutral"},
        )
    data: dict[str, Any] = ws.strategy.sensitivity(body.approaches, metric=body.metric, **options).to_dict()
    return data


@router.get("/simulate/parameters")
def simulation_parameters(ws: ActingDep) -> dict[str, Any]:
    """Every simulation parameter with its default, range, source and whether it is an assumption."""
    return {"items": ws.strategy.simulation_parameters()}


@router.get("/simulate/controls")
def simulation_controls(ws: ActingDep, level: Level = "standard") -> dict[str, Any]:
    """What a learner can change at ``level``."""
    data: dict[str, Any] = dict(ws.strategy.controls(level).to_dict())
    return data


@router.get("/scenarios")
def scenarios(
    ws: ActingDep,
    level: LearnerLevel = "experienced",
    seed: Annotated[int, Query(ge=0, le=INT64_MAX)] = 0,
    pillar: Annotated[list[Pillar] | None, Query()] = None,
    count: Annotated[int | None, Query(ge=1, le=500)] = None,
) -> dict[str, Any]:
    """One attempt of the scenario assessment: numbered questions with shuffled letters (no answers)."""
    data: dict[str, Any] = ws.strategy.quiz(level=level, seed=seed, pillars=pillar, count=count).to_dict()
    return data


@router.post("/scenarios/answer")
def answer(ws: ActingDep, body: AnswerIn) -> dict[str, Any]:
    """Immediate feedback on one answer: the score, the best choice and why, what to read next."""
    data: dict[str, Any] = ws.strategy.answer(body.scenario_id, body.letter, **body.options()).to_dict()
    return data


@router.post("/scenarios/grade")
def grade(ws: ActingDep, body: QuizAnswers) -> dict[str, Any]:
    """Score an attempt's answers (scenario id → letter): feedback per answer, results per pillar."""
    data: dict[str, Any] = ws.strategy.grade_scenarios(body.answers, **body.options()).to_dict()
    return data


@router.get("/maturity/model")
def maturity_model(ws: ActingDep) -> dict[str, Any]:
    data: dict[str, Any] = ws.strategy.maturity_model().model_dump(mode="json")
    return data


@router.get("/maturity/evidence")
def maturity_evidence(ws: ActingDep) -> dict[str, Any]:
    """What the store shows about practice (figures of real records; the audit log verified)."""
    require_in(ws, Permission.PROJECT_READ, None)
    data: dict[str, Any] = ws.strategy.evidence().to_dict()
    return data


@router.post("/maturity")
def assess(ws: ActingDep, body: MaturityIn) -> dict[str, Any]:
    """Assess maturity from answers (dimension id → level 0-4) and, with ``from_store``, the store's
    evidence; claims above the evidence are marked, never averaged in; ``save`` keeps the result."""
    if body.from_store:
        require_in(ws, Permission.PROJECT_READ, None)
        if body.save:
            require_in(ws, Permission.RUN_WRITE, None)
    data: dict[str, Any] = ws.strategy.assess_maturity(
        body.answers, from_store=body.from_store, save=body.save
    ).to_dict()
    return data


@router.get("/maturity/assessments")
def assessments(ws: ActingDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    """Stored assessments (oldest first) and the change over time."""
    require_in(ws, Permission.PROJECT_READ, None)
    found = ws.strategy.assessments(limit)
    return {"items": [r.to_dict() for r in found], "progress": ws.strategy.progress(limit)}


@router.post("/roadmap")
def roadmap(ws: ActingDep, body: RoadmapIn) -> dict[str, Any]:
    """The next 30, 60 and 90 days from a maturity result (JSON and Markdown)."""
    from triops.strategy.maturity import MaturityResult

    plan = ws.strategy.roadmap(MaturityResult.from_dict(body.assessment), capacity=body.capacity)
    return {**plan.to_dict(), "markdown": plan.to_markdown()}


@router.get("/wardley/default")
def wardley_default(ws: ActingDep) -> dict[str, Any]:
    """The default AI-operations value chain map as OWM text."""
    from triops.strategy.wardley import write

    return {"owm": write(ws.strategy.wardley_default())}


@router.get("/wardley/from-store")
def wardley_from_store(ws: ActingDep) -> dict[str, Any]:
    """The value chain the store's records show, as OWM text."""
    from triops.strategy.wardley import write

    require_in(ws, Permission.PROJECT_READ, None)
    return {"owm": write(ws.strategy.wardley_from_store())}


@router.post("/wardley/check")
def wardley_check(ws: ActingDep, body: OwmIn) -> dict[str, Any]:
    """Parse OWM text: every error (line and message) and warning in one pass, and the map's counts."""
    from triops.strategy.wardley import write

    report = ws.strategy.wardley_check(body.text)
    parsed = report.map
    return {
        "ok": report.ok,
        "errors": [{"line": p.line, "message": p.message} for p in report.errors],
        "warnings": list(report.warnings),
        "title": parsed.title,
        "components": len(parsed.components),
        "links": len(parsed.links),
        "owm": write(parsed),
    }


@router.post("/wardley/render", response_class=Response, responses={200: {"content": {"image/svg+xml": {}}}})
def wardley_render(ws: ActingDep, body: OwmIn) -> Response:
    """OWM text rendered to SVG (as an attachment); what it cannot draw is listed in ``X-Triops-Warnings``."""
    rendered = ws.strategy.wardley_render(body.text)
    headers = {"Content-Disposition": 'attachment; filename="map.svg"'}
    if rendered.warnings:
        headers["X-Triops-Warnings"] = str(len(rendered.warnings))
    return Response(rendered.svg, media_type="image/svg+xml", headers=headers)
