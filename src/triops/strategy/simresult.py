"""Results of the portfolio simulation: summaries per outcome and approach, the header and the assumptions line.

Every comparison output (the CLI table, ``--json``, the README) shows :meth:`SimulationResult.header` (level,
seed, size, shocks, overrides, whether effects were neutral, currency) and
:meth:`SimulationResult.assumptions_line` (which effects are assumed and how to neutralise them), so two
groups' screenshots can be told apart and nobody mistakes an assumption for a finding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from triops.errors import InvalidInputError

F = npt.NDArray[np.float64]

METRICS = (
    "projects_in_production",
    "time_to_production_weeks",
    "total_cost",
    "value_delivered",
    "net_value",
    "roi",
    "cost_overrun",
    "incidents",
    "data_incidents",
    "compliance_findings",
    "trust_incidents",
    "detection_delay_weeks",
)
MONEY = frozenset({"total_cost", "value_delivered", "net_value"})
SHARES = frozenset({"cost_overrun", "roi"})
LABELS = {
    "projects_in_production": "projects in production",
    "time_to_production_weeks": "time to production (weeks)",
    "total_cost": "total cost",
    "value_delivered": "value delivered",
    "net_value": "net value (value - cost)",
    "roi": "return on investment (net value / cost)",
    "cost_overrun": "development cost overrun",
    "incidents": "incidents (all)",
    "data_incidents": "data incidents",
    "compliance_findings": "compliance findings",
    "trust_incidents": "public-trust incidents",
    "detection_delay_weeks": "weeks to notice degradation",
}
SHOCK_LABELS = {
    "budget_cut": "budget cut",
    "key_staff_loss": "key-staff loss",
    "regulation_change": "regulation change",
    "data_source_outage": "data-source outage",
}


def metric_label(key: str, currency: str) -> str:
    """The row label of an outcome; money says its unit (thousands of the currency)."""
    label = LABELS[key]
    return f"{label} (k {currency})" if key in MONEY else label


@dataclass(frozen=True)
class MetricSummary:
    """Median and 90 % interval (5th to 95th percentile) of one outcome over the runs."""

    median: float
    low: float
    high: float
    mean: float

    @classmethod
    def of(cls, sample: F) -> MetricSummary:
        finite = sample[np.isfinite(sample)]
        if finite.size == 0:
            return cls(float("nan"), float("nan"), float("nan"), float("nan"))
        low, median, high = np.percentile(finite, [5.0, 50.0, 95.0])
        return cls(float(median), float(low), float(high), float(finite.mean()))

    def to_dict(self) -> dict[str, float | None]:
        """JSON-safe: NaN (no sample, e.g. no project reached production) becomes None."""
        return {k: (None if v != v else v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class ApproachResult:
    name: str
    practices: tuple[str, ...]
    metrics: Mapping[str, MetricSummary]
    effective: Mapping[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "practices": list(self.practices),
            "metrics": {k: v.to_dict() for k, v in self.metrics.items()},
            "effective": dict(self.effective),
        }


def assumptions_line(neutral: bool, assumed: int) -> str:
    """One sentence: which effects are assumptions and how to neutralise them."""
    if neutral:
        return (
            f"Neutral run: all {assumed} assumed practice and synergy effects are set to no effect; "
            "the practices still cost their setup and overhead, so what remains is cost, chance and shocks."
        )
    return (
        f"Assumptions: the {assumed} practice and synergy effects that make approaches differ are assumed, "
        "not measured (`triops simulate --sources`); rerun with --neutral to set them to no effect, "
        "or --sensitivity to rank them."
    )


@dataclass(frozen=True)
class SimulationResult:
    runs: int
    projects: int
    weeks: int
    seed: int
    level: str
    approaches: tuple[ApproachResult, ...] = field(default_factory=tuple)
    shocks: tuple[str, ...] = ()
    overrides: Mapping[str, float] = field(default_factory=dict)
    neutral: bool = False
    currency: str = "EUR"
    assumed_effects: int = 0

    def header(self) -> str:
        """Everything that makes two results comparable, on one line."""
        shocks = ", ".join(SHOCK_LABELS.get(s, s) for s in self.shocks) or "off"
        overrides = ", ".join(f"{k}={v:g}" for k, v in sorted(self.overrides.items())) or "none"
        effects = "neutral (no effect)" if self.neutral else "as assumed"
        return (
            f"level {self.level} · seed {self.seed} · {self.runs:,} runs × {self.projects} projects × "
            f"{self.weeks} weeks · shocks: {shocks} · overrides: {overrides} · practice effects: {effects} · "
            f"money: thousands of {self.currency}"
        )

    def assumptions_line(self) -> str:
        return assumptions_line(self.neutral, self.assumed_effects)

    def to_dict(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "projects": self.projects,
            "weeks": self.weeks,
            "seed": self.seed,
            "level": self.level,
            "shocks": list(self.shocks),
            "overrides": dict(self.overrides),
            "neutral": self.neutral,
            "currency": self.currency,
            "money_unit": f"thousands of {self.currency}",
            "header": self.header(),
            "assumptions": self.assumptions_line(),
            "assumed_effects": self.assumed_effects,
            "approaches": [a.to_dict() for a in self.approaches],
        }

    def approach(self, name: str) -> ApproachResult:
        for a in self.approaches:
            if a.name == name:
                return a
        raise InvalidInputError(f"no approach '{name}' in this result", hint="simulate it first")
