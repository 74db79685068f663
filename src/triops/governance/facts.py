"""``GateFacts``: the facts a policy rule sees at a gate, as plain data.

The caller (the workspace) fills it from the store: the model version's evaluation metrics and their
confidence intervals, fairness gaps, the training data's quality score and contract status, model-card
completeness, serving cost per 1,000 predictions and the number of valid approvals. ``to_cel`` gives the
names rules use, e.g. ``metrics.auc >= 0.75``, ``intervals.auc.low >= 0.7``, ``fairness.max_gap <= 0.05``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


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
