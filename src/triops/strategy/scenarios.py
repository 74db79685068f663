"""Scenario assessment: a validated bank of public-sector scenarios, shuffled attempts, feedback, results.

The bank (scenarios with scored, explained choices, learner levels, the practice each rests on, a page to
read next) is :mod:`triops.strategy.scenario_bank`.

:func:`start_quiz` makes one attempt: the scenarios for a learner level (optionally some pillars, or a
balanced sample), in a shuffled order, each with its choices shuffled under fresh letters. The shuffle is
drawn from ``seed`` alone, so a facilitator who gives the seed gets the same sheet every time. Answers are
letters of that attempt, case-insensitive. :meth:`Quiz.answer` gives the feedback shown right after each
answer (the best choice and why, the practice behind it, what to read next); :func:`grade` gives results
per pillar with the weakest named. All pure and plain data, so the terminal, files and a web page share it.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from triops.errors import InvalidInputError
from triops.strategy.answers import read_answer_mapping
from triops.strategy.scenario_bank import (
    LEARNER_LEVELS,
    LETTERS,
    PILLAR_NAMES,
    PILLARS,
    Scenario,
    ScenarioBank,
    load_bank,
    parse_bank,
)

__all__ = [
    "LEARNER_LEVELS",
    "PILLARS",
    "PILLAR_NAMES",
    "Feedback",
    "Question",
    "Quiz",
    "QuizResult",
    "ScenarioBank",
    "grade",
    "load_bank",
    "parse_bank",
    "read_answers",
    "start_quiz",
]


@dataclass(frozen=True)
class Option:
    letter: str
    text: str


@dataclass(frozen=True)
class Question:
    """One scenario as this attempt shows it: numbered, with its choices under shuffled letters."""

    number: int
    total: int
    scenario_id: str
    pillar: str
    title: str
    situation: str
    options: tuple[Option, ...]
    rests_on: tuple[str, ...]
    order: tuple[int, ...]  # bank index of the choice behind each letter

    @property
    def progress(self) -> str:
        return f"question {self.number} of {self.total}"

    @property
    def letters(self) -> tuple[str, ...]:
        return tuple(o.letter for o in self.options)

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "total": self.total,
            "progress": self.progress,
            "scenario_id": self.scenario_id,
            "pillar": self.pillar,
            "title": self.title,
            "situation": self.situation,
            "options": [asdict(o) for o in self.options],
            "rests_on": list(self.rests_on),
        }


@dataclass(frozen=True)
class Feedback:
    number: int
    total: int
    scenario_id: str
    pillar: str
    letter: str
    choice: str
    score: int
    best_score: int
    explanation: str
    best_letter: str
    best_choice: str
    why_best: str
    rests_on: tuple[str, ...]
    read_next: str

    @property
    def correct(self) -> bool:
        return self.score == self.best_score

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rests_on": list(self.rests_on), "correct": self.correct}


@dataclass(frozen=True)
class Quiz:
    """One attempt: the same ``seed`` and level give the same questions, order and letters."""

    level: str
    seed: int
    questions: tuple[Question, ...]
    bank: ScenarioBank

    def question(self, scenario_id: str) -> Question:
        for q in self.questions:
            if q.scenario_id == scenario_id:
                return q
        raise InvalidInputError(
            f"scenario '{scenario_id}' is not in this attempt (level {self.level}, seed {self.seed})",
            hint="its scenarios: " + ", ".join(q.scenario_id for q in self.questions),
        )

    def answer(self, scenario_id: str, letter: str) -> Feedback:
        """Feedback on one answer, shown right after it; the letter is case-insensitive."""
        q = self.question(scenario_id)
        picked = str(letter).strip().lower()
        if picked not in q.letters:
            raise InvalidInputError(
                f"answer {letter!r} to '{scenario_id}' ({q.progress}) is not one of its choices",
                hint="choices: " + ", ".join(q.letters),
            )
        scenario = self.bank.get(scenario_id)
        chosen = scenario.choices[q.order[q.letters.index(picked)]]
        best_letter = q.letters[q.order.index(scenario.best_index)]
        best = scenario.choices[scenario.best_index]
        return Feedback(
            q.number,
            q.total,
            q.scenario_id,
            q.pillar,
            picked,
            chosen.text,
            chosen.score,
            scenario.best_score,
            chosen.explanation,
            best_letter,
            best.text,
            best.explanation,
            q.rests_on,
            scenario.read_next,
        )

    def answer_key(self) -> dict[str, str]:
        """The best letter of every question, for the facilitator."""
        return {
            q.scenario_id: q.letters[q.order.index(self.bank.get(q.scenario_id).best_index)]
            for q in self.questions
        }

    def chance_percent(self) -> float:
        """The score expected from answering at random (or always the same letter), in percent."""
        scenarios = [self.bank.get(q.scenario_id) for q in self.questions]
        got = sum(sum(c.score for c in s.choices) / len(s.choices) for s in scenarios)
        best = sum(s.best_score for s in scenarios)
        return 100.0 * got / best if best else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "triops.quiz/v1",
            "level": self.level,
            "seed": self.seed,
            "chance_percent": self.chance_percent(),
            "questions": [q.to_dict() for q in self.questions],
        }

    def sheet(self) -> str:
        """A printable Markdown sheet of the questions (no answers)."""
        lines = [f"# Scenario assessment: {self.level}, attempt {self.seed}", ""]
        lines.append(
            f"Answer each question with one letter. Grade with "
            f"`triops assess scenarios --level {self.level} --seed {self.seed} --answers FILE`."
        )
        for q in self.questions:
            lines += ["", f"## {q.number}. {q.title} ({PILLAR_NAMES[q.pillar]})", "", q.situation, ""]
            lines += [f"- **{o.letter}**) {o.text}" for o in q.options]
        return "\n".join(lines) + "\n"


def _sample(scenarios: Sequence[Scenario], count: int, rng: random.Random) -> list[Scenario]:
    """``count`` scenarios spread over the pillars as evenly as the bank allows."""
    by_pillar = {p: [s for s in scenarios if s.pillar == p] for p in PILLARS}
    for group in by_pillar.values():
        rng.shuffle(group)
    picked: list[Scenario] = []
    while len(picked) < count:
        for p in PILLARS:
            if by_pillar[p] and len(picked) < count:
                picked.append(by_pillar[p].pop())
    return picked


def start_quiz(
    bank: ScenarioBank | None = None,
    *,
    level: str = "experienced",
    seed: int | None = None,
    pillars: Sequence[str] | None = None,
    count: int | None = None,
) -> Quiz:
    """A new attempt; without ``seed`` one is drawn (and kept in the quiz, so it can be given out)."""
    bank = bank or load_bank()
    if seed is None:
        seed = secrets.randbelow(1_000_000)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidInputError(f"seed {seed!r} is not a whole number ≥ 0")
    chosen = list(bank.select(level, pillars))
    if not chosen:
        raise InvalidInputError(f"no scenarios for level '{level}' and pillars {', '.join(pillars or ())}")
    rng = random.Random(f"triops-quiz:{level}:{seed}")
    if count is not None:
        if isinstance(count, bool) or not 1 <= count <= len(chosen):
            raise InvalidInputError(
                f"count {count!r} is outside [1, {len(chosen)}]",
                hint=f"level '{level}' has {len(chosen)} scenarios for these pillars",
            )
        chosen = _sample(chosen, count, rng)
    rng.shuffle(chosen)
    questions = []
    for number, s in enumerate(chosen, start=1):
        order = list(range(len(s.choices)))
        rng.shuffle(order)
        options = tuple(Option(LETTERS[i], s.choices[j].text) for i, j in enumerate(order))
        questions.append(
            Question(
                number,
                len(chosen),
                s.id,
                s.pillar,
                s.title,
                s.situation_for(level),
                options,
                bank.cite(s),
                tuple(order),
            )
        )
    return Quiz(level, seed, tuple(questions), bank)


@dataclass(frozen=True)
class PillarResult:
    pillar: str
    answered: int
    score: int
    max_score: int
    best_answers: int
    read_next: tuple[str, ...]

    @property
    def percent(self) -> float:
        return 100.0 * self.score / self.max_score if self.max_score else 0.0


@dataclass(frozen=True)
class QuizResult:
    level: str
    seed: int
    total: int
    feedback: tuple[Feedback, ...]
    pillars: tuple[PillarResult, ...]
    chance_percent: float

    @property
    def score(self) -> int:
        return sum(f.score for f in self.feedback)

    @property
    def max_score(self) -> int:
        return sum(f.best_score for f in self.feedback)

    @property
    def percent(self) -> float:
        return 100.0 * self.score / self.max_score if self.max_score else 0.0

    @property
    def weakest(self) -> tuple[str, ...]:
        """The pillar(s) with the lowest share of the best score (none when nothing was answered)."""
        if not self.pillars:
            return ()
        low = min(p.percent for p in self.pillars)
        return tuple(p.pillar for p in self.pillars if p.percent == low)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "triops.quiz-result/v1",
            "level": self.level,
            "seed": self.seed,
            "answered": len(self.feedback),
            "total": self.total,
            "score": self.score,
            "max_score": self.max_score,
            "percent": self.percent,
            "chance_percent": self.chance_percent,
            "weakest": list(self.weakest),
            "feedback": [f.to_dict() for f in self.feedback],
            "pillars": [
                {**asdict(p), "read_next": list(p.read_next), "percent": p.percent} for p in self.pillars
            ],
        }


def grade(quiz: Quiz, answers: Mapping[str, str]) -> QuizResult:
    """Grade ``{scenario id: letter}`` against this attempt; unknown ids or letters raise and say which."""
    given = {str(k): str(v) for k, v in answers.items()}
    feedback = tuple(
        quiz.answer(q.scenario_id, given[q.scenario_id]) for q in quiz.questions if q.scenario_id in given
    )
    for sid in given:
        quiz.question(sid)  # an answer to a scenario outside the attempt is an error, not ignored
    pillars = []
    for pillar in PILLARS:
        mine = [f for f in feedback if f.pillar == pillar]
        if not mine:
            continue
        reads = tuple(dict.fromkeys(f.read_next for f in mine if not f.correct))
        pillars.append(
            PillarResult(
                pillar,
                len(mine),
                sum(f.score for f in mine),
                sum(f.best_score for f in mine),
                sum(f.correct for f in mine),
                reads,
            )
        )
    return QuizResult(
        quiz.level, quiz.seed, len(quiz.questions), feedback, tuple(pillars), quiz.chance_percent()
    )


def read_answers(path: Path) -> dict[str, str]:
    """Answers from YAML or JSON: a mapping of scenario id to the letter chosen in the attempt."""
    found = read_answer_mapping(path, what="letters", example="data-schema-change: b")
    return {k: str(v) for k, v in found.items()}
