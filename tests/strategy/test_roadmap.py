"""The 30-60-90-day roadmap: weakest first, dependencies respected, checkable done-criteria."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triops.domain.clock import FixedClock
from triops.errors import InvalidInputError
from triops.strategy.maturity import StoreEvidence, assess, load_model
from triops.strategy.roadmap import PHASES, Roadmap, build_roadmap

MODEL = load_model()
answer_sets = st.dictionaries(st.sampled_from([d.id for d in MODEL.dimensions]), st.integers(0, 4))


def test_first_actions_raise_the_weakest_required_dimensions() -> None:
    answers = {d.id: 3 for d in MODEL.dimensions}
    answers["budgets_forecasts"] = 0
    plan = build_roadmap(assess(answers, clock=FixedClock()))
    first = plan.actions[0]
    assert (first.dimension, first.from_level, first.to_level, first.phase_days) == (
        "budgets_forecasts",
        0,
        1,
        30,
    )
    assert first.impact == 3
    assert "weakest required dimension of finops" in first.reason


def test_prerequisites_come_first() -> None:
    answers = {d.id: 4 for d in MODEL.dimensions}
    answers.update(model_monitoring=1, model_registry=1)
    plan = build_roadmap(assess(answers, clock=FixedClock()))
    order = [a.id for a in plan.actions]
    assert order.index("model_registry-L2") < order.index("model_monitoring-L2")
    monitoring = next(a for a in plan.actions if a.id == "model_monitoring-L2")
    assert monitoring.depends_on == ("model_registry-L2",)


@settings(max_examples=40, deadline=None)
@given(answer_sets, st.integers(1, 12))
def test_plan_respects_dependencies_capacity_and_levels(answers: dict[str, int], capacity: int) -> None:
    result = assess(answers, model=MODEL, clock=FixedClock())
    plan = build_roadmap(result, MODEL, capacity=capacity)
    where = {a.id: i for i, a in enumerate(plan.actions)}
    phase = {a.id: a.phase_days for a in plan.actions}
    for i, a in enumerate(plan.actions):
        assert a.to_level == a.from_level + 1
        for dep in a.depends_on:
            assert where[dep] < i
            assert phase[dep] <= a.phase_days
    for days in PHASES:
        assert sum(a.effort for a in plan.phase(days)) <= capacity
    assert [a.phase_days for a in plan.actions] == sorted(a.phase_days for a in plan.actions)


def test_done_criteria_are_checkable_by_triops() -> None:
    plan = build_roadmap(assess({}, clock=FixedClock()), capacity=20)
    tracking = next(a for a in plan.actions if a.id == "experiment_tracking-L2")
    assert tracking.done.kind == "evidence"
    assert not tracking.done.is_met(StoreEvidence())
    assert tracking.done.is_met(StoreEvidence(runs_tracked=1))
    skills = next(a for a in plan.actions if a.dimension == "skills")
    assert skills.done.kind == "assessment"
    later = assess({"skills": skills.to_level}, clock=FixedClock())
    assert skills.done.is_met(result=later)
    assert all(a.owner_role and a.kpi for a in plan.actions)


def test_top_level_everywhere_gives_an_empty_plan() -> None:
    plan = build_roadmap(assess({d.id: 4 for d in MODEL.dimensions}, clock=FixedClock()))
    assert plan.actions == ()
    assert "nothing to plan" in plan.to_markdown()


def test_markdown_and_json_forms() -> None:
    plan = build_roadmap(assess({"skills": 1}, clock=FixedClock()))
    md = plan.to_markdown()
    assert md.startswith("# 30-60-90-day roadmap")
    assert "## Days 1-30" in md
    assert "**Done when:**" in md
    assert Roadmap.from_dict(plan.to_dict()) == plan


def test_bad_capacity_and_bad_roadmap_dict_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="capacity"):
        build_roadmap(assess({}, clock=FixedClock()), capacity=0)
    with pytest.raises(InvalidInputError, match="not a roadmap"):
        Roadmap.from_dict({"actions": [{"id": "x"}]})
