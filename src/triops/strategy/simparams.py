"""Parameters of the portfolio simulation: loading the data file, validating overrides, applying practices.

The defaults live in ``data/simulation.yaml``; every value there carries its source. This module turns that
file into plain, validated objects and computes the *effective* parameters of an operating approach (the
baseline multiplied by the effects of the chosen practices and of their synergies). Pure: no randomness.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from triops.errors import ConfigError, InvalidInputError

LEVELS = ("intro", "standard", "expert")
BASELINE = frozenset(
    [
        "speed",
        "plan_weeks",
        "planning_bias",
        "plan_spread",
        "cancel_rate",
        "data_incident_rate",
        "incident_weeks_lost",
        "incident_cost",
        "dev_cost",
        "run_cost",
        "compute_share",
        "cloud_waste",
        "degradation_rate",
        "detection_weeks",
        "fix_weeks",
        "degraded_value",
        "weekly_value",
        "finding_rate",
        "finding_delay",
        "finding_cost",
        "trust_rate",
        "approval_weeks",
        "hard_stop_margin",
    ]
)
SHOCKS = ("budget_cut", "key_staff_loss", "regulation_change", "data_source_outage")
_YEAR = re.compile(r"\b(19|20)\d\d\b")


@dataclass(frozen=True)
class Param:
    """One number with the range an override must respect and where the default comes from."""

    name: str
    value: float
    low: float
    high: float
    source: str
    unit: str = ""

    def checked(self, value: float) -> Param:
        if not self.low <= value <= self.high:
            raise InvalidInputError(
                f"simulation parameter '{self.name}' = {value:g} "
                f"is outside its range [{self.low:g}, {self.high:g}]",
                hint=f"choose a value between {self.low:g} and {self.high:g}",
            )
        return replace(self, value=value)


@dataclass(frozen=True)
class Practice:
    name: str
    label: str
    setup: Param
    overhead: Param
    effects: Mapping[str, Param]
    adds: Mapping[str, Param] = field(default_factory=dict)


@dataclass(frozen=True)
class Synergy:
    name: str
    requires: frozenset[str]
    effects: Mapping[str, Param]


@dataclass(frozen=True)
class Shock:
    name: str
    probability: Param
    factor: Param
    weeks: Param


@dataclass(frozen=True)
class Lever:
    """One of the three switches a learner has at level intro: a plain-language name for some practices."""

    name: str
    label: str
    practices: tuple[str, ...]


@dataclass(frozen=True)
class ParameterSet:
    """Everything the simulation reads; build with :func:`load_parameters`."""

    baseline: Mapping[str, Param]
    practices: Mapping[str, Practice]
    synergies: tuple[Synergy, ...]
    approaches: Mapping[str, tuple[str, ...]]
    shocks: Mapping[str, Shock]
    levers: Mapping[str, Lever] = field(default_factory=dict)
    currency: str = "EUR"

    def assumed_effects(self) -> dict[str, Param]:
        """The practice and synergy effects whose size is an assumption, by dotted name.

        These produce every difference between approaches apart from the practices' own costs, so the
        comparison outputs name them and ``--neutral`` sets them to no effect.
        """
        out: dict[str, Param] = {}
        for p in self.practices.values():
            out.update({q.name: q for q in (*p.effects.values(), *p.adds.values())})
        for s in self.synergies:
            out.update({q.name: q for q in s.effects.values()})
        return {k: q for k, q in out.items() if q.source.lower().startswith("assumption")}

    def neutral_value(self, name: str) -> float:
        """No effect: 0 for an additive term (``practice.adds.x``), 1 for a multiplier."""
        return 0.0 if ".adds." in name else 1.0

    def neutral(self) -> ParameterSet:
        """A copy with every assumed effect set to no effect; setup and overhead costs stay."""
        return self.with_overrides({n: self.neutral_value(n) for n in self.assumed_effects()})

    def all_params(self) -> dict[str, Param]:
        """Every parameter by its dotted override name (``baseline`` names have no prefix)."""
        out: dict[str, Param] = dict(self.baseline)
        for p in self.practices.values():
            out[p.setup.name] = p.setup
            out[p.overhead.name] = p.overhead
            out.update({q.name: q for q in (*p.effects.values(), *p.adds.values())})
        for s in self.synergies:
            out.update({q.name: q for q in s.effects.values()})
        for k in self.shocks.values():
            out.update({q.name: q for q in (k.probability, k.factor, k.weeks)})
        return out

    def with_overrides(self, overrides: Mapping[str, float]) -> ParameterSet:
        """A copy with some parameters replaced; each value is checked against its range."""
        known = self.all_params()
        for name in overrides:
            if name not in known:
                raise InvalidInputError(
                    f"unknown simulation parameter '{name}'",
                    hint="known parameters: " + ", ".join(sorted(known)),
                )
        new = {name: known[name].checked(float(v)) for name, v in overrides.items()}

        def pick(p: Param) -> Param:
            return new.get(p.name, p)

        return ParameterSet(
            baseline={k: pick(v) for k, v in self.baseline.items()},
            practices={
                k: replace(
                    p,
                    setup=pick(p.setup),
                    overhead=pick(p.overhead),
                    effects={e: pick(q) for e, q in p.effects.items()},
                    adds={e: pick(q) for e, q in p.adds.items()},
                )
                for k, p in self.practices.items()
            },
            synergies=tuple(
                replace(s, effects={e: pick(q) for e, q in s.effects.items()}) for s in self.synergies
            ),
            approaches=self.approaches,
            shocks={
                k: replace(s, probability=pick(s.probability), factor=pick(s.factor), weeks=pick(s.weeks))
                for k, s in self.shocks.items()
            },
            levers=self.levers,
            currency=self.currency,
        )

    def resolve_practices(self, names: Iterable[str]) -> tuple[str, ...]:
        """Check practice names; an unknown one lists the known ones."""
        out: list[str] = []
        for raw in names:
            name = raw.strip()
            if not name:
                continue
            if name not in self.practices:
                raise InvalidInputError(
                    f"unknown practice '{name}'", hint="known practices: " + ", ".join(self.practices)
                )
            if name not in out:
                out.append(name)
        return tuple(out)

    def resolve_levers(self, names: Iterable[str]) -> tuple[str, ...]:
        """The practices of the siloed baseline plus those switched on by ``names`` (levers)."""
        out = list(self.approaches.get("siloed", ()))
        for raw in names:
            name = raw.strip()
            if not name:
                continue
            if name not in self.levers:
                raise InvalidInputError(f"unknown lever '{name}'", hint="levers: " + ", ".join(self.levers))
            out += [p for p in self.levers[name].practices if p not in out]
        return tuple(out)

    def resolve_approach(self, name: str) -> tuple[str, ...]:
        if name not in self.approaches:
            raise InvalidInputError(
                f"unknown approach '{name}'",
                hint="known approaches: "
                + ", ".join(self.approaches)
                + " (or pass a custom list of practices)",
            )
        return self.approaches[name]


def _param(name: str, raw: Any, where: str) -> Param:
    if not isinstance(raw, Mapping) or "value" not in raw or "range" not in raw or "source" not in raw:
        raise ConfigError(f"{where}: parameter '{name}' needs value, range and source")
    low, high = (float(x) for x in raw["range"])
    source = str(raw["source"]).strip()
    if not (source.lower().startswith("assumption") or _YEAR.search(source)):
        raise ConfigError(
            f"{where}: parameter '{name}' source {source!r} names no year",
            hint="name the survey or paper with its year, or start the source with 'assumption'",
        )
    value = float(raw["value"])
    if not low <= value <= high:
        raise ConfigError(
            f"{where}: default of '{name}' ({value:g}) is outside its range [{low:g}, {high:g}]"
        )
    return Param(name, value, low, high, source, str(raw.get("unit", "")))


def parse_parameters(doc: Mapping[str, Any], where: str = "simulation parameters") -> ParameterSet:
    """Build a :class:`ParameterSet` from the parsed YAML document."""
    try:
        baseline = {k: _param(k, v, where) for k, v in doc["baseline"].items()}
        practices: dict[str, Practice] = {}
        for name, raw in doc["practices"].items():
            effects = {e: _param(f"{name}.{e}", q, where) for e, q in (raw.get("effects") or {}).items()}
            adds = {e: _param(f"{name}.adds.{e}", q, where) for e, q in (raw.get("adds") or {}).items()}
            for target in (*effects, *adds):
                if target not in baseline:
                    raise ConfigError(f"{where}: practice '{name}' affects unknown parameter '{target}'")
            practices[name] = Practice(
                name,
                str(raw.get("label", name)),
                _param(f"{name}.setup", raw["setup"], where),
                _param(f"{name}.overhead", raw["overhead"], where),
                effects,
                adds,
            )
        synergies = tuple(
            Synergy(
                name,
                frozenset(raw["requires"]),
                {e: _param(f"{name}.{e}", q, where) for e, q in raw["effects"].items()},
            )
            for name, raw in (doc.get("synergies") or {}).items()
        )
        approaches = {k: tuple(v) for k, v in doc["approaches"].items()}
        shocks = {
            name: Shock(
                name,
                *(_param(f"shock.{name}.{f}", raw[f], where) for f in ("probability", "factor", "weeks")),
            )
            for name, raw in doc["shocks"].items()
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: malformed parameter file ({exc})") from exc
    missing = sorted(BASELINE - set(baseline))
    if missing:
        raise ConfigError(f"{where}: baseline lacks parameter(s) {', '.join(missing)}")
    if set(shocks) != set(SHOCKS):
        raise ConfigError(
            f"{where}: shocks must be exactly {', '.join(SHOCKS)}; got {', '.join(shocks) or 'none'}"
        )
    for approach, names in approaches.items():
        for n in (*names, *(x for s in synergies for x in s.requires)):
            if n not in practices:
                raise ConfigError(f"{where}: approach or synergy '{approach}' names unknown practice '{n}'")
    levers = _levers(doc.get("levers") or {}, practices, where)
    currency = str(doc.get("currency", "EUR"))
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise ConfigError(f"{where}: currency {currency!r} is not an ISO 4217 code", hint="e.g. EUR, GBP")
    return ParameterSet(baseline, practices, synergies, approaches, shocks, levers, currency)


def _levers(raw: Any, practices: Mapping[str, Practice], where: str) -> dict[str, Lever]:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: 'levers' must map a lever name to its label and practices")
    out: dict[str, Lever] = {}
    for name, spec in raw.items():
        if not isinstance(spec, Mapping) or not spec.get("practices"):
            raise ConfigError(f"{where}: lever '{name}' needs a label and a list of practices")
        for p in spec["practices"]:
            if p not in practices:
                raise ConfigError(f"{where}: lever '{name}' names unknown practice '{p}'")
        out[str(name)] = Lever(str(name), str(spec.get("label", name)), tuple(spec["practices"]))
    return out


@lru_cache(maxsize=1)
def _shipped_parameters() -> ParameterSet:
    """The shipped file parsed once per process: the pure-Python YAML parse was 60 % of a 2,000-run
    simulation's CPU (twice per call), holding the interpreter lock while a server answered other requests.
    The set is frozen and nothing writes into its mappings."""
    text = resources.files("triops.strategy").joinpath("data/simulation.yaml").read_text(encoding="utf-8")
    return parse_parameters(yaml.safe_load(text), "data/simulation.yaml")


def load_parameters(overrides: Mapping[str, float] | None = None) -> ParameterSet:
    """The default parameter set shipped with triops, with optional checked overrides."""
    params = _shipped_parameters()
    return params.with_overrides(overrides) if overrides else params


@dataclass(frozen=True)
class Effective:
    """The baseline after a set of practices: what the simulation kernel reads."""

    practices: tuple[str, ...]
    values: Mapping[str, float]
    setup_cost: float
    weekly_overhead: float
    hard_stops: bool

    def __getitem__(self, name: str) -> float:
        return self.values[name]

    @property
    def detection_probability(self) -> float:
        """Weekly chance that a degraded model is noticed."""
        return min(1.0, 1.0 / max(self.values["detection_weeks"], 1e-9))


def effective_parameters(params: ParameterSet, practices: Iterable[str]) -> Effective:
    """Apply the practices' multiplicative effects, additive terms and synergies to the baseline."""
    chosen = params.resolve_practices(practices)
    values = {k: p.value for k, p in params.baseline.items()}
    setup = overhead = 0.0
    for name in chosen:
        pr = params.practices[name]
        setup += pr.setup.value
        overhead += pr.overhead.value
        for target, eff in pr.effects.items():
            values[target] *= eff.value
        for target, add in pr.adds.items():
            values[target] += add.value
    present = set(chosen)
    for syn in params.synergies:
        if syn.requires <= present:
            for target, eff in syn.effects.items():
                values[target] *= eff.value
    values["detection_weeks"] = max(values["detection_weeks"], 1.0)
    return Effective(chosen, values, setup, overhead, "budget_hard_stops" in present)
