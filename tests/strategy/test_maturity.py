"""Maturity from evidence: cumulative rules in the words of each level, the figures behind every level,
levels the store cannot show, claims above the evidence kept apart, progress over time."""

from __future__ import annotations

import re
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triops.domain.clock import FixedClock
from triops.errors import InvalidInputError
from triops.strategy.maturity import (
    MATURITY_PILLARS,
    MaturityResult,
    StoreEvidence,
    assess,
    changes,
    load_model,
    progress,
    read_answer_file,
)
from triops.strategy.maturity_model import FIGURES, parse_model

MODEL = load_model()
COUNTS = [f.name for f in fields(StoreEvidence) if f.name != "audit_verified"]

# What the demo workspace shows (see docs/strategy.md): every level the store can show is backed.
DEMO = StoreEvidence(
    dataset_versions=1,
    dataset_versions_scored=1,
    pipelines=1,
    pipelines_always_gated=1,
    pipeline_runs=3,
    pipeline_runs_gated=3,
    pipeline_runs_costed=3,
    runs_tracked=2,
    runs_tracked_logged=2,
    model_versions=2,
    model_versions_with_run=2,
    model_versions_with_training_data=2,
    model_versions_evaluated=2,
    model_versions_sliced=2,
    model_versions_promoted=1,
    model_versions_generated_card=2,
    model_aliases=2,
    model_cards=2,
    production_versions=1,
    production_versions_with_card=1,
    production_versions_approved=1,
    production_versions_gated=1,
    production_versions_sliced=1,
    costs_metered=13,
    projects=1,
    projects_with_budget=1,
    approval_requests=1,
    policies_active=1,
    audit_events=24,
    audit_verified=True,
)


def _level(dimension: str, evidence: StoreEvidence, answers: dict[str, Any] | None = None) -> int:
    return assess(answers, evidence).dimension(dimension).level


def test_the_demo_records_give_the_documented_pillar_levels() -> None:
    result = assess(None, DEMO)
    levels = {p.pillar: p.level for p in result.pillars}
    assert levels == {"dataops": 3, "mlops": 1, "finops": 2, "governance": 3, "culture": 0}


def test_one_policy_and_no_approvals_is_not_approvals_level_3() -> None:
    assert _level("approvals", StoreEvidence(policies_active=1, production_versions=1)) == 0


def test_rules_are_cumulative_a_higher_level_never_skips_a_lower_one() -> None:
    # every model version links to its training data, but no dataset version is registered
    ev = StoreEvidence(model_versions=2, model_versions_with_training_data=2)
    assert _level("data_versioning", ev) == 0
    # the audit log verifies, but there is no event
    assert _level("audit_trail", StoreEvidence(audit_verified=True)) == 0


def test_every_model_version_links_to_its_training_data_needs_the_ratio_of_all() -> None:
    half = StoreEvidence(dataset_versions=3, model_versions=2, model_versions_with_training_data=1)
    assert _level("data_versioning", half) == 2
    d = assess(None, half).dimension("data_versioning")
    assert "model versions linked to their training dataset versions: 1 of 2 (50%)" in d.figures
    assert d.next_step is not None and "now 1 of 2 (50%)" in d.next_step
    full = StoreEvidence(dataset_versions=3, model_versions=2, model_versions_with_training_data=2)
    assert _level("data_versioning", full) == 3


# Pipelines run by hand, gated and priced, with cached steps: level 2 of "automated training pipelines".
BY_HAND = StoreEvidence(
    pipelines=1,
    pipelines_always_gated=1,
    pipeline_runs=10,
    pipeline_runs_gated=10,
    pipeline_runs_costed=10,
    pipeline_runs_cached=4,
)


def test_a_trigger_level_is_reached_from_triggered_runs_and_continuous_training_from_the_schedule() -> None:
    triggered = replace(BY_HAND, pipeline_runs=11, pipeline_runs_costed=11, pipeline_runs_triggered=1)
    d = assess(None, triggered).dimension("pipeline_automation")
    assert (d.level, d.ceiling, d.source) == (3, 4, "evidence")
    assert "pipeline runs a monitoring alert triggered: 1" in d.figures
    assert "pipeline runs that reused a cached step: 4" in d.figures
    assert d.next_step is not None and "monitor runs their schedule started that completed" in d.next_step
    continuous = replace(triggered, retrain_runs_gated=1, monitor_runs_scheduled=3)
    d = assess(None, continuous).dimension("pipeline_automation")
    assert d.level == 4
    assert "monitor runs their schedule started that completed: 3" in d.figures
    assert "retraining runs an alert triggered that passed the contract gate: 1" in d.figures


def test_a_trigger_level_is_not_reached_without_a_triggered_run_cached_steps_or_all_costs() -> None:
    d = assess({"pipeline_automation": 3}, BY_HAND).dimension("pipeline_automation")
    assert d.level == 2 and d.claim_above_evidence and d.self_reported == 3
    assert (
        d.next_step is not None
        and "pipeline runs a monitoring alert triggered: at least 1; now 0" in d.next_step
    )
    triggered = replace(BY_HAND, pipeline_runs=11, pipeline_runs_costed=11, pipeline_runs_triggered=1)
    assert _level("pipeline_automation", replace(triggered, pipeline_runs_cached=0)) == 2
    assert _level("pipeline_automation", replace(triggered, pipeline_runs_costed=10)) == 2
    # a scheduled monitor without a retraining run that passed its gate is not continuous training
    assert _level("pipeline_automation", replace(triggered, monitor_runs_scheduled=5)) == 3
    # nor a gated retraining that a monitor run by hand triggered
    assert _level("pipeline_automation", replace(triggered, retrain_runs_gated=1)) == 3


def test_cost_per_prediction_is_reached_from_metered_serving_costs_and_not_without_them() -> None:
    costed = StoreEvidence(predictions_logged=500, serving_versions=2, serving_versions_costed=2)
    d = assess(None, costed).dimension("unit_economics")
    assert (d.level, d.ceiling, d.source) == (2, 2, "evidence")
    assert (
        "model versions with logged predictions and a cost per 1,000 predictions from metered serving costs: "
        "2 of 2 (100%)"
    ) in d.figures
    assert d.next_step is not None and "manual alternative" in d.next_step
    assert _level("unit_economics", replace(costed, serving_versions_costed=1)) == 1  # not every version
    assert _level("unit_economics", StoreEvidence(predictions_logged=500, serving_versions=2)) == 0
    claimed = assess({"unit_economics": 3}, costed).dimension("unit_economics")
    assert claimed.level == 2 and claimed.claim_above_evidence


def test_audit_trail_rests_on_verification() -> None:
    assert _level("audit_trail", StoreEvidence(audit_events=5, audit_verified=True)) == 3
    failed = assess(None, StoreEvidence(audit_events=5, audit_verified=False)).dimension("audit_trail")
    assert failed.level == 2 and "audit log verified: no (verification failed)" in failed.figures
    unchecked = assess(None, StoreEvidence(audit_events=5)).dimension("audit_trail")
    assert "audit log verified: not checked" in unchecked.figures


def test_every_dimension_the_store_can_show_prints_the_figures_behind_it() -> None:
    result = assess(None, DEMO)
    for d in result.dimensions:
        assert d.figures, d.dimension
        if d.ceiling > 0:
            assert all(re.search(r": (\d|yes|no|not checked)", f) for f in d.figures), d.figures
        else:
            assert d.figures[0].startswith("the store cannot show this")


def test_a_level_whose_words_say_every_is_shown_by_a_share_of_all() -> None:
    for dim in MODEL.dimensions:
        for entry in dim.evidence:
            words = dim.criterion(entry.level)
            shares = [r for r in entry.rules if r.share is not None]
            counted_every = [r for r in entry.rules if r.count and "every" in FIGURES[r.count]]
            if entry.cannot is None and re.search(r"\bevery\b", words):
                all_of = shares and all(r.at_least == 1 for r in shares)
                assert all_of or counted_every, (dim.id, entry.level, words)
            if entry.cannot is None and re.search(r"\bschedule|\btrigger", words):
                # a schedule or trigger level reads runs the store records as scheduled or triggered
                read = [FIGURES[r.count] for r in entry.rules if r.count]
                assert any(re.search(r"schedule|trigger", f) for f in read), (dim.id, entry.level)


def test_claims_above_the_evidence_are_marked_and_not_merged() -> None:
    result = assess({"documentation": 4, "approvals": 1}, DEMO)
    doc = result.dimension("documentation")
    assert (doc.level, doc.source, doc.claim_above_evidence, doc.claimed) == (3, "evidence", True, 4)
    assert not result.dimension("approvals").claim_above_evidence
    governance = next(p for p in result.pillars if p.pillar == "governance")
    assert governance.level == 3 and governance.claimed is None  # the floor (3) does not move
    claim_all = assess({"model_monitoring": 3}, DEMO)
    mlops = next(p for p in claim_all.pillars if p.pillar == "mlops")
    assert (mlops.level, mlops.claimed) == (1, 2)
    assert "1 claim above the evidence" in mlops.basis


def test_where_the_store_cannot_show_a_dimension_the_answer_is_the_level() -> None:
    d = assess({"skills": 2}, DEMO).dimension("skills")
    assert (d.level, d.source, d.claim_above_evidence) == (2, "self-reported", False)
    assert assess(None, DEMO).dimension("team_integration").source == "unanswered"


def test_without_evidence_every_answer_is_self_reported() -> None:
    result = assess({"data_contracts": 2})
    assert result.dimension("data_contracts").source == "self-reported"
    assert result.dimension("data_contracts").level == 2
    assert result.dimension("data_versioning").source == "unanswered"


@settings(max_examples=60, deadline=None)
@given(
    st.fixed_dictionaries({name: st.integers(0, 5) for name in COUNTS}), st.sampled_from([None, True, False])
)
def test_evidence_levels_never_skip_and_never_pass_the_ceiling(
    counts: dict[str, int], audit: bool | None
) -> None:
    ev = StoreEvidence(**counts, audit_verified=audit)
    for dim in MODEL.dimensions:
        level = dim.evidence_level(ev)
        assert level <= dim.ceiling
        for lower in range(1, level + 1):
            assert all(r.holds(ev) for r in dim.rules_for(lower))


def test_pillar_level_is_its_weakest_required_dimension() -> None:
    result = assess({"skills": 3, "team_integration": 1}, DEMO)
    culture = next(p for p in result.pillars if p.pillar == "culture")
    assert culture.level == 1 and culture.weakest == ("team_integration",)
    assert result.overall == min(p.level for p in result.pillars)
    assert [p.pillar for p in result.pillars] == list(MATURITY_PILLARS)


def test_result_round_trips_through_json_and_reads_the_v1_format() -> None:
    result = assess({"skills": 1}, DEMO, clock=FixedClock())
    assert MaturityResult.from_dict(result.to_dict()) == result
    v1 = {
        "kind": "triops.maturity/v1",
        "assessed_at_ms": 5,
        "dimensions": [
            {
                "dimension": "skills",
                "pillar": "culture",
                "name": "Skills",
                "required": True,
                "level": 1,
                "source": "self-reported",
                "self_reported": 1,
                "evidence_level": None,
                "criterion": "x",
            }
        ],
        "pillars": [{"pillar": "culture", "level": 1, "weakest": ["skills"]}],
    }
    old = MaturityResult.from_dict(v1)
    assert old.dimension("skills").level == 1 and old.evidence is None
    with pytest.raises(InvalidInputError, match="not a maturity assessment"):
        MaturityResult.from_dict({"dimensions": []})


def test_progress_shows_change_over_time_from_stored_results() -> None:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    first = assess({"skills": 0}, StoreEvidence(runs_tracked=1), clock=FixedClock(t0))
    later = assess({"skills": 2}, DEMO, clock=FixedClock(t0 + timedelta(days=30)))
    rows = progress([later, first])
    assert [r["assessed_at_ms"] for r in rows] == [first.assessed_at_ms, later.assessed_at_ms]
    assert rows[0]["changes"] == []
    moved = {c["dimension"]: (c["from"], c["to"]) for c in rows[1]["changes"]}
    assert moved["skills"] == (0, 2) and moved["audit_trail"] == (0, 3)
    assert changes(first, later) == rows[1]["changes"]
    assert progress([]) == []  # a store with no assessment yet (GET /strategy/maturity/assessments was a 500)
    assert [r["changes"] for r in progress([first])] == [[]]


def test_answers_are_checked() -> None:
    with pytest.raises(InvalidInputError, match="unknown question id 'vibes'"):
        assess({"vibes": 2})
    with pytest.raises(InvalidInputError, match="answer to 'skills' is 7"):
        assess({"skills": 7})
    assert assess({"skills": "3"}).dimension("skills").level == 3


def test_evidence_file_fields_are_checked() -> None:
    assert StoreEvidence.from_dict({"runs_tracked": 3}).runs_tracked == 3
    with pytest.raises(InvalidInputError, match="unknown evidence field"):
        StoreEvidence.from_dict({"lineage_edges": 1})
    with pytest.raises(InvalidInputError, match="whole number"):
        StoreEvidence.from_dict({"runs_tracked": -1})
    with pytest.raises(InvalidInputError, match="audit_verified"):
        StoreEvidence.from_dict({"audit_verified": "yes"})


def test_every_figure_has_a_label_and_the_model_names_its_sources() -> None:
    assert set(FIGURES) == {f.name for f in fields(StoreEvidence)}
    assert all(d.draws_on for d in MODEL.dimensions)


def _doc() -> dict[str, Any]:
    import yaml

    return yaml.safe_load(
        Path(__file__).resolve().parents[2].joinpath("src/triops/strategy/data/maturity.yaml").read_text()
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["evidence"][0]["rules"][0].update(count="nope"), "unknown evidence figure 'nope'"),
        (lambda d: d["evidence"].pop(1), "evidence must list levels 1, 2"),
        (lambda d: d["evidence"][0].update(cannot="why"), "either rules or a 'cannot' reason"),
        (lambda d: d.update(impact=[9, 1, 1, 1]), "effort and impact are 1-5"),
    ],
)
def test_a_malformed_model_is_refused(change: Any, message: str) -> None:
    doc = _doc()
    change(doc["dimensions"][1])
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        parse_model(doc)


def test_answer_file_reads_yaml(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("answers:\n  skills: 2\n")
    assert read_answer_file(path) == {"skills": 2}
