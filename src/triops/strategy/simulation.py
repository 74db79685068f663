"""Seeded Monte Carlo simulation of an AI project portfolio under an operating approach.

Each of ``runs x projects`` lanes is a project that is developed (progress towards a lognormal amount of
work, slowed by data incidents and compliance findings, possibly cancelled), may wait for an approval,
then runs in production (delivering value, degrading, being noticed and repaired, sometimes causing a
public-trust incident). All lanes advance together one week at a time with numpy, so 10,000 runs of a
5-project, 104-week portfolio take well under two seconds. Every approach of one call uses the same seed
(common random numbers), so differences come from the practices, not from the dice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from triops.errors import InvalidInputError
from triops.strategy.simparams import LEVELS, Effective, ParameterSet, effective_parameters, load_parameters

F = npt.NDArray[np.float64]
METRICS = (
    "projects_in_production",
    "time_to_production_weeks",
    "total_cost",
    "cost_overrun",
    "value_delivered",
    "incidents",
    "data_incidents",
    "compliance_findings",
    "trust_incidents",
    "detection_delay_weeks",
)
MAX_LANES = 10_000_000


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


@dataclass(frozen=True)
class SimulationResult:
    runs: int
    projects: int
    weeks: int
    seed: int
    level: str
    approaches: tuple[ApproachResult, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "projects": self.projects,
            "weeks": self.weeks,
            "seed": self.seed,
            "level": self.level,
            "approaches": [a.to_dict() for a in self.approaches],
        }

    def approach(self, name: str) -> ApproachResult:
        for a in self.approaches:
            if a.name == name:
                return a
        raise InvalidInputError(f"no approach '{name}' in this result", hint="simulate it first")


def _check_int(name: str, value: int, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInputError(
            f"simulation parameter '{name}' = {value!r} is outside its range [{low}, {high}]",
            hint=f"pass a whole number between {low} and {high}",
        )
    return value


def _shock_factors(
    params: ParameterSet, rng: np.random.Generator, runs: int, weeks: int, enabled: bool
) -> dict[str, F]:
    """Per run and week multipliers of each shock, shape (runs, weeks); drawn even when disabled."""
    week = np.arange(weeks)[None, :]
    out: dict[str, F] = {}
    for name, shock in params.shocks.items():
        hit = rng.random(runs) < shock.probability.value
        start = rng.integers(0, weeks, runs)[:, None]
        duration = shock.weeks.value
        active = week >= start
        if duration > 0:
            active &= week < start + duration
        active &= hit[:, None] & enabled
        out[name] = np.where(active, shock.factor.value, 1.0)
    return out


def sample_outcomes(
    eff: Effective, params: ParameterSet, runs: int, projects: int, weeks: int, seed: int, shocks_on: bool
) -> dict[str, F]:
    """Raw outcome samples of one approach: per run, except time to production and overrun (per project)."""
    rng = np.random.default_rng(seed)
    shape = (runs, projects)
    shock = _shock_factors(params, rng, runs, weeks, shocks_on)
    velocity = eff["speed"] * shock["budget_cut"] * shock["key_staff_loss"] * shock["data_source_outage"]
    findings_factor = shock["regulation_change"]
    outage = shock["data_source_outage"]

    plan = eff["plan_weeks"]
    required = plan * np.exp(rng.normal(0.0, 1.0, shape) * eff["plan_spread"])
    waste = 1.0 + eff["compute_share"] * eff["cloud_waste"]
    dev_weekly = eff["dev_cost"] * waste + eff.weekly_overhead
    run_weekly = eff["run_cost"] * waste + eff.weekly_overhead
    # Plans are optimistic: the budget assumes the work is planning_bias times smaller than it turns out.
    planned = eff.setup_cost + eff["dev_cost"] * plan / eff["planning_bias"]
    approval = round(eff["approval_weeks"])
    fix_weeks = max(round(eff["fix_weeks"]), 1)
    p_detect = eff.detection_probability

    # float32 state halves memory traffic; sums over 104 weeks stay far inside its precision.
    f32 = np.float32
    progress = np.zeros(shape, f32)
    stage = np.zeros(shape, np.int8)  # 0 developing, 1 waiting for approval, 2 production, 3 stopped
    wait = np.zeros(shape, np.int16)
    blocked = np.zeros(shape, f32)
    ttp = np.full(shape, np.nan)
    cost = np.full(shape, eff.setup_cost, f32)
    value = np.zeros(shape, f32)
    degraded = np.zeros(shape, bool)
    noticed = np.zeros(shape, bool)
    repair = np.zeros(shape, np.int16)
    since = np.zeros(shape, np.int16)
    n_data = np.zeros(shape, np.int16)
    n_find = np.zeros(shape, np.int16)
    n_trust = np.zeros(shape, np.int16)
    delay_sum = np.zeros(shape, np.int32)
    delay_n = np.zeros(shape, np.int16)
    dev_spent = np.full(shape, np.nan)
    required = required.astype(f32)
    velocity = velocity.astype(f32)
    findings_factor = findings_factor.astype(f32)
    value_week = (eff["weekly_value"] * outage).astype(f32)
    p_incident, p_finding, p_cancel = eff["data_incident_rate"], eff["finding_rate"], eff["cancel_rate"]
    p_degrade, p_trust, lost = eff["degradation_rate"], eff["trust_rate"], eff["incident_weeks_lost"]
    finding_delay, degraded_value = eff["finding_delay"], eff["degraded_value"]
    incident_cost, finding_cost = eff["incident_cost"], eff["finding_cost"]
    stop_at = planned * (1.0 + eff["hard_stop_margin"])
    u = np.empty((6, *shape), f32)

    for w in range(weeks):
        rng.random(out=u, dtype=f32)
        dev = stage == 0
        before_prod = stage < 2
        incident = (u[0] < p_incident) & (stage != 3)
        finding = (u[1] < p_finding * findings_factor[:, w : w + 1]) & before_prod
        n_data += incident
        n_find += finding
        working = dev & (blocked <= 0)
        progress += np.where(working, velocity[:, w : w + 1], f32(0))
        progress -= (incident & dev) * f32(lost)
        np.maximum(progress, 0, out=progress)
        blocked -= 1
        np.maximum(blocked, 0, out=blocked)
        blocked += finding * f32(finding_delay)
        cancel = dev & (u[2] < p_cancel)
        reached = dev & ~cancel & (progress >= required)
        stage[cancel] = 3
        stage[reached] = 1
        wait[reached] = approval
        waiting = stage == 1
        approved = waiting & (wait <= 0)
        wait -= waiting
        stage[approved] = 2
        ttp[approved] = w + 1
        dev_spent[approved] = cost[approved]

        prod = stage == 2
        value += np.where(
            prod, np.where(degraded, f32(degraded_value), f32(1)) * value_week[:, w : w + 1], f32(0)
        )
        new_deg = prod & ~degraded & (u[3] < p_degrade)
        degraded |= new_deg
        since[new_deg] = w
        notice = degraded & ~noticed & (u[4] < p_detect)
        noticed |= notice
        delay_sum += np.where(notice, w + 1 - since, 0)
        delay_n += notice
        repair[notice] = fix_weeks
        repair -= noticed
        fixed = noticed & (repair <= 0)
        degraded &= ~fixed
        noticed &= ~fixed
        n_trust += degraded & (u[5] < p_trust)

        before_prod = stage < 2
        cost += np.where(before_prod, f32(dev_weekly), np.where(prod, f32(run_weekly), f32(0)))
        cost += incident * f32(incident_cost) + finding * f32(finding_cost)
        if eff.hard_stops:
            stage[before_prod & (cost > stop_at)] = 3

    in_prod = np.isfinite(ttp)
    total_cost = cost.sum(axis=1, dtype=np.float64)
    events = delay_n.sum(axis=1)
    run_delay = np.where(events > 0, delay_sum.sum(axis=1) / np.maximum(events, 1), np.nan)
    return {
        "projects_in_production": in_prod.sum(axis=1).astype(float),
        "time_to_production_weeks": ttp[in_prod],
        "total_cost": total_cost,
        "cost_overrun": dev_spent[in_prod] / planned - 1.0
        if planned > 0
        else np.full(int(in_prod.sum()), np.nan),
        "value_delivered": value.sum(axis=1, dtype=np.float64),
        "incidents": (n_data.astype(np.int32) + n_find + n_trust).sum(axis=1).astype(float),
        "data_incidents": n_data.sum(axis=1).astype(float),
        "compliance_findings": n_find.sum(axis=1).astype(float),
        "trust_incidents": n_trust.sum(axis=1).astype(float),
        "detection_delay_weeks": run_delay,
    }


def simulate(
    approaches: Mapping[str, Sequence[str]] | Sequence[str],
    *,
    runs: int = 10_000,
    projects: int = 5,
    weeks: int = 104,
    seed: int = 0,
    level: str = "standard",
    overrides: Mapping[str, float] | None = None,
    params: ParameterSet | None = None,
) -> SimulationResult:
    """Simulate each approach and summarise its outcomes.

    ``approaches`` is either a list of named approaches (``siloed``, ``partial``, ``integrated``) or a
    mapping of a name to a custom list of practices. ``level`` ``intro`` turns random shocks off and
    refuses custom practices and overrides; ``standard`` adds shocks and custom mixes; ``expert`` also
    accepts ``overrides`` of any parameter (dotted names, see ``ParameterSet.all_params``).
    """
    if level not in LEVELS:
        raise InvalidInputError(f"unknown level '{level}'", hint="levels: " + ", ".join(LEVELS))
    _check_int("runs", runs, 1, 1_000_000)
    _check_int("projects", projects, 1, 1000)
    _check_int("weeks", weeks, 1, 1040)
    _check_int("seed", seed, 0, 2**63 - 1)
    if runs * projects > MAX_LANES:
        raise InvalidInputError(
            f"runs x projects = {runs * projects} exceeds {MAX_LANES}", hint="use fewer runs or projects"
        )
    if overrides and level != "expert":
        raise InvalidInputError(
            f"parameter overrides need --level expert (level is '{level}')", hint="pass level='expert'"
        )
    base = params or load_parameters()
    if overrides:
        base = base.with_overrides(overrides)
    if isinstance(approaches, Mapping):
        if level == "intro":
            raise InvalidInputError(
                "custom practice mixes need level 'standard' or 'expert'",
                hint="at level intro choose among: " + ", ".join(base.approaches),
            )
        named = {name: base.resolve_practices(p) for name, p in approaches.items()}
    else:
        named = {name: base.resolve_approach(name) for name in approaches}
    if not named:
        raise InvalidInputError(
            "no approach to simulate", hint="known approaches: " + ", ".join(base.approaches)
        )
    results = []
    for name, practices in named.items():
        eff = effective_parameters(base, practices)
        raw = sample_outcomes(eff, base, runs, projects, weeks, seed, shocks_on=level != "intro")
        metrics = {k: MetricSummary.of(raw[k]) for k in METRICS}
        results.append(ApproachResult(name, eff.practices, metrics, dict(eff.values)))
    return SimulationResult(runs, projects, weeks, seed, level, tuple(results))
