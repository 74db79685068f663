"""Scenario assessment: the bank (size, coverage, citations, balanced answer positions, links that resolve),
seeded shuffled attempts, feedback after every answer, case-insensitive letters, results per pillar."""

from __future__ import annotations

import copy
import re
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest, chisquare

from triops.errors import InvalidInputError
from triops.strategy.scenarios import (
    LEARNER_LEVELS,
    PILLARS,
    ScenarioBank,
    grade,
    load_bank,
    parse_bank,
    read_answers,
    start_quiz,
)

BANK = load_bank()
DOCS = Path(__file__).resolve().parents[2] / "docs"


def _raw() -> dict[str, Any]:
    return {
        "sources": {"doc": "A public document (2020)"},
        "scenarios": [
            {
                "id": "s1",
                "pillar": "finops",
                "levels": ["novice"],
                "title": "t",
                "situation": "s",
                "read_next": "docs/finops.md",
                "rests_on": [{"source": "doc", "section": "part 1"}],
                "choices": [
                    {"text": "x", "score": 0, "explanation": "bad"},
                    {"text": "y", "score": 3, "explanation": "good"},
                ],
            }
        ],
    }


# ---- the bank -------------------------------------------------------------------------------------------


def test_bank_has_at_least_30_scenarios_over_the_five_pillars_each_citing_its_practice() -> None:
    assert len(BANK.scenarios) >= 30
    counts = Counter(s.pillar for s in BANK.scenarios)
    assert set(counts) == set(PILLARS)
    assert min(counts.values()) >= 5
    assert all(s.rests_on for s in BANK.scenarios)
    assert len({s.id for s in BANK.scenarios}) == len(BANK.scenarios)


def test_every_learner_level_gets_a_full_quiz_over_every_pillar() -> None:
    for level in LEARNER_LEVELS:
        chosen = BANK.select(level)
        assert len(chosen) >= 15, level
        assert {s.pillar for s in chosen} == set(PILLARS), level


def test_manager_variant_changes_the_situation_for_managers_only() -> None:
    s = BANK.get("data-schema-change")
    assert s.situation_for("manager") != s.situation_for("novice") == s.situation


def position_bias_p(bank: ScenarioBank) -> float:
    """Chi-squared p-value of the best choice's bank position against no preference for any position."""
    observed = Counter(s.best_index for s in bank.scenarios)
    positions = max(len(s.choices) for s in bank.scenarios)
    expected = [
        sum(1 / len(s.choices) for s in bank.scenarios if i < len(s.choices)) for i in range(positions)
    ]
    return float(chisquare([observed[i] for i in range(positions)], expected).pvalue)


def test_best_answer_positions_show_no_bias_beyond_chance() -> None:
    assert position_bias_p(BANK) > 0.2
    n = len(BANK.scenarios)
    for i in range(3):  # and no single position stands out on its own
        k = sum(s.best_index == i for s in BANK.scenarios)
        assert binomtest(k, n, 1 / 3).pvalue > 0.2, (i, k, n)


def test_the_position_check_catches_a_biased_bank() -> None:
    doc = _raw()
    doc["scenarios"] = [
        {**copy.deepcopy(doc["scenarios"][0]), "id": f"s{i}"} for i in range(30)
    ]  # best always second
    assert position_bias_p(parse_bank(doc)) < 0.001


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors of a Markdown file (headings inside code fences are not headings)."""
    out: set[str] = set()
    seen: Counter[str] = Counter()
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if fenced or not m:
            continue
        slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
        out.add(slug if not seen[slug] else f"{slug}-{seen[slug]}")
        seen[slug] += 1
    return out


def resolves(link: str) -> bool:
    file, _, anchor = link.partition("#")
    path = DOCS.parent / file
    return path.is_file() and (not anchor or anchor in _anchors(path))


def test_every_read_next_link_resolves_to_a_docs_file_and_heading() -> None:
    broken = [s.read_next for s in BANK.scenarios if not resolves(s.read_next)]
    assert broken == []


def test_the_link_check_catches_a_missing_page_or_heading() -> None:
    assert resolves("docs/strategy.md#roadmap-triops-roadmap")
    assert not resolves("docs/strategy.md#no-such-heading")
    assert not resolves("docs/nowhere.md")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["choices"][0].update(score=3), "exactly one choice must have the top score"),
        (lambda s: s.update(levels=["guru"]), "levels.0"),
        (lambda s: s.update(rests_on=[{"source": "nope", "section": "x"}]), "unknown source 'nope'"),
        (lambda s: s.update(read_next="https://example.org"), "read_next"),
        (lambda s: s.update(variants={"manager": {"situation": "m"}}), "not one of the scenario's levels"),
        (lambda s: s["choices"][1].update(explanation=""), "choices.1.explanation"),
    ],
)
def test_a_malformed_bank_names_the_scenario_and_field(change: Any, message: str) -> None:
    doc = _raw()
    change(doc["scenarios"][0])
    with pytest.raises(InvalidInputError, match=re.escape(message)) as err:
        parse_bank(doc)
    assert "scenario 's1'" in str(err.value)


def test_bank_from_a_file_and_its_errors(tmp_path: Path) -> None:
    path = tmp_path / "bank.yaml"
    path.write_text(yaml.safe_dump(_raw()))
    assert load_bank(path).get("s1").best_index == 1
    path.write_text("scenarios: [")
    with pytest.raises(InvalidInputError, match="not valid YAML"):
        load_bank(path)
    with pytest.raises(InvalidInputError, match="cannot read scenario file"):
        load_bank(tmp_path / "missing.yaml")


# ---- attempts ---------------------------------------------------------------------------------------------


def test_same_seed_same_attempt_other_seed_other_letters() -> None:
    one = start_quiz(BANK, level="experienced", seed=11)
    assert one.to_dict() == start_quiz(BANK, level="experienced", seed=11).to_dict()
    other = start_quiz(BANK, level="experienced", seed=12)
    assert [q.options for q in one.questions] != [q.options for q in other.questions]


def test_without_a_seed_one_is_drawn_and_kept() -> None:
    quiz = start_quiz(BANK, level="novice")
    assert quiz.to_dict() == start_quiz(BANK, level="novice", seed=quiz.seed).to_dict()


def test_the_best_choice_lands_on_every_letter_across_attempts() -> None:
    letters = Counter(start_quiz(BANK, seed=seed).answer_key()["data-schema-change"] for seed in range(300))
    assert set(letters) == {"a", "b", "c"}
    assert min(letters.values()) > 60


@pytest.mark.parametrize("letter", ["a", "b", "c"])
def test_answering_one_letter_throughout_scores_near_chance(letter: str) -> None:
    scores = []
    for seed in range(300):
        quiz = start_quiz(BANK, level="experienced", seed=seed)
        scores.append(grade(quiz, {q.scenario_id: letter for q in quiz.questions}).percent)
    chance = start_quiz(BANK, level="experienced", seed=0).chance_percent()
    assert abs(statistics.mean(scores) - chance) < 3, (statistics.mean(scores), chance)


def test_questions_are_numbered_with_the_total() -> None:
    quiz = start_quiz(BANK, level="manager", seed=3)
    n = len(quiz.questions)
    assert [q.number for q in quiz.questions] == list(range(1, n + 1))
    assert quiz.questions[2].progress == f"question 3 of {n}"
    assert all(q.total == n for q in quiz.questions)


def test_learner_level_selects_scenarios_and_variants() -> None:
    manager = start_quiz(BANK, level="manager", seed=1)
    novice = start_quiz(BANK, level="novice", seed=1)
    assert {q.scenario_id for q in manager.questions} == {s.id for s in BANK.select("manager")}
    assert {q.scenario_id for q in manager.questions} != {q.scenario_id for q in novice.questions}
    q = manager.question("data-schema-change")
    assert q.situation == BANK.get("data-schema-change").situation_for("manager")


def test_count_samples_evenly_over_the_pillars() -> None:
    quiz = start_quiz(BANK, level="experienced", seed=5, count=10)
    assert len(quiz.questions) == 10
    assert set(Counter(q.pillar for q in quiz.questions).values()) == {2}
    with pytest.raises(InvalidInputError, match="count 99 is outside"):
        start_quiz(BANK, level="experienced", count=99)


def test_unknown_level_or_pillar_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="unknown learner level 'guru'"):
        start_quiz(BANK, level="guru")
    with pytest.raises(InvalidInputError, match="unknown pillar 'hr'"):
        start_quiz(BANK, pillars=["hr"])


# ---- feedback and results ---------------------------------------------------------------------------------


def test_a_wrong_answer_names_the_best_choice_and_why() -> None:
    quiz = start_quiz(BANK, seed=4)
    s = BANK.get("fin-runaway-training")
    key = quiz.answer_key()["fin-runaway-training"]
    wrong = next(letter for letter in "abc" if letter != key)
    fb = quiz.answer("fin-runaway-training", wrong)
    best = s.choices[s.best_index]
    assert not fb.correct
    assert (fb.best_letter, fb.best_choice, fb.why_best) == (key, best.text, best.explanation)
    assert fb.explanation != fb.why_best
    assert fb.read_next == s.read_next and fb.rests_on
    assert fb.rests_on[0].startswith("FinOps Framework")


def test_answers_are_case_insensitive_and_a_bad_letter_lists_the_choices() -> None:
    quiz = start_quiz(BANK, seed=4)
    key = quiz.answer_key()["gov-self-approval"]
    assert quiz.answer("gov-self-approval", f" {key.upper()} ").correct
    with pytest.raises(InvalidInputError, match="not one of its choices") as err:
        quiz.answer("gov-self-approval", "z")
    assert "a, b, c" in (err.value.hint or "")


def test_results_per_pillar_name_the_weakest() -> None:
    quiz = start_quiz(BANK, level="experienced", seed=2)
    key = quiz.answer_key()
    answers = {}
    for q in quiz.questions:
        wrong = next(letter for letter in q.letters if letter != key[q.scenario_id])
        answers[q.scenario_id] = wrong if q.pillar == "finops" else key[q.scenario_id].upper()
    result = grade(quiz, answers)
    assert result.weakest == ("finops",)
    finops = next(p for p in result.pillars if p.pillar == "finops")
    assert finops.best_answers == 0 and finops.read_next
    assert all(p.percent == 100 for p in result.pillars if p.pillar != "finops")
    assert result.to_dict()["weakest"] == ["finops"]


def test_an_answer_to_a_scenario_outside_the_attempt_is_refused() -> None:
    quiz = start_quiz(BANK, level="manager", seed=1)
    outside = next(s.id for s in BANK.scenarios if "manager" not in s.levels)
    with pytest.raises(InvalidInputError, match="is not in this attempt"):
        grade(quiz, {outside: "a"})


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10**9), st.sampled_from(LEARNER_LEVELS))
def test_every_attempt_has_one_best_letter_per_question(seed: int, level: str) -> None:
    quiz = start_quiz(BANK, level=level, seed=seed)
    result = grade(quiz, quiz.answer_key())
    assert result.percent == 100
    for q in quiz.questions:
        assert sorted(q.letters) == list("abcdefgh"[: len(q.options)])


def test_read_answers_and_the_printable_sheet(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("answers:\n  data-schema-change: B\n")
    assert read_answers(path) == {"data-schema-change": "B"}
    sheet = start_quiz(BANK, level="novice", seed=9).sheet()
    assert "--seed 9" in sheet and "## 1." in sheet
