"""The scenario bank: public-sector scenarios as validated data (``data/scenarios.yaml``).

A scenario has a situation (optionally worded differently per learner level), choices with a score (0-3,
exactly one best) and an explanation each, the learner levels it suits (novice, experienced, manager), the
public practice it rests on (a document from the bank's ``sources`` and the part of it) and a docs page to
read next. :func:`load_bank` validates on load and names the scenario and field of any error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from triops.errors import InvalidInputError

PILLARS = ("dataops", "mlops", "finops", "governance", "change")
PILLAR_NAMES = {
    "dataops": "DataOps",
    "mlops": "MLOps",
    "finops": "FinOps",
    "governance": "governance",
    "change": "change management",
}
LEARNER_LEVELS = ("novice", "experienced", "manager")
MAX_SCORE = 3
LETTERS = "abcdefgh"
Level = Literal["novice", "experienced", "manager"]


class Choice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(min_length=1)
    score: int = Field(ge=0, le=MAX_SCORE)
    explanation: str = Field(min_length=1)


class Citation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(min_length=1)
    section: str = Field(min_length=1)


class Variant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    situation: str = Field(min_length=1)


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    pillar: Literal["dataops", "mlops", "finops", "governance", "change"]
    levels: tuple[Level, ...] = Field(min_length=1)
    title: str = Field(min_length=1)
    situation: str = Field(min_length=1)
    variants: dict[Level, Variant] = Field(default_factory=dict)
    choices: tuple[Choice, ...] = Field(min_length=2, max_length=len(LETTERS))
    rests_on: tuple[Citation, ...] = ()
    read_next: str = Field(min_length=1, pattern=r"^docs/[^#\s]+\.md(#[a-z0-9_-]+)?$")

    @field_validator("levels")
    @classmethod
    def _unique_levels(cls, levels: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(levels)) != len(levels):
            raise ValueError("a learner level is listed twice")
        return levels

    @model_validator(mode="after")
    def _one_best(self) -> Scenario:
        best = [c for c in self.choices if c.score == self.best_score]
        if self.best_score == 0:
            raise ValueError("no choice scores above 0")
        if len(best) != 1:
            raise ValueError("exactly one choice must have the top score")
        for level in self.variants:
            if level not in self.levels:
                raise ValueError(f"variant for '{level}', which is not one of the scenario's levels")
        return self

    @property
    def best_score(self) -> int:
        return max(c.score for c in self.choices)

    @property
    def best_index(self) -> int:
        """Position of the best choice in the bank (0 = first)."""
        return next(i for i, c in enumerate(self.choices) if c.score == self.best_score)

    def situation_for(self, level: str) -> str:
        variant = self.variants.get(level)  # type: ignore[call-overload]
        return variant.situation if variant is not None else self.situation


@dataclass(frozen=True)
class ScenarioBank:
    scenarios: tuple[Scenario, ...]
    sources: Mapping[str, str]

    def get(self, scenario_id: str) -> Scenario:
        for s in self.scenarios:
            if s.id == scenario_id:
                return s
        raise InvalidInputError(
            f"unknown scenario id '{scenario_id}'",
            hint="known ids: " + ", ".join(s.id for s in self.scenarios),
        )

    def select(self, level: str, pillars: Sequence[str] | None = None) -> tuple[Scenario, ...]:
        """The scenarios for a learner level, optionally of some pillars only."""
        if level not in LEARNER_LEVELS:
            raise InvalidInputError(
                f"unknown learner level '{level}'", hint="levels: " + ", ".join(LEARNER_LEVELS)
            )
        for p in pillars or ():
            if p not in PILLARS:
                raise InvalidInputError(f"unknown pillar '{p}'", hint="pillars: " + ", ".join(PILLARS))
        return tuple(s for s in self.scenarios if level in s.levels and (not pillars or s.pillar in pillars))

    def cite(self, scenario: Scenario) -> tuple[str, ...]:
        return tuple(f"{self.sources[c.source]}: {c.section}" for c in scenario.rests_on)


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(x) for x in loc) or "(scenario)"


def parse_bank(doc: Any, where: str = "scenario bank") -> ScenarioBank:
    """Validate a parsed YAML document; errors name the scenario and the field."""
    if not isinstance(doc, Mapping) or not isinstance(doc.get("scenarios"), list):
        raise InvalidInputError(f"{where}: expected a mapping with a 'scenarios' list")
    sources = doc.get("sources") or {}
    if not isinstance(sources, Mapping) or not all(isinstance(v, str) and v for v in sources.values()):
        raise InvalidInputError(f"{where}: 'sources' must map a short id to a document's full name")
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
                hint="each scenario needs id, pillar, levels, title, situation, read_next and choices "
                "(text, score 0-3, explanation)",
            ) from exc
        if scenario.id in seen:
            raise InvalidInputError(
                f"{where}: {label}, field 'id': duplicate scenario id", hint="ids must be unique"
            )
        for citation in scenario.rests_on:
            if citation.source not in sources:
                raise InvalidInputError(
                    f"{where}: {label}, field 'rests_on': unknown source '{citation.source}'",
                    hint="add it under 'sources' with the document's full name",
                )
        seen.add(scenario.id)
        out.append(scenario)
    if not out:
        raise InvalidInputError(f"{where}: no scenarios")
    return ScenarioBank(tuple(out), {str(k): str(v) for k, v in sources.items()})


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
