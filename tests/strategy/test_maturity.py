"""Maturity model, evidence merging and the weakest-dimension rule."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triops.domain.clock import FixedClock
from triops.errors import InvalidInputError
from triops.strategy.maturity import (
    MATURITY_PILLARS,
    MaturityResult,
    StoreEvidence,
    assess,
    load_model,
    parse_model,
    progress,
    read_answer_file,
)

MODEL = load_model()
DIM_IDS = [d.id for d in MODEL.dimensions]
levels = st.integers(0, 4)
answer_sets = st.dictionaries(st.sampled_from(DIM_IDS), levels)


def test_model_covers_every_pillar_with_five_levels_and_sources() -> None:
    assert {d.pillar for d in MODEL.dimensions} == set(MATURITY_PILLARS)
    for d in MODEL.dimensions:
        assert len(d.levels) == 5
        assert all(m in MODEL.models for m in d.draws_on)
    names = " ".join(MODEL.models.values())
    for model in ("Microsoft", "Google", "FinOps Foundation", "ML Test Score"):
        assert model in names


@given(answer_sets)
def test_pillar_level_is_the_weakest_required_dimension(answers: dict[str, int]) -> None:
    result = assess(answers, model=MODEL, clock=FixedClock())
    for p in result.pillars:
        required = [d.level for d in result.dimensions if d.pillar == p.pillar and d.required]
        assert p.level == min(required)
        assert all(result.dimension(w).level == p.level for w in p.weakest)
    assert result.overall == min(p.level for p in result.pillars)


@given(answer_sets, st.sampled_from(DIM_IDS), levels)
def test_raising_one_dimension_never_lowers_a_pillar(answers: dict[str, int], dim: str, up: int) -> None:
    before = assess(answers, model=MODEL, clock=FixedClock())
    after = assess({**answers, dim: max(up, answers.get(dim, 0))}, model=MODEL, clock=FixedClock())
    for a, b in zip(before.pillars, after.pillars, strict=True):
        assert b.level >= a.level


def test_a_strong_optional_dimension_does_not_lift_a_weak_pillar() -> None:
    answers = {d.id: 4 for d in MODEL.dimensions if d.pillar == "mlops"}
    answers["model_monitoring"] = 1
    result = assess(answers, model=MODEL, clock=FixedClock())
    mlops = next(p for p in result.pillars if p.pillar == "mlops")
    assert mlops.level == 1
    assert mlops.weakest == ("model_monitoring",)


def test_answers_are_labelled_evidence_or_self_reported() -> None:
    ev = StoreEvidence(runs_tracked=25, contracts_enforced=1, audit_verified=True)
    result = assess({"experiment_tracking": 1, "data_contracts": 4, "skills": 2}, ev, clock=FixedClock())
    tracking = result.dimension("experiment_tracking")
    assert (tracking.level, tracking.source, tracking.self_reported) == (3, "evidence", 1)
    contracts = result.dimension("data_contracts")
    assert (contracts.level, contracts.source, contracts.evidence_level) == (4, "self-reported", 2)
    assert result.dimension("skills").source == "self-reported"
    assert result.dimension("audit_trail").source == "evidence"
    assert result.dimension("budgets_forecasts").source == "unanswered"


def test_zero_counts_are_no_evidence() -> None:
    result = assess({"experiment_tracking": 2}, StoreEvidence(), clock=FixedClock())
    assert result.dimension("experiment_tracking").source == "self-reported"


def test_failed_audit_verification_is_evidence_of_level_zero() -> None:
    result = assess({}, StoreEvidence(audit_verified=False), clock=FixedClock())
    audit = result.dimension("audit_trail")
    assert (audit.level, audit.source) == (0, "evidence")


def test_result_round_trips_through_json_dict() -> None:
    result = assess({"skills": 3}, StoreEvidence(models_registered=2), clock=FixedClock())
    again = MaturityResult.from_dict(result.to_dict())
    assert again == result
    assert result.to_dict()["assessed_at_ms"] == 1767225600000


def test_result_dict_that_is_not_an_assessment_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="not a maturity assessment result"):
        MaturityResult.from_dict({"dimensions": []})


def test_unknown_question_id_says_which() -> None:
    with pytest.raises(InvalidInputError, match="unknown question id 'vibes'"):
        assess({"vibes": 2})


@pytest.mark.parametrize("bad", [5, -1, "high", True, 2.5])
def test_choice_outside_levels_says_which(bad: Any) -> None:
    with pytest.raises(InvalidInputError, match="answer to 'skills'"):
        assess({"skills": bad})


def test_evidence_from_dict_checks_fields_and_types() -> None:
    assert StoreEvidence.from_dict({"runs_tracked": 3}).runs_tracked == 3
    with pytest.raises(InvalidInputError, match="unknown evidence field"):
        StoreEvidence.from_dict({"runs": 3})
    with pytest.raises(InvalidInputError, match="'runs_tracked' = -1"):
        StoreEvidence.from_dict({"runs_tracked": -1})
    with pytest.raises(InvalidInputError, match="audit_verified"):
        StoreEvidence.from_dict({"audit_verified": "yes"})


def test_answer_file_read_and_rejected(tmp_path: Path) -> None:
    good = tmp_path / "a.yaml"
    good.write_text("skills: 2\nteam_integration: '3'\n")
    assert assess(read_answer_file(good)).dimension("team_integration").level == 3
    bad = tmp_path / "b.yaml"
    bad.write_text("just text")
    with pytest.raises(InvalidInputError, match="must map question ids"):
        read_answer_file(bad)


def test_malformed_model_names_the_field() -> None:
    doc = {"models": {"m": "x"}, "dimensions": [{"id": "d"}]}
    with pytest.raises(InvalidInputError, match=r"field 'dimensions.0.pillar'"):
        parse_model(doc)


def test_progress_lists_pillar_levels_oldest_first() -> None:
    late = assess({"skills": 2, "team_integration": 2}, clock=FixedClock(datetime(2026, 6, 1, tzinfo=UTC)))
    early = assess({"skills": 1, "team_integration": 1}, clock=FixedClock())
    rows = progress([late, early])
    assert [r["culture"] for r in rows] == [1, 2]
    assert rows[0]["assessed_at_ms"] < rows[1]["assessed_at_ms"]
