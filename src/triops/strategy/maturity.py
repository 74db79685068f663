"""Maturity assessment: each dimension's level from store evidence, self-reports kept beside it, pillar levels.

The model (:mod:`triops.strategy.maturity_model`, ``data/maturity.yaml``) gives every dimension levels 0-4
and, per level, the store figures that show it or the reason the store cannot. :func:`assess` works out
each dimension's level from :class:`StoreEvidence` wherever the store can show it; a questionnaire answer
claiming more is kept and marked (``claim_above_evidence``), never merged into the level. Where the store
cannot show a dimension at all (e.g. how teams are organised), the answer is the level, labelled
``self-reported``. Every dimension carries the figures behind it and what the next level still needs.
A pillar's level is its weakest *required* dimension, never an average; the level the claims would give
is reported separately. Results are plain dataclasses with ``to_dict``/``from_dict`` (stored as JSON).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from triops.domain.clock import Clock, SystemClock
from triops.errors import InvalidInputError
from triops.strategy.answers import read_answer_mapping
from triops.strategy.maturity_model import (
    MATURITY_PILLARS,
    MAX_LEVEL,
    Dimension,
    MaturityModel,
    StoreEvidence,
    load_model,
)

__all__ = [
    "MATURITY_PILLARS",
    "MAX_LEVEL",
    "DimensionResult",
    "MaturityResult",
    "PillarLevel",
    "StoreEvidence",
    "assess",
    "changes",
    "load_model",
    "progress",
]
Source = Literal["evidence", "self-reported", "unanswered"]
KIND = "triops.maturity/v2"


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
    ceiling: int = 0
    claim_above_evidence: bool = False
    figures: tuple[str, ...] = ()
    next_step: str | None = None

    @property
    def claimed(self) -> int:
        """The level the answer claims, or the level itself when there is no higher claim."""
        return max(self.level, self.self_reported or 0)


@dataclass(frozen=True)
class PillarLevel:
    pillar: str
    level: int
    weakest: tuple[str, ...]
    claimed: int | None = None
    basis: str = ""


@dataclass(frozen=True)
class MaturityResult:
    assessed_at_ms: int
    dimensions: tuple[DimensionResult, ...]
    pillars: tuple[PillarLevel, ...]
    evidence: StoreEvidence | None = field(default=None)

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
            "kind": KIND,
            "assessed_at_ms": self.assessed_at_ms,
            "overall": self.overall,
            "dimensions": [
                {**asdict(d), "figures": list(d.figures), "claimed": d.claimed} for d in self.dimensions
            ],
            "pillars": [{**asdict(p), "weakest": list(p.weakest)} for p in self.pillars],
            "evidence": self.evidence.to_dict() if self.evidence is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MaturityResult:
        """Read a stored result; results of the earlier ``triops.maturity/v1`` format read too."""
        try:
            dims = []
            for d in data["dimensions"]:
                known = {k: v for k, v in d.items() if k in DimensionResult.__dataclass_fields__}
                known["figures"] = tuple(known.get("figures", ()))
                dims.append(DimensionResult(**known))
            pillars = tuple(
                PillarLevel(
                    p["pillar"], int(p["level"]), tuple(p["weakest"]), p.get("claimed"), p.get("basis", "")
                )
                for p in data["pillars"]
            )
            raw = data.get("evidence")
            evidence = StoreEvidence.from_dict(raw) if isinstance(raw, Mapping) else None
            return cls(int(data["assessed_at_ms"]), tuple(dims), pillars, evidence)
        except (KeyError, TypeError, ValueError, InvalidInputError) as exc:
            raise InvalidInputError(
                f"not a maturity assessment result ({exc})",
                hint="create one with `triops assess maturity --out FILE`",
            ) from exc


def check_answers(model: MaturityModel, answers: Mapping[str, Any]) -> dict[str, int]:
    """Validate ``{dimension id: level}``; unknown ids and levels outside 0-4 say which."""
    out: dict[str, int] = {}
    for key, raw in answers.items():
        dim = model.get(str(key))
        if (
            isinstance(raw, bool)
            or not isinstance(raw, int | str)
            or str(raw).strip() not in {str(n) for n in range(MAX_LEVEL + 1)}
        ):
            raise InvalidInputError(
                f"answer to '{dim.id}' is {raw!r}, not a valid choice",
                hint="choices are the levels 0, 1, 2, 3, 4",
            )
        out[dim.id] = int(str(raw).strip())
    return out


def _next_step(dim: Dimension, level: int, evidence: StoreEvidence | None) -> str | None:
    target = level + 1
    if target > MAX_LEVEL:
        return None
    reason = dim.cannot_show(target)
    if reason is not None:
        return f"level {target} cannot be shown from the store: {reason}"
    if evidence is None:
        return f"level {target}: {dim.criterion(target)}"
    missing = [r.missing(evidence) for r in dim.rules_for(target) if not r.holds(evidence)]
    return f"level {target} needs " + " and ".join(missing)


def merge(dim: Dimension, answer: int | None, evidence: StoreEvidence | None) -> DimensionResult:
    """One dimension's level: the evidence wherever the store can show it, else the answer."""
    if evidence is None or dim.ceiling == 0:
        level = answer or 0
        source: Source = "unanswered" if answer is None else "self-reported"
        return DimensionResult(
            dim.id,
            dim.pillar,
            dim.name,
            dim.required,
            level,
            source,
            answer,
            None,
            dim.criterion(level),
            dim.ceiling,
            figures=(f"the store cannot show this: {dim.cannot_show(1)}",) if evidence is not None else (),
            next_step=_next_step(dim, level, None),
        )
    shown = dim.evidence_level(evidence)
    return DimensionResult(
        dim.id,
        dim.pillar,
        dim.name,
        dim.required,
        shown,
        "evidence",
        answer,
        shown,
        dim.criterion(shown),
        dim.ceiling,
        claim_above_evidence=answer is not None and answer > shown,
        figures=dim.figures(evidence),
        next_step=_next_step(dim, shown, evidence),
    )


def pillar_levels(dimensions: tuple[DimensionResult, ...]) -> tuple[PillarLevel, ...]:
    """A pillar's level is the minimum over its required dimensions; claims are reported beside it."""
    out = []
    for pillar in MATURITY_PILLARS:
        req = [d for d in dimensions if d.pillar == pillar and d.required]
        if not req:
            continue
        level = min(d.level for d in req)
        claimed = min(d.claimed for d in req)
        mine = [d for d in dimensions if d.pillar == pillar]
        basis = ", ".join(
            f"{sum(d.source == s for d in mine)} {s}"
            for s in ("evidence", "self-reported", "unanswered")
            if any(d.source == s for d in mine)
        )
        claims = sum(d.claim_above_evidence for d in mine)
        if claims:
            basis += f"; {claims} claim{'s' if claims > 1 else ''} above the evidence"
        out.append(
            PillarLevel(
                pillar,
                level,
                tuple(d.dimension for d in req if d.level == level),
                claimed if claimed != level else None,
                basis,
            )
        )
    return tuple(out)


def assess(
    answers: Mapping[str, Any] | None = None,
    evidence: StoreEvidence | None = None,
    *,
    model: MaturityModel | None = None,
    clock: Clock | None = None,
) -> MaturityResult:
    """Assess every dimension from store evidence and questionnaire answers into a :class:`MaturityResult`."""
    model = model or load_model()
    checked = check_answers(model, answers or {})
    dims = tuple(merge(d, checked.get(d.id), evidence) for d in model.dimensions)
    now = (clock or SystemClock()).now()
    return MaturityResult(int(now.timestamp() * 1000), dims, pillar_levels(dims), evidence)


def progress(results: Sequence[MaturityResult]) -> list[dict[str, Any]]:
    """Pillar levels over time, oldest first: one row per stored assessment, with what changed since the last."""
    rows: list[dict[str, Any]] = []
    ordered = sorted(results, key=lambda r: r.assessed_at_ms)
    previous: list[MaturityResult | None] = [None, *ordered[:-1]] if ordered else []
    for before, r in zip(previous, ordered, strict=True):
        rows.append(
            {
                "assessed_at_ms": r.assessed_at_ms,
                "overall": r.overall,
                **{p.pillar: p.level for p in r.pillars},
                "changes": changes(before, r) if before is not None else [],
            }
        )
    return rows


def changes(before: MaturityResult, after: MaturityResult) -> list[dict[str, Any]]:
    """Dimensions whose level moved between two assessments."""
    old = before.levels()
    return [
        {"dimension": d.dimension, "name": d.name, "from": old[d.dimension], "to": d.level}
        for d in after.dimensions
        if d.dimension in old and old[d.dimension] != d.level
    ]


def read_answer_file(path: Path) -> dict[str, Any]:
    """A YAML or JSON mapping of dimension id to level (optionally under an ``answers`` key)."""
    return read_answer_mapping(path, what="levels", example="data_contracts: 2")
