"""Maturity assessment: dimensions with levels 0-4, answers merged with store evidence, pillar levels.

The model (``data/maturity.yaml``) lists, for DataOps, MLOps, FinOps, governance and culture, dimensions
with an observable criterion per level and the published models each draws on. :func:`assess` merges a
questionnaire's answers with :class:`StoreEvidence` (counts the triops store can show) and labels every
dimension "evidence", "self-reported" or "unanswered". A pillar's level is its weakest *required*
dimension, never an average: one missing foundation holds the pillar back however good the rest is.
Results are plain dataclasses with ``to_dict``/``from_dict`` so they can be stored as JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from triops.domain.clock import Clock, SystemClock
from triops.errors import InvalidInputError
from triops.strategy.answers import read_answer_mapping

MATURITY_PILLARS = ("dataops", "mlops", "finops", "governance", "culture")
MAX_LEVEL = 4
Source = Literal["evidence", "self-reported", "unanswered"]


@dataclass(frozen=True)
class StoreEvidence:
    """What the store can show; counts are 0 and ``audit_verified`` is None when nothing is known."""

    runs_tracked: int = 0
    pipelines_run: int = 0
    contracts_enforced: int = 0
    dataset_versions: int = 0
    lineage_edges: int = 0
    costs_metered: int = 0
    budgets_defined: int = 0
    approvals_used: int = 0
    policies_defined: int = 0
    audit_verified: bool | None = None
    models_registered: int = 0
    model_cards: int = 0
    monitoring_configured: int = 0
    fairness_checks: int = 0

    def value(self, name: str) -> int | None:
        """The figure behind ``name`` as a count, or None when the store has no evidence for it."""
        raw = getattr(self, name)
        if raw is None:
            return None
        if isinstance(raw, bool):
            return int(raw)
        return int(raw) if raw > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StoreEvidence:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInputError(
                f"unknown evidence field(s): {', '.join(unknown)}",
                hint="known fields: " + ", ".join(sorted(known)),
            )
        out: dict[str, Any] = {}
        for name, raw in data.items():
            if name == "audit_verified":
                if raw is not None and not isinstance(raw, bool):
                    raise InvalidInputError(
                        f"evidence field 'audit_verified' = {raw!r}; expected true, false or null"
                    )
                out[name] = raw
            elif isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
                raise InvalidInputError(f"evidence field '{name}' = {raw!r}; expected a whole number ≥ 0")
            else:
                out[name] = raw
        return cls(**out)


_EVIDENCE_FIELDS = tuple(f.name for f in fields(StoreEvidence))


class EvidenceRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    field: str
    at_least: int = Field(ge=1)
    level: int = Field(ge=1, le=MAX_LEVEL)

    @model_validator(mode="after")
    def _known(self) -> EvidenceRule:
        if self.field not in _EVIDENCE_FIELDS:
            raise ValueError(f"unknown evidence field '{self.field}'")
        return self


class Requirement(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    at: int = Field(ge=1, le=MAX_LEVEL)
    dimension: str
    level: int = Field(ge=1, le=MAX_LEVEL)


class Dimension(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    pillar: Literal["dataops", "mlops", "finops", "governance", "culture"]
    name: str
    required: bool
    draws_on: tuple[str, ...] = Field(min_length=1)
    question: str
    levels: tuple[str, ...] = Field(min_length=MAX_LEVEL + 1, max_length=MAX_LEVEL + 1)
    evidence: tuple[EvidenceRule, ...] = ()
    owner_role: str
    kpi: str
    effort: tuple[int, ...] = Field(min_length=MAX_LEVEL, max_length=MAX_LEVEL)
    requires: tuple[Requirement, ...] = ()

    def criterion(self, level: int) -> str:
        """The observable criterion of ``level`` without its ``"N: "`` prefix."""
        return self.levels[level].split(":", 1)[-1].strip()

    def evidence_level(self, evidence: StoreEvidence | None) -> int | None:
        if evidence is None or not self.evidence:
            return None
        seen = [evidence.value(rule.field) for rule in self.evidence]
        if all(v is None for v in seen):
            return None
        return max(
            (r.level for r, v in zip(self.evidence, seen, strict=True) if v is not None and v >= r.at_least),
            default=0,
        )


class MaturityModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    models: dict[str, str]
    dimensions: tuple[Dimension, ...]

    @model_validator(mode="after")
    def _consistent(self) -> MaturityModel:
        ids = [d.id for d in self.dimensions]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate dimension ids")
        for d in self.dimensions:
            for m in d.draws_on:
                if m not in self.models:
                    raise ValueError(f"dimension '{d.id}' draws on unknown model '{m}'")
            for r in d.requires:
                if r.dimension not in ids:
                    raise ValueError(f"dimension '{d.id}' requires unknown dimension '{r.dimension}'")
        for p in MATURITY_PILLARS:
            if not any(d.pillar == p and d.required for d in self.dimensions):
                raise ValueError(f"pillar '{p}' has no required dimension")
        return self

    def get(self, dimension_id: str) -> Dimension:
        for d in self.dimensions:
            if d.id == dimension_id:
                return d
        raise InvalidInputError(
            f"unknown question id '{dimension_id}'",
            hint="known ids: " + ", ".join(d.id for d in self.dimensions),
        )


def parse_model(doc: Any, where: str = "maturity model") -> MaturityModel:
    try:
        return MaturityModel.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        raise InvalidInputError(f"{where}: field '{loc}': {first['msg']}") from exc


def load_model() -> MaturityModel:
    text = resources.files("triops.strategy").joinpath("data/maturity.yaml").read_text(encoding="utf-8")
    return parse_model(yaml.safe_load(text), "data/maturity.yaml")


@dataclass(frozen=True)
class DimensionResult:
    dimension: str
    pillar: str
    name: str
    required: bool
    level: int
    source: Source
    self_reported: int | None
    evidence_level: int | None
    criterion: str


@dataclass(frozen=True)
class PillarLevel:
    pillar: str
    level: int
    weakest: tuple[str, ...]


@dataclass(frozen=True)
class MaturityResult:
    assessed_at_ms: int
    dimensions: tuple[DimensionResult, ...]
    pillars: tuple[PillarLevel, ...]

    @property
    def overall(self) -> int:
        return min(p.level for p in self.pillars)

    def dimension(self, dimension_id: str) -> DimensionResult:
        for d in self.dimensions:
            if d.dimension == dimension_id:
                return d
        raise InvalidInputError(f"no dimension '{dimension_id}' in this result")

    def levels(self) -> dict[str, int]:
        return {d.dimension: d.level for d in self.dimensions}

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "triops.maturity/v1",
            "assessed_at_ms": self.assessed_at_ms,
            "overall": self.overall,
            "dimensions": [asdict(d) for d in self.dimensions],
            "pillars": [{**asdict(p), "weakest": list(p.weakest)} for p in self.pillars],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MaturityResult:
        try:
            dims = tuple(DimensionResult(**d) for d in data["dimensions"])
            pillars = tuple(
                PillarLevel(p["pillar"], int(p["level"]), tuple(p["weakest"])) for p in data["pillars"]
            )
            return cls(int(data["assessed_at_ms"]), dims, pillars)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"not a maturity assessment result ({exc})",
                hint="create one with `triops assess maturity --json`",
            ) from exc


def check_answers(model: MaturityModel, answers: Mapping[str, Any]) -> dict[str, int]:
    """Validate ``{dimension id: level}``; unknown ids and levels outside 0-4 say which."""
    out: dict[str, int] = {}
    for key, raw in answers.items():
        dim = model.get(str(key))
        if (
            isinstance(raw, bool)
            or not isinstance(raw, int | str)
            or str(raw).strip() not in {"0", "1", "2", "3", "4"}
        ):
            raise InvalidInputError(
                f"answer to '{dim.id}' is {raw!r}, not a valid choice",
                hint="choices are the levels 0, 1, 2, 3, 4",
            )
        out[dim.id] = int(str(raw).strip())
    return out


def merge(dim: Dimension, answer: int | None, evidence: StoreEvidence | None) -> DimensionResult:
    """One dimension's level: evidence wins unless the self-report claims more than it shows."""
    ev = dim.evidence_level(evidence)
    source: Source
    if ev is None and answer is None:
        level, source = 0, "unanswered"
    elif ev is None:
        level, source = answer or 0, "self-reported"
    elif answer is None or answer <= ev:
        level, source = ev, "evidence"
    else:
        level, source = answer, "self-reported"
    return DimensionResult(
        dim.id, dim.pillar, dim.name, dim.required, level, source, answer, ev, dim.criterion(level)
    )


def pillar_levels(dimensions: tuple[DimensionResult, ...]) -> tuple[PillarLevel, ...]:
    """A pillar's level is the minimum over its required dimensions."""
    out = []
    for pillar in MATURITY_PILLARS:
        req = [d for d in dimensions if d.pillar == pillar and d.required]
        if not req:
            continue
        level = min(d.level for d in req)
        out.append(PillarLevel(pillar, level, tuple(d.dimension for d in req if d.level == level)))
    return tuple(out)


def assess(
    answers: Mapping[str, Any] | None = None,
    evidence: StoreEvidence | None = None,
    *,
    model: MaturityModel | None = None,
    clock: Clock | None = None,
) -> MaturityResult:
    """Merge questionnaire answers with store evidence into a :class:`MaturityResult`."""
    model = model or load_model()
    checked = check_answers(model, answers or {})
    dims = tuple(merge(d, checked.get(d.id), evidence) for d in model.dimensions)
    now: datetime = (clock or SystemClock()).now()
    return MaturityResult(int(now.timestamp() * 1000), dims, pillar_levels(dims))


def progress(results: Sequence[MaturityResult]) -> list[dict[str, Any]]:
    """Pillar levels over time, oldest first: one row per stored assessment, for a table or a chart."""
    rows = []
    for r in sorted(results, key=lambda r: r.assessed_at_ms):
        rows.append(
            {
                "assessed_at_ms": r.assessed_at_ms,
                "overall": r.overall,
                **{p.pillar: p.level for p in r.pillars},
            }
        )
    return rows


def read_answer_file(path: Path) -> dict[str, Any]:
    """A YAML or JSON mapping of dimension id to level (optionally under an ``answers`` key)."""
    return read_answer_mapping(path, what="levels", example="data_contracts: 2")
