"""Scenario bank validation and grading with feedback."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from triops.errors import InvalidInputError
from triops.strategy.scenarios import PILLARS, grade, load_bank, parse_bank, read_answers

BANK = load_bank()


def _raw() -> dict[str, Any]:
    return {
        "scenarios": [
            {
                "id": "s1",
                "pillar": "finops",
                "title": "t",
                "situation": "s",
                "read_next": "docs/finops.md",
                "choices": [
                    {"id": "a", "text": "x", "score": 0, "explanation": "bad"},
                    {"id": "b", "text": "y", "score": 3, "explanation": "good"},
                ],
            }
        ]
    }


def test_builtin_bank_has_at_least_15_scenarios_covering_every_pillar() -> None:
    assert len(BANK.scenarios) >= 15
    assert {s.pillar for s in BANK.scenarios} == set(PILLARS)
    assert len({s.id for s in BANK.scenarios}) == len(BANK.scenarios)
    assert all(c.explanation for s in BANK.scenarios for c in s.choices)


def test_best_answers_score_full_marks_per_pillar() -> None:
    best = {s.id: max(s.choices, key=lambda c: c.score).id for s in BANK.scenarios}
    result = grade(BANK, best)
    assert all(p.score == p.max_score for p in result.pillars)
    assert all(p.read_next == () for p in result.pillars)


def test_weak_answer_gets_its_explanation_and_a_reading_suggestion() -> None:
    s = BANK.get("fin-runaway-training")
    result = grade(BANK, {"fin-runaway-training": "c"})
    fb = result.feedback[0]
    assert fb.score == 0
    assert fb.explanation == s.choice("c").explanation
    assert fb.best_choice == "a"
    assert result.pillars[0].pillar == "finops"
    assert result.pillars[0].read_next == (s.read_next,)


def test_unknown_question_id_in_answers_says_which() -> None:
    with pytest.raises(InvalidInputError, match="unknown scenario id 'nope'"):
        grade(BANK, {"nope": "a"})


def test_unknown_choice_in_answers_says_which_and_lists_choices() -> None:
    with pytest.raises(InvalidInputError, match="scenario 'gov-fairness-gap' has no choice 'z'") as err:
        grade(BANK, {"gov-fairness-gap": "z"})
    assert "a, b, c" in str(err.value)


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("choices", 1, "explanation"), "", "choices.1.explanation"),
        (("choices", 0, "score"), 7, "choices.0.score"),
        (("pillar",), "hr", "pillar"),
        (("situation",), None, "situation"),
    ],
)
def test_malformed_scenario_names_the_scenario_and_the_field(
    path: tuple[Any, ...], value: Any, field: str
) -> None:
    doc = _raw()
    target: Any = doc["scenarios"][0]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(InvalidInputError, match=f"scenario 's1', field '{field}'"):
        parse_bank(doc)


def test_missing_explanation_is_refused() -> None:
    doc = _raw()
    del doc["scenarios"][0]["choices"][0]["explanation"]
    with pytest.raises(InvalidInputError, match=r"scenario 's1', field 'choices.0.explanation'"):
        parse_bank(doc)


def test_duplicate_ids_are_refused() -> None:
    doc = _raw()
    doc["scenarios"].append(copy.deepcopy(doc["scenarios"][0]))
    with pytest.raises(InvalidInputError, match="duplicate scenario id"):
        parse_bank(doc)
    doc = _raw()
    doc["scenarios"][0]["choices"][1]["id"] = "a"
    with pytest.raises(InvalidInputError, match="duplicate choice ids: a"):
        parse_bank(doc)


def test_scenario_without_an_id_is_named_by_position() -> None:
    doc = _raw()
    del doc["scenarios"][0]["id"]
    with pytest.raises(InvalidInputError, match=r"scenario #1, field 'id'"):
        parse_bank(doc)


def test_bank_file_that_is_not_yaml_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bank.yaml"
    bad.write_text("scenarios: [\n")
    with pytest.raises(InvalidInputError, match="not valid YAML"):
        load_bank(bad)
    with pytest.raises(InvalidInputError, match="cannot read scenario file"):
        load_bank(tmp_path / "missing.yaml")


def test_bank_loads_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "bank.yaml"
    path.write_text(yaml.safe_dump(_raw()))
    assert load_bank(path).get("s1").best_score == 3


def test_answers_read_from_yaml_or_json(tmp_path: Path) -> None:
    y = tmp_path / "a.yaml"
    y.write_text("answers:\n  s1: b\n")
    j = tmp_path / "a.json"
    j.write_text('{"s1": "a"}')
    assert read_answers(y) == {"s1": "b"}
    assert read_answers(j) == {"s1": "a"}
    bad = tmp_path / "bad.yaml"
    bad.write_text("- s1\n")
    with pytest.raises(InvalidInputError, match="must map question ids"):
        read_answers(bad)


def test_filter_by_unknown_pillar_is_refused() -> None:
    assert all(s.pillar == "mlops" for s in BANK.for_pillars(["mlops"]))
    with pytest.raises(InvalidInputError, match="unknown pillar 'hr'"):
        BANK.for_pillars(["hr"])
