"""Scenario assessment: a validated bank of public-sector scenarios, grading answers with feedback.

A scenario has a situation, choices with a score (0-3) and an explanation each, and a page to read next.
The bank is YAML (``data/scenarios.yaml`` by default) and is validated on load: unique ids, a known
pillar, at least two choices with unique ids, every choice explained. Grading takes ``{scenario id:
choice id}`` and returns per-answer feedback and a result per pillar; it is pure, so the terminal quiz,
the non-interactive mode and a web page share it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from triops.errors import InvalidInputError
from triops.strategy.answers import read_answer_mapping

PILLARS = ("dataops", "mlops", "finops", "governance")
MAX_SCORE = 3


class Choice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    text: str = Field(min_length=1)
    score: int = Field(ge=0, le=MAX_SCORE)
    explanation: str = Field(min_length=1)


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    pillar: Literal["dataops", "mlops", "finops", "governance"]
    title: str = Field(min_length=1)
    situation: str = Field(min_length=1)
    choices: tuple[Choice, ...] = Field(min_length=2)
    read_next: str = Field(min_length=1)

    @field_validator("choices")
    @classmethod
    def _unique_choices(cls, choices: tuple[Choice, ...]) -> tuple[Choice, ...]:
        ids = [c.id for c in choices]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate choice ids: {', '.join(dup)}")
        return choices

    @model_validator(mode="after")
    def _has_best(self) -> Scenario:
        if max(c.score for c in self.choices) == 0:
            raise ValueError("no choice scores above 0")
        return self

    def choice(self, choice_id: str) -> Choice:
        for c in self.choices:
            if c.id == choice_id:
                return c
        raise InvalidInputError(
            f"scenario '{self.id}' has no choice '{choice_id}'",
            hint="choices: " + ", ".join(c.id for c in self.choices),
        )

    @property
    def best_score(self) -> int:
        return max(c.score for c in self.choices)


@dataclass(frozen=True)
class ScenarioBank:
    scenarios: tuple[Scenario, ...]

    def get(self, scenario_id: str) -> Scenario:
        for s in self.scenarios:
            if s.id == scenario_id:
                return s
        raise InvalidInputError(
            f"unknown scenario id '{scenario_id}'",
            hint="known ids: " + ", ".join(s.id for s in self.scenarios),
        )

    def for_pillars(self, pillars: list[str] | None) -> tuple[Scenario, ...]:
        if not pillars:
            return self.scenarios
        for p in pillars:
            if p not in PILLARS:
                raise InvalidInputError(f"unknown pillar '{p}'", hint="pillars: " + ", ".join(PILLARS))
        return tuple(s for s in self.scenarios if s.pillar in pillars)


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(x) for x in loc) or "(scenario)"


def parse_bank(doc: Any, where: str = "scenario bank") -> ScenarioBank:
    """Validate a parsed YAML document; errors name the scenario and the field."""
    if not isinstance(doc, Mapping) or not isinstance(doc.get("scenarios"), list):
        raise InvalidInputError(f"{where}: expected a mapping with a 'scenarios' list")
    out: list[Scenario] = []
    seen: set[str] = set()
    for index, raw in enumerate(doc["scenarios"]):
        name = raw.get("id") if isinstance(raw, Mapping) else None
        label = f"scenario '{name}'" if name else f"scenario #{index + 1}"
        try:
            scenario = Scenario.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise InvalidInputError(
                f"{where}: {label}, field '{_field_path(first['loc'])}': {first['msg']}",
                hint="each scenario needs id, pillar, title, situation, read_next and choices "
                "(id, text, score 0-3, explanation)",
            ) from exc
        if scenario.id in seen:
            raise InvalidInputError(
                f"{where}: {label}, field 'id': duplicate scenario id", hint="ids must be unique"
            )
        seen.add(scenario.id)
        out.append(scenario)
    if not out:
        raise InvalidInputError(f"{where}: no scenarios")
    return ScenarioBank(tuple(out))


def load_bank(path: Path | None = None) -> ScenarioBank:
    """The bank shipped with triops, or one read from ``path``."""
    if path is None:
        text = resources.files("triops.strategy").joinpath("data/scenarios.yaml").read_text(encoding="utf-8")
        where = "data/scenarios.yaml"
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInputError(f"cannot read scenario file {path}: {exc.strerror}") from exc
        where = str(path)
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"{where}: not valid YAML ({exc})") from exc
    return parse_bank(doc, where)


@dataclass(frozen=True)
class Feedback:
    scenario_id: str
    pillar: str
    choice_id: str
    score: int
    best_score: int
    explanation: str
    best_choice: str
    read_next: str


@dataclass(frozen=True)
class PillarResult:
    pillar: str
    answered: int
    score: int
    max_score: int
    read_next: tuple[str, ...]

    @property
    def percent(self) -> float:
        return 100.0 * self.score / self.max_score if self.max_score else 0.0


@dataclass(frozen=True)
class QuizResult:
    feedback: tuple[Feedback, ...]
    pillars: tuple[PillarResult, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "feedback": [asdict(f) for f in self.feedback],
            "pillars": [
                {**asdict(p), "read_next": list(p.read_next), "percent": p.percent} for p in self.pillars
            ],
        }


def answer(scenario: Scenario, choice_id: str) -> Feedback:
    """Feedback on one answer, shown right after it."""
    choice = scenario.choice(choice_id)
    best = max(scenario.choices, key=lambda c: c.score)
    return Feedback(
        scenario.id,
        scenario.pillar,
        choice.id,
        choice.score,
        scenario.best_score,
        choice.explanation,
        best.id,
        scenario.read_next,
    )


def grade(bank: ScenarioBank, answers: Mapping[str, str]) -> QuizResult:
    """Grade ``{scenario id: choice id}``; unknown ids or choices raise and say which."""
    feedback = tuple(answer(bank.get(sid), str(cid)) for sid, cid in answers.items())
    pillars = []
    for pillar in PILLARS:
        mine = [f for f in feedback if f.pillar == pillar]
        if not mine:
            continue
        reads = tuple(dict.fromkeys(f.read_next for f in mine if f.score < f.best_score))
        pillars.append(
            PillarResult(
                pillar, len(mine), sum(f.score for f in mine), sum(f.best_score for f in mine), reads
            )
        )
    return QuizResult(feedback, tuple(pillars))


def read_answers(path: Path) -> dict[str, str]:
    """Answers from YAML or JSON: a mapping of scenario id to choice id."""
    found = read_answer_mapping(path, what="answers", example="data-schema-change: b")
    return {k: str(v) for k, v in found.items()}
