"""Strategy API: portfolio simulation, the scenario quiz, the maturity assessment (with store evidence),
the 30-60-90 roadmap and Wardley maps (OWM text in, checks and SVG out). Thin over ``ws.strategy``.

Simulation sizes are bounded here more tightly than in the library (runs ≤ 20,000, projects ≤ 50, weeks
≤ 260) so that one request cannot occupy a worker for long.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from triops.governance.rbac import Permission
from triops.server.authz import ActingDep, require_in
from triops.server.http import PROBLEMS
from triops.server.schemas import INT64_MAX, MAX_NAME, Name

router = APIRouter(prefix="/strategy", tags=["strategy"], responses=PROBLEMS)
MAX_OWM = 200_000


class SimulationIn(BaseModel):
    approaches: list[Name] = Field(default_factory=list, max_length=20)
    practices: list[Name] = Field(default_factory=list, max_length=50)
    runs: Annotated[int, Field(ge=1, le=20_000)] = 2_000
    projects: Annotated[int, Field(ge=1, le=50)] = 5
    weeks: Annotated[int, Field(ge=1, le=260)] = 104
    seed: Annotated[int, Field(ge=0, le=INT64_MAX)] = 0
    level: Literal["intro", "standard", "expert"] = "standard"
    overrides: dict[Name, Annotated[float, Field(allow_inf_nan=False)]] = Field(
        default_factory=dict, max_length=100
    )


class QuizAnswers(BaseModel):
    answers: dict[Annotated[str, Field(max_length=100)], Annotated[str, Field(max_length=MAX_NAME)]] = Field(
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
    capacity: Annotated[int, Field(ge=1, le=1000)] = 8


class OwmIn(BaseModel):
    text: Annotated[str, Field(min_length=1, max_length=MAX_OWM)]


@router.post("/simulate")
def simulate(ws: ActingDep, body: SimulationIn) -> dict[str, Any]:
    """Simulate a portfolio under operating approaches (and a custom mix of practices) and compare."""
    result = ws.strategy.simulate(
        body.approaches,
        practices=body.practices,
        runs=body.runs,
        projects=body.projects,
        weeks=body.weeks,
        seed=body.seed,
        level=body.level,
        overrides=body.overrides or None,
    )
    data: dict[str, Any] = result.to_dict()
    return data


@router.get("/simulate/parameters")
def simulation_parameters(ws: ActingDep) -> dict[str, Any]:
    """Every simulation parameter with its default, range and source."""
    return {"items": ws.strategy.simulation_parameters()}


@router.get("/scenarios")
def scenarios(
    ws: ActingDep, pillar: Literal["dataops", "mlops", "finops", "governance"] | None = None
) -> dict[str, Any]:
    """The scenario bank: situations and choices (scores and explanations come with the grading)."""
    bank = ws.strategy.scenario_bank()
    chosen = bank.for_pillars([pillar] if pillar else None)
    return {
        "items": [
            {
                "id": s.id,
                "pillar": s.pillar,
                "title": s.title,
                "situation": s.situation,
                "choices": [{"id": c.id, "text": c.text} for c in s.choices],
            }
            for s in chosen
        ]
    }


@router.post("/scenarios/grade")
def grade(ws: ActingDep, body: QuizAnswers) -> dict[str, Any]:
    """Score answers (scenario id → choice id): feedback per answer and results per pillar."""
    data: dict[str, Any] = ws.strategy.grade_scenarios(body.answers).to_dict()
    return data


@router.get("/maturity/model")
def maturity_model(ws: ActingDep) -> dict[str, Any]:
    data: dict[str, Any] = ws.strategy.maturity_model().model_dump(mode="json")
    return data


@router.get("/maturity/evidence")
def maturity_evidence(ws: ActingDep) -> dict[str, Any]:
    """What the store shows about practice (counts of real records)."""
    require_in(ws, Permission.PROJECT_READ, None)
    data: dict[str, Any] = ws.strategy.evidence().to_dict()
    return data


@router.post("/maturity")
def assess(ws: ActingDep, body: MaturityIn) -> dict[str, Any]:
    """Assess maturity from answers (dimension id → level 0-4) and, with ``from_store``, the store's
    evidence; ``save`` keeps the result for the progress view."""
    if body.from_store:
        require_in(ws, Permission.PROJECT_READ, None)
        if body.save:
            require_in(ws, Permission.RUN_WRITE, None)
    data: dict[str, Any] = ws.strategy.assess_maturity(
        body.answers, from_store=body.from_store, save=body.save
    ).to_dict()
    return data


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


@router.post("/wardley/check")
def wardley_check(ws: ActingDep, body: OwmIn) -> dict[str, Any]:
    """Parse OWM text: counts and dangling references (422 naming the bad line)."""
    parsed, warnings = ws.strategy.wardley_check(body.text)
    return {
        "title": parsed.title,
        "anchors": len(parsed.anchors),
        "components": len(parsed.components),
        "links": len(parsed.links),
        "warnings": warnings,
        "map": dataclasses.asdict(parsed),
    }


@router.post("/wardley/render", response_class=Response, responses={200: {"content": {"image/svg+xml": {}}}})
def wardley_render(ws: ActingDep, body: OwmIn) -> Response:
    """OWM text rendered to SVG (as an attachment)."""
    svg = ws.strategy.wardley_svg(body.text)
    return Response(
        svg, media_type="image/svg+xml", headers={"Content-Disposition": 'attachment; filename="map.svg"'}
    )
