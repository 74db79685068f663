"""``GateFacts``: the facts a policy rule sees at a gate, as plain data.

The caller (the workspace) fills it from the store: the model version's evaluation metrics and their
confidence intervals, fairness gaps, the training data's quality score and contract status, model-card
completeness, serving cost per 1,000 predictions and the number of valid approvals. ``to_cel`` gives the
names rules use, e.g. ``metrics.auc >= 0.75``, ``intervals.auc.low >= 0.7``, ``fairness.max_gap <= 0.05``,
``fairness.max_gap_upper <= 0.1`` (the high end of the largest gap's bootstrap interval).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from triops.errors import InvalidInputError


@dataclass(frozen=True, slots=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class GateFacts:
    """Everything a rule may read. ``None`` means "not known" and is ``null`` to a rule."""

    gate: str
    subject_type: str = ""
    subject_id: str = ""
    project: str | None = None
    change: dict[str, str] = field(
        default_factory=dict
    )  # e.g. {"from_stage": "staging", "to_stage": "production"}
    metrics: dict[str, float] = field(default_factory=dict)
    intervals: dict[str, Interval] = field(default_factory=dict)
    fairness_gaps: dict[str, float] = field(default_factory=dict)  # metric -> largest gap between groups
    fairness_gap_upper: dict[str, float] = field(default_factory=dict)  # metric -> its interval's high end
    data_quality_score: float | None = None  # 0..1
    contract_status: str | None = None  # "passed" | "failed" | "none"
    card_completeness: float | None = None  # 0..1
    cost_per_1k_predictions: Decimal | None = None  # in ``currency``
    currency: str | None = None
    approvals: int = 0
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def fairness_max_gap(self) -> float | None:
        finite = [v for v in self.fairness_gaps.values() if not math.isnan(v)]
        return max(finite) if finite else None

    @property
    def fairness_max_gap_upper(self) -> float | None:
        finite = [v for v in self.fairness_gap_upper.values() if not math.isnan(v)]
        return max(finite) if finite else None

    def to_cel(self) -> dict[str, Any]:
        """The facts as JSON-like values under the names rules use (also what a gate result reports)."""
        return {
            "gate": self.gate,
            "subject": {"type": self.subject_type, "id": self.subject_id},
            "project": self.project,
            "change": dict(self.change),
            "metrics": {k: float(v) for k, v in self.metrics.items()},
            "intervals": {k: {"low": i.low, "high": i.high} for k, i in self.intervals.items()},
            "fairness": {
                "gaps": {k: float(v) for k, v in self.fairness_gaps.items()},
                "max_gap": self.fairness_max_gap,
                "upper": {k: float(v) for k, v in self.fairness_gap_upper.items()},
                "max_gap_upper": self.fairness_max_gap_upper,
            },
            "data_quality_score": self.data_quality_score,
            "contract_status": self.contract_status,
            "card_completeness": self.card_completeness,
            # CEL has no decimals; rules compare a double, the report keeps the exact text.
            "cost_per_1k_predictions": None
            if self.cost_per_1k_predictions is None
            else float(self.cost_per_1k_predictions),
            "currency": self.currency,
            "approvals": self.approvals,
            "labels": dict(self.labels),
        }


_FLOAT_FIELDS = ("data_quality_score", "card_completeness")


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInputError(f"fact {what} must be a number, not {type(value).__name__}")
    return float(value)


def _str_map(value: Any, what: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise InvalidInputError(f"fact {what} must be a mapping")
    return {str(k): str(v) for k, v in value.items()}


def facts_from_dict(data: Any) -> GateFacts:
    """Facts given as plain data (a JSON/YAML file for ``triops policy check``), validated."""
    if not isinstance(data, dict):
        raise InvalidInputError("facts must be a mapping of fact names to values")
    known = set(GateFacts.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise InvalidInputError(
            f"unknown fact(s): {', '.join(unknown)}", hint=f"facts: {', '.join(sorted(known))}"
        )
    if "gate" not in data:
        raise InvalidInputError("facts need a 'gate'", hint="e.g. gate: model.stage")
    intervals: dict[str, Interval] = {}
    for key, value in (data.get("intervals") or {}).items():
        pair = [value.get("low"), value.get("high")] if isinstance(value, dict) else value
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise InvalidInputError(f"interval {key!r} must be [low, high] or {{low, high}}")
        intervals[str(key)] = Interval(
            _number(pair[0], f"intervals.{key}.low"), _number(pair[1], f"intervals.{key}.high")
        )
    cost = data.get("cost_per_1k_predictions")
    approvals = data.get("approvals", 0)
    if isinstance(approvals, bool) or not isinstance(approvals, int) or approvals < 0:
        raise InvalidInputError("fact approvals must be a whole number ≥ 0")
    optional = {k: None if data.get(k) is None else _number(data[k], k) for k in _FLOAT_FIELDS}
    return GateFacts(
        gate=str(data["gate"]),
        subject_type=str(data.get("subject_type", "")),
        subject_id=str(data.get("subject_id", "")),
        project=None if data.get("project") is None else str(data["project"]),
        change=_str_map(data.get("change") or {}, "change"),
        metrics={str(k): _number(v, f"metrics.{k}") for k, v in (data.get("metrics") or {}).items()},
        intervals=intervals,
        fairness_gaps={
            str(k): _number(v, f"fairness_gaps.{k}") for k, v in (data.get("fairness_gaps") or {}).items()
        },
        fairness_gap_upper={
            str(k): _number(v, f"fairness_gap_upper.{k}")
            for k, v in (data.get("fairness_gap_upper") or {}).items()
        },
        data_quality_score=optional["data_quality_score"],
        contract_status=None if data.get("contract_status") is None else str(data["contract_status"]),
        card_completeness=optional["card_completeness"],
        cost_per_1k_predictions=None
        if cost is None
        else Decimal(str(_number(cost, "cost_per_1k_predictions"))),
        currency=None if data.get("currency") is None else str(data["currency"]),
        approvals=approvals,
        labels=_str_map(data.get("labels") or {}, "labels"),
    )
