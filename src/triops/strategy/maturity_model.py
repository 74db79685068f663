"""The maturity model (``data/maturity.yaml``) and the store figures its evidence rules read.

Each dimension has levels 0-4 with an observable criterion, and for each level either the rules that show
it from the store or the reason the store cannot show it. Rules are cumulative: a dimension's evidence
level is the highest n whose rules *and the rules of every level below it* hold, so evidence never skips a
level. A rule reads one figure of :class:`StoreEvidence`: a count (``pipeline runs ≥ 1``), a share
(``model versions linked to their training data: all``) or a flag (``audit log verified``). Each rule
explains itself in words with the figure behind it, which is what ``triops assess maturity`` prints.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from triops.errors import InvalidInputError

MATURITY_PILLARS = ("dataops", "mlops", "finops", "governance", "culture")
MAX_LEVEL = 4

FIGURES: dict[str, str] = {
    "dataset_versions": "dataset versions registered",
    "dataset_versions_scored": "dataset versions with a quality score",
    "pipelines": "pipelines run",
    "pipelines_always_gated": "pipelines whose every run checked its data against a contract",
    "pipeline_runs": "pipeline runs",
    "pipeline_runs_gated": "pipeline runs that checked their data against a contract",
    "pipeline_runs_costed": "pipeline runs with a priced cost",
    "pipeline_runs_cached": "pipeline runs that reused a cached step",
    "pipeline_runs_triggered": "pipeline runs a monitoring alert triggered",
    "runs_tracked": "tracked experiment runs finished",
    "runs_tracked_logged": "tracked runs that logged parameters and metrics",
    "model_versions": "model versions registered",
    "model_versions_with_run": "model versions linked to their training run",
    "model_versions_with_training_data": "model versions linked to their training dataset versions",
    "model_versions_reproducible": "model versions with their run, training data and code version",
    "model_versions_evaluated": "model versions with a recorded evaluation",
    "model_versions_sliced": "model versions evaluated by group (fairness slices)",
    "model_versions_promoted": "model versions promoted beyond development",
    "model_versions_generated_card": "model versions whose card was generated from their records",
    "model_aliases": "model aliases in use (e.g. champion)",
    "model_cards": "model cards",
    "production_versions": "model versions in production",
    "production_versions_with_card": "production versions with a model card",
    "production_versions_approved": "production versions with a recorded approval",
    "production_versions_gated": "production versions that passed a policy gate",
    "production_versions_sliced": "production versions evaluated by group",
    "costs_metered": "priced cost records",
    "focus_imports": "provider bills imported (FOCUS)",
    "projects": "projects",
    "projects_with_budget": "projects with a budget",
    "approval_requests": "approval requests recorded",
    "policies_active": "active policies",
    "audit_events": "audit events",
    "use_cases": "AI systems in the inventory",
    "audit_verified": "audit log verified",
    "predictions_logged": "predictions in the prediction log",
    "monitors": "model versions with a monitor",
    "monitors_with_alert_policies": "monitors with alert thresholds (policies)",
    "monitor_runs_scheduled": "monitor runs their schedule started that completed",
    "monitor_windows": "monitoring windows evaluated (drift)",
    "monitor_windows_labelled": "monitoring windows with labelled feedback (performance)",
    "monitor_alerts": "monitoring alerts raised",
    "retrain_runs_gated": "retraining runs an alert triggered that passed the contract gate",
    "feedback_promotions": "retrained versions an alert led to that passed the promotion gate",
    "serving_versions": "model versions with logged predictions",
    "serving_versions_costed": "model versions with logged predictions and a cost per 1,000 predictions from "
    "metered serving costs",
}


@dataclass(frozen=True)
class StoreEvidence:
    """What the store shows, as counts; ``audit_verified`` is None when the log was not checked."""

    dataset_versions: int = 0
    dataset_versions_scored: int = 0
    pipelines: int = 0
    pipelines_always_gated: int = 0
    pipeline_runs: int = 0
    pipeline_runs_gated: int = 0
    pipeline_runs_costed: int = 0
    pipeline_runs_cached: int = 0
    pipeline_runs_triggered: int = 0
    runs_tracked: int = 0
    runs_tracked_logged: int = 0
    model_versions: int = 0
    model_versions_with_run: int = 0
    model_versions_with_training_data: int = 0
    model_versions_reproducible: int = 0
    model_versions_evaluated: int = 0
    model_versions_sliced: int = 0
    model_versions_promoted: int = 0
    model_versions_generated_card: int = 0
    model_aliases: int = 0
    model_cards: int = 0
    production_versions: int = 0
    production_versions_with_card: int = 0
    production_versions_approved: int = 0
    production_versions_gated: int = 0
    production_versions_sliced: int = 0
    costs_metered: int = 0
    focus_imports: int = 0
    projects: int = 0
    projects_with_budget: int = 0
    approval_requests: int = 0
    policies_active: int = 0
    audit_events: int = 0
    use_cases: int = 0
    predictions_logged: int = 0
    monitors: int = 0
    monitors_with_alert_policies: int = 0
    monitor_runs_scheduled: int = 0
    monitor_windows: int = 0
    monitor_windows_labelled: int = 0
    monitor_alerts: int = 0
    retrain_runs_gated: int = 0
    feedback_promotions: int = 0
    serving_versions: int = 0
    serving_versions_costed: int = 0
    audit_verified: bool | None = None

    def count(self, name: str) -> int:
        raw = getattr(self, name)
        return int(raw) if raw is not None else 0

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


_COUNTS = tuple(f.name for f in fields(StoreEvidence) if f.name != "audit_verified")


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


class Rule(BaseModel):
    """One condition on the store: ``count`` ≥ at_least, ``share`` (num/den) ≥ at_least, ``flag``, or
    ``any_of`` several rules (when either of two records shows the same practice)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    count: str | None = None
    share: tuple[str, str] | None = None
    flag: Literal["audit_verified"] | None = None
    any_of: tuple[Rule, ...] | None = None
    at_least: float = 1

    @model_validator(mode="after")
    def _one_kind(self) -> Rule:
        kinds = [k for k in (self.count, self.share, self.flag, self.any_of) if k is not None]
        if len(kinds) != 1:
            raise ValueError("a rule has exactly one of count, share, flag or any_of")
        for name in (self.count, *(self.share or ())):
            if name is not None and name not in _COUNTS:
                raise ValueError(f"unknown evidence figure '{name}'")
        if self.share is not None and not 0 < self.at_least <= 1:
            raise ValueError("a share's at_least is a fraction in (0, 1]")
        return self

    def parts(self) -> tuple[Rule, ...]:
        """The simple rules inside this one (itself, or the members of ``any_of``)."""
        return self.any_of if self.any_of is not None else (self,)

    def holds(self, ev: StoreEvidence) -> bool:
        if self.any_of is not None:
            return any(r.holds(ev) for r in self.any_of)
        if self.flag is not None:
            return ev.audit_verified is True
        if self.share is not None:
            num, den = ev.count(self.share[0]), ev.count(self.share[1])
            return den > 0 and num / den >= self.at_least
        return ev.count(self.count or "") >= self.at_least

    def shown(self, ev: StoreEvidence) -> str:
        """The figure behind the rule, e.g. ``pipeline runs: 3`` or ``… linked to …: 1 of 2 (50%)``."""
        if self.any_of is not None:
            return "; ".join(r.shown(ev) for r in self.any_of)
        if self.flag is not None:
            verdict = {True: "yes", False: "no (verification failed)", None: "not checked"}
            return f"{FIGURES['audit_verified']}: {verdict[ev.audit_verified]}"
        if self.share is not None:
            num, den = ev.count(self.share[0]), ev.count(self.share[1])
            ratio = f" ({_pct(num / den)})" if den else ""
            return f"{FIGURES[self.share[0]]}: {num} of {den}{ratio}"
        return f"{FIGURES[self.count or '']}: {ev.count(self.count or '')}"

    def needs(self) -> str:
        """What the rule asks for, in words (no internal names)."""
        if self.any_of is not None:
            return " or ".join(r.needs() for r in self.any_of)
        if self.flag is not None:
            return f"{FIGURES['audit_verified']}: yes"
        if self.share is not None:
            amount = "all" if self.at_least >= 1 else f"at least {_pct(self.at_least)} of"
            return f"{FIGURES[self.share[0]]} = {amount} {FIGURES[self.share[1]]} (at least one)"
        return f"{FIGURES[self.count or '']}: at least {self.at_least:g}"

    def missing(self, ev: StoreEvidence) -> str:
        """What is still missing, with the figure as it stands now."""
        now = ", ".join(r.shown(ev).rsplit(": ", 1)[-1] for r in self.parts())
        return f"{self.needs()}; now {now}"


class LevelEvidence(BaseModel):
    """How the store shows one level: ``rules`` that must all hold, or ``cannot`` saying why it cannot."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    level: int = Field(ge=1, le=MAX_LEVEL)
    rules: tuple[Rule, ...] = ()
    cannot: str | None = None

    @model_validator(mode="after")
    def _rules_or_reason(self) -> LevelEvidence:
        if bool(self.rules) == bool(self.cannot):
            raise ValueError(f"level {self.level}: give either rules or a 'cannot' reason")
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
    evidence: tuple[LevelEvidence, ...] = Field(min_length=1)
    owner_role: str
    kpi: str
    effort: tuple[int, ...] = Field(min_length=MAX_LEVEL, max_length=MAX_LEVEL)
    impact: tuple[int, ...] = Field(min_length=MAX_LEVEL, max_length=MAX_LEVEL)
    requires: tuple[Requirement, ...] = ()

    @model_validator(mode="after")
    def _evidence_in_order(self) -> Dimension:
        levels = [e.level for e in self.evidence]
        if levels != list(range(1, len(levels) + 1)):
            raise ValueError(f"dimension '{self.id}': evidence must list levels 1, 2, … in order")
        if any(e.cannot for e in self.evidence[:-1]):
            raise ValueError(f"dimension '{self.id}': nothing may follow a level the store cannot show")
        if self.evidence[-1].cannot is None and len(self.evidence) != MAX_LEVEL:
            raise ValueError(f"dimension '{self.id}': end the evidence with a level the store cannot show")
        if any(not 1 <= x <= 5 for x in (*self.effort, *self.impact)):
            raise ValueError(f"dimension '{self.id}': effort and impact are 1-5")
        return self

    def criterion(self, level: int) -> str:
        """The observable criterion of ``level`` without its ``"N: "`` prefix."""
        return self.levels[level].split(":", 1)[-1].strip()

    @property
    def ceiling(self) -> int:
        """The highest level the store can show (0: the store cannot show this dimension at all)."""
        return sum(1 for e in self.evidence if e.cannot is None)

    def cannot_show(self, level: int) -> str | None:
        """Why the store cannot show ``level``, or None when it can."""
        if level <= self.ceiling:
            return None
        return self.evidence[self.ceiling].cannot

    def rules_for(self, level: int) -> tuple[Rule, ...]:
        return self.evidence[level - 1].rules if level <= self.ceiling else ()

    def evidence_level(self, ev: StoreEvidence) -> int:
        """Highest level whose rules hold together with those of every level below (cumulative)."""
        level = 0
        for entry in self.evidence:
            if entry.cannot is not None or not all(r.holds(ev) for r in entry.rules):
                break
            level = entry.level
        return level

    def figures(self, ev: StoreEvidence) -> tuple[str, ...]:
        """Every figure this dimension's rules read, with its value, once each (a share as ``n of m``)."""
        shown: dict[str, str] = {}
        for entry in self.evidence:
            for rule in (part for r in entry.rules for part in r.parts()):
                key = rule.share[0] if rule.share else rule.count or "audit_verified"
                if rule.share is not None or key not in shown:
                    shown[key] = rule.shown(ev)
        return tuple(shown.values())


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
