"""The 30-60-90-day roadmap: at most three actions a phase, never two levels of one dimension in a phase,
prerequisites first, impact and effort from the model, done-criteria in the reader's language."""

from __future__ import annotations

import re
from dataclasses import fields, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triops.domain.clock import FixedClock
from triops.errors import InvalidInputError
from triops.strategy.maturity import StoreEvidence, assess, load_model
from triops.strategy.maturity_model import FIGURES
from triops.strategy.roadmap import MAX_PER_PHASE, PHASES, Roadmap, build_roadmap

MODEL = load_model()
DIMENSIONS = [d.id for d in MODEL.dimensions]
EVIDENCE = StoreEvidence(
    dataset_versions=1,
    pipelines=1,
    pipelines_always_gated=1,
    pipeline_runs=2,
    pipeline_runs_gated=2,
    pipeline_runs_costed=2,
    runs_tracked=3,
    runs_tracked_logged=3,
    model_versions=1,
    model_versions_with_run=1,
    model_versions_evaluated=1,
    costs_metered=5,
    audit_events=3,
    audit_verified=True,
)


def _plan(answers: dict[str, int] | None = None, evidence: StoreEvidence | None = EVIDENCE) -> Roadmap:
    return build_roadmap(assess(answers, evidence, clock=FixedClock()))


def _check_invariants(plan: Roadmap, capacity: int = 8) -> None:
    by_id = {a.id: a for a in plan.actions}
    for days in PHASES:
        acts = plan.phase(days)
        assert len(acts) <= MAX_PER_PHASE
        assert sum(a.effort for a in acts) <= capacity
        dims = [a.dimension for a in acts]
        assert len(dims) == len(set(dims)), f"two levels of one dimension in days {days - 29}-{days}"
    for a in plan.actions:
        for dep in a.depends_on:
            assert PHASES.index(by_id[dep].phase_days) < PHASES.index(a.phase_days)


def test_each_phase_holds_at_most_three_actions_and_one_level_per_dimension() -> None:
    plan = _plan()
    _check_invariants(plan)
    assert len(plan.actions) == 9  # three full phases: there is more to do than fits
    assert plan.later


@settings(max_examples=40, deadline=None)
@given(st.fixed_dictionaries({d: st.integers(0, 4) for d in DIMENSIONS}), st.integers(1, 12))
def test_invariants_hold_for_any_assessment(levels: dict[str, int], capacity: int) -> None:
    plan = build_roadmap(assess(levels, None, clock=FixedClock()), capacity=capacity)
    _check_invariants(plan, capacity)
    for a in plan.actions:
        assert (a.to_level == a.from_level + 1 and a.to_level > levels[a.dimension]) or a.from_level > levels[
            a.dimension
        ]


def test_impact_and_effort_come_from_the_model_per_step_and_vary() -> None:
    plan = _plan()
    for a in (*plan.actions, *plan.later):
        dim = MODEL.get(a.dimension)
        assert (a.effort, a.impact) == (dim.effort[a.to_level - 1], dim.impact[a.to_level - 1])
    assert len({a.impact for a in plan.actions}) > 1
    assert len({a.effort for a in plan.actions}) > 1


def test_prerequisites_are_planned_first() -> None:
    plan = _plan({**dict.fromkeys(DIMENSIONS, 3), "model_registry": 1, "model_monitoring": 1}, None)
    ids = {a.id: a for a in plan.actions}
    monitoring = next(a for a in plan.actions if a.dimension == "model_monitoring" and a.to_level == 2)
    assert "model_registry-L2" in monitoring.depends_on
    assert PHASES.index(ids["model_registry-L2"].phase_days) < PHASES.index(monitoring.phase_days)


# internal ids are snake_case (dimension ids, evidence figures); "projects" alone is plain English
IDS = [x for x in (*DIMENSIONS, *FIGURES) if "_" in x]
INTERNAL = re.compile(r"≥|-L\d|\b(" + "|".join(map(re.escape, IDS)) + r")\b")


def test_done_criteria_speak_the_readers_language_with_a_check_beside() -> None:
    plan = _plan()
    for a in (*plan.actions, *plan.later):
        assert not INTERNAL.search(a.done.description), a.done.description
        assert not INTERNAL.search(a.done.check), a.done.check
        assert a.done.description[0].isupper() and a.done.description.endswith(".")
        assert "triops assess maturity" in a.done.check
        if a.done.kind == "evidence":
            assert "shows, under" in a.done.check
        else:
            assert "cannot show it" in a.done.check
    markdown = plan.to_markdown()
    assert not re.search(r"≥|_L\d|-L\d", markdown)


def test_done_criteria_can_be_checked_against_later_evidence() -> None:
    plan = _plan()
    action = next(a for a in plan.actions if a.done.kind == "evidence")
    assert not action.done.is_met(evidence=EVIDENCE)
    later = {f.name: 10 for f in fields(StoreEvidence) if f.name != "audit_verified"}
    assert action.done.is_met(evidence=StoreEvidence(**later, audit_verified=True))
    judged = next(a for a in plan.actions if a.done.kind == "assessment")
    after = assess({judged.dimension: judged.to_level}, EVIDENCE)
    assert judged.done.is_met(result=after)


def test_owners_are_roles_and_markdown_prints_who_does_what() -> None:
    plan = _plan()
    role_words = ("engineer", "scientist", "lead", "owner", "officer", "head")
    assert all(any(w in a.owner_role for w in role_words) for a in plan.actions)
    md = plan.to_markdown()
    assert md.startswith("# 30-60-90-day roadmap")
    assert "## Days 1–30" in md and "## Who does what" in md and "## After 90 days" in md
    assert md.count("- [ ] **Done when:**") == len(plan.actions)


def test_json_round_trips() -> None:
    plan = _plan()
    assert Roadmap.from_dict(plan.to_dict()) == plan
    with pytest.raises(InvalidInputError, match="not a roadmap"):
        Roadmap.from_dict({"actions": [{}]})


def test_a_claim_the_store_cannot_check_is_where_the_plan_starts() -> None:
    budgeted = replace(EVIDENCE, projects=1, projects_with_budget=1)  # level 2, the most the store shows
    plan = _plan({"budgets_forecasts": 3}, budgeted)  # the store cannot show hard stops or forecast reviews
    steps = [a.to_level for a in (*plan.actions, *plan.later) if a.dimension == "budgets_forecasts"]
    assert 3 not in steps
    unclaimed = _plan(None, budgeted)
    assert 3 in [
        a.to_level for a in (*unclaimed.actions, *unclaimed.later) if a.dimension == "budgets_forecasts"
    ]


def test_a_claim_the_store_contradicts_is_not_where_the_plan_starts() -> None:
    plan = _plan({"data_versioning": 3})  # the store could show level 3 and does not
    steps = [a.to_level for a in (*plan.actions, *plan.later) if a.dimension == "data_versioning"]
    assert steps[:1] == [3]


def test_everything_at_the_top_plans_nothing_and_capacity_is_checked() -> None:
    top = build_roadmap(assess(dict.fromkeys(DIMENSIONS, 4), clock=FixedClock()))
    assert top.actions == () and "nothing to plan" in top.to_markdown()
    with pytest.raises(InvalidInputError, match="capacity"):
        build_roadmap(assess(), capacity=0)
