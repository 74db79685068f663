"""Which assumed effects move the simulation's outcome most: tornado data for ``triops simulate --sensitivity``.

Every practice and synergy effect in ``data/simulation.yaml`` is an assumption. For each one, the outcome
is simulated with that effect alone set to no effect (``neutral``) and alone made twice as strong (its
distance from no effect doubled, kept inside its range), all others as assumed. The outcome is the mean of
one metric for a single approach, or the difference of that mean between the last and the first approach
compared (e.g. integrated minus siloed). Rows are ranked by their swing (stronger minus neutral), widest
first: the top of the list is where a workshop should question the assumptions. The same seed is used
throughout (common random numbers), so the differences come from the effect, not from the dice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from triops.errors import InvalidInputError
from triops.strategy.simparams import ParameterSet, effective_parameters, load_parameters
from triops.strategy.simresult import METRICS, assumptions_line, metric_label
from triops.strategy.simulation import sample_outcomes, simulate


@dataclass(frozen=True)
class SensitivityRow:
    effect: str
    source: str
    assumed: float
    neutral: float
    stronger: float
    outcome_neutral: float
    outcome_assumed: float
    outcome_stronger: float

    @property
    def swing(self) -> float:
        return abs(self.outcome_stronger - self.outcome_neutral)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "swing": self.swing}


@dataclass(frozen=True)
class SensitivityResult:
    outcome: str
    metric: str
    header: str
    rows: tuple[SensitivityRow, ...]
    base: float
    assumptions: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "triops.sensitivity/v1",
            "outcome": self.outcome,
            "metric": self.metric,
            "header": self.header,
            "assumptions": self.assumptions,
            "base": self.base,
            "rows": [r.to_dict() for r in self.rows],
        }


def sensitivity_from_dict(data: Mapping[str, Any]) -> SensitivityResult:
    """A result ``SensitivityResult.to_dict`` wrote (as the API sends it) read back into its types."""
    fields = [f.name for f in dataclasses.fields(SensitivityRow)]
    return SensitivityResult(
        outcome=str(data["outcome"]),
        metric=str(data["metric"]),
        header=str(data["header"]),
        rows=tuple(SensitivityRow(**{k: row[k] for k in fields}) for row in data["rows"]),
        base=float(data["base"]),
        assumptions=str(data["assumptions"]),
    )


def _stronger(value: float, neutral: float, low: float, high: float) -> float:
    return min(max(neutral + 2.0 * (value - neutral), low), high)


def sensitivity(
    approaches: Sequence[str] | Mapping[str, Sequence[str]],
    *,
    metric: str = "net_value",
    runs: int = 2_000,
    projects: int = 5,
    weeks: int = 104,
    seed: int = 0,
    level: str = "standard",
    overrides: Mapping[str, float] | None = None,
    currency: str | None = None,
    params: ParameterSet | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SensitivityResult:
    """Tornado data: each assumed effect neutral and doubled, ranked by how far it moves the outcome."""
    if metric not in METRICS:
        raise InvalidInputError(f"unknown outcome '{metric}'", hint="outcomes: " + ", ".join(METRICS))
    base_params = params or load_parameters()
    # Validates the arguments the same way a comparison does, and gives the header.
    first = simulate(
        approaches,
        runs=runs,
        projects=projects,
        weeks=weeks,
        seed=seed,
        level=level,
        overrides=overrides,
        currency=currency,
        params=base_params,
    )
    if overrides:
        base_params = base_params.with_overrides(overrides)
    mixes = [(a.name, a.practices) for a in first.approaches]
    shocks_on = level != "intro"

    cache: dict[tuple[object, ...], float] = {}

    def mean_of(p: ParameterSet, practices: tuple[str, ...]) -> float:
        eff = effective_parameters(p, practices)
        # An effect of a practice outside this mix leaves its effective parameters, and its outcome, as is.
        key = (practices, tuple(sorted(eff.values.items())), eff.setup_cost, eff.weekly_overhead)
        if key not in cache:
            raw = sample_outcomes(eff, p, runs, projects, weeks, seed, shocks_on=shocks_on)[metric]
            finite = raw[np.isfinite(raw)]
            cache[key] = float(finite.mean()) if finite.size else float("nan")
        return cache[key]

    def outcome(p: ParameterSet) -> float:
        if len(mixes) == 1:
            return mean_of(p, mixes[0][1])
        return mean_of(p, mixes[-1][1]) - mean_of(p, mixes[0][1])

    effects = base_params.assumed_effects()
    base = outcome(base_params)
    rows = []
    for done, (name, param) in enumerate(sorted(effects.items()), start=1):
        neutral = base_params.neutral_value(name)
        stronger = _stronger(param.value, neutral, param.low, param.high)
        rows.append(
            SensitivityRow(
                name,
                param.source,
                param.value,
                neutral,
                stronger,
                outcome(base_params.with_overrides({name: neutral})),
                base,
                outcome(base_params.with_overrides({name: stronger})),
            )
        )
        if progress is not None:
            progress(done, len(effects))
    rows.sort(key=lambda r: (-r.swing, r.effect))
    label = metric_label(metric, first.currency)
    what = (
        f"mean {label}: {mixes[-1][0]} minus {mixes[0][0]}"
        if len(mixes) > 1
        else f"mean {label}: {mixes[0][0]}"
    )
    return SensitivityResult(
        what, metric, first.header(), tuple(rows), base, assumptions_line(False, len(effects))
    )
