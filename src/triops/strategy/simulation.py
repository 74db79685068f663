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
from dataclasses import dataclass

import numpy as np

from triops.errors import InvalidInputError
from triops.strategy.simparams import LEVELS, Effective, ParameterSet, effective_parameters, load_parameters
from triops.strategy.simresult import METRICS, ApproachResult, F, MetricSummary, SimulationResult

MAX_LANES = 10_000_000
__all__ = [
    "METRICS",
    "LevelControls",
    "SimulationResult",
    "controls",
    "resolve_approaches",
    "sample_outcomes",
    "simulate",
]


def resolve_approaches(
    approaches: Sequence[str], practices: Sequence[str], levers: Sequence[str]
) -> tuple[Sequence[str] | dict[str, tuple[str, ...]], dict[str, list[str]] | None]:
    """Named approaches (default: all; only ``siloed`` beside a custom mix or levers), plus a ``custom``
    mix of practices and a ``your levers`` mix, as ``simulate`` takes them."""
    params = load_parameters()
    names = list(approaches) or (["siloed"] if practices or levers else list(params.approaches))
    if not practices:
        chosen: Sequence[str] | dict[str, tuple[str, ...]] = names
    else:
        chosen = {n: params.resolve_approach(n) for n in names}
        chosen["custom"] = params.resolve_practices(list(practices))
    return chosen, ({"your levers": list(levers)} if levers else None)


@dataclass(frozen=True)
class LevelControls:
    """What a learner may change at a level: intro three levers, standard any practices, expert every number."""

    level: str
    approaches: tuple[str, ...]
    levers: tuple[tuple[str, str], ...]
    practices: tuple[tuple[str, str], ...]
    parameters: tuple[str, ...]
    shocks: bool

    def to_dict(self) -> dict[str, object]:
        return {
            "level": self.level,
            "approaches": list(self.approaches),
            "levers": [{"name": n, "label": label} for n, label in self.levers],
            "practices": [{"name": n, "label": label} for n, label in self.practices],
            "parameters": list(self.parameters),
            "shocks": self.shocks,
        }


def controls(level: str, params: ParameterSet | None = None) -> LevelControls:
    """The controls of ``level`` (for a form or the CLI help): each level adds to the one before."""
    if level not in LEVELS:
        raise InvalidInputError(f"unknown level '{level}'", hint="levels: " + ", ".join(LEVELS))
    p = params or load_parameters()
    levers = tuple((lv.name, lv.label) for lv in p.levers.values())
    practices = tuple((pr.name, pr.label) for pr in p.practices.values()) if level != "intro" else ()
    parameters = tuple(sorted(p.all_params())) if level == "expert" else ()
    return LevelControls(level, tuple(p.approaches), levers, practices, parameters, level != "intro")


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
    value_total = value.sum(axis=1, dtype=np.float64)
    events = delay_n.sum(axis=1)
    run_delay = np.where(events > 0, delay_sum.sum(axis=1) / np.maximum(events, 1), np.nan)
    return {
        "projects_in_production": in_prod.sum(axis=1).astype(float),
        "time_to_production_weeks": ttp[in_prod],
        "total_cost": total_cost,
        "cost_overrun": dev_spent[in_prod] / planned - 1.0
        if planned > 0
        else np.full(int(in_prod.sum()), np.nan),
        "value_delivered": value_total,
        "net_value": value_total - total_cost,
        "roi": np.where(total_cost > 0, (value_total - total_cost) / np.maximum(total_cost, 1e-12), np.nan),
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
    levers: Mapping[str, Sequence[str]] | None = None,
    neutral: bool = False,
    currency: str | None = None,
    params: ParameterSet | None = None,
) -> SimulationResult:
    """Simulate each approach and summarise its outcomes.

    ``approaches`` is a list of named approaches (``siloed``, ``partial``, ``integrated``) or a mapping of
    a name to a custom list of practices; ``levers`` maps a name to lever names (the siloed practices plus
    those the levers switch on). What a learner may change depends on ``level`` (see :func:`controls`):
    ``intro`` named approaches and the three levers, no shocks; ``standard`` also any mix of practices and
    random shocks; ``expert`` also ``overrides`` of any parameter (dotted names, see
    ``ParameterSet.all_params``). ``neutral`` sets every assumed practice and synergy effect to no effect
    at any level. ``currency`` only labels the money (thousands of it); it converts nothing.
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
    if neutral:
        base = base.neutral()
    if overrides:
        base = base.with_overrides(overrides)
    if isinstance(approaches, Mapping):
        if level == "intro" and approaches:
            raise InvalidInputError(
                "custom practice mixes need level 'standard' or 'expert'",
                hint="at level intro change the three levers (" + ", ".join(base.levers) + ") "
                "or choose among: " + ", ".join(base.approaches),
            )
        named = {name: base.resolve_practices(p) for name, p in approaches.items()}
    else:
        named = {name: base.resolve_approach(name) for name in approaches}
    for name, chosen in (levers or {}).items():
        if name in named:
            raise InvalidInputError(
                f"approach name '{name}' is used twice", hint="give each mix its own name"
            )
        named[name] = base.resolve_levers(chosen)
    if not named:
        raise InvalidInputError(
            "no approach to simulate", hint="known approaches: " + ", ".join(base.approaches)
        )
    shocks_on = level != "intro"
    results = []
    for name, practices in named.items():
        eff = effective_parameters(base, practices)
        raw = sample_outcomes(eff, base, runs, projects, weeks, seed, shocks_on=shocks_on)
        metrics = {k: MetricSummary.of(raw[k]) for k in METRICS}
        results.append(ApproachResult(name, eff.practices, metrics, dict(eff.values)))
    return SimulationResult(
        runs,
        projects,
        weeks,
        seed,
        level,
        tuple(results),
        shocks=tuple(base.shocks) if shocks_on else (),
        overrides=dict(overrides or {}),
        neutral=neutral,
        currency=_currency(currency or base.currency),
        assumed_effects=len(base.assumed_effects()),
    )


def _currency(code: str) -> str:
    code = code.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise InvalidInputError(
            f"currency {code!r} is not a three-letter ISO 4217 code", hint="e.g. EUR, GBP"
        )
    return code
