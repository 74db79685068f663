"""Budgets, alert thresholds and hard stops (pure rules; ``service`` binds them to the store).

A budget caps a project's or a team's spend in a period (month, quarter or year) in one currency.
Crossing a threshold (default 50/80/100 %) creates one alert per threshold and period. The hard stop:

- before a run: spent so far + the pre-flight estimate (p90 of the pipeline's past run costs) must fit;
- before each step: a budget that is already spent stops the run.

Either refusal raises ``BudgetExceededError`` unless an explicit, non-empty override reason is given;
the override is reported to ``on_override`` so it can be recorded (and tied to a role by governance).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from triops.domain.clock import Clock, SystemClock, utc_ms
from triops.domain.ids import new_id
from triops.errors import BudgetExceededError, InvalidInputError
from triops.finops.costs import MICROS
from triops.finops.money import format_money

PERIODS = ("month", "quarter", "year")
SCOPES = ("project", "team", "cost_centre")
DEFAULT_THRESHOLDS = (50, 80, 100)


@dataclass(frozen=True, slots=True)
class Budget:
    id: str
    scope: str
    name: str
    period: str
    amount_micros: int
    currency: str
    thresholds: tuple[int, ...] = DEFAULT_THRESHOLDS
    webhook_url: str | None = None
    created_ms: int = 0

    def describe(self) -> str:
        amount = format_money(self.amount_micros, self.currency)
        return f"{self.period}ly budget {amount} of {self.scope} {self.name!r}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "scope": self.scope,
            "name": self.name,
            "period": self.period,
            "amount": str(Decimal(self.amount_micros) / MICROS),
            "amount_micros": self.amount_micros,
            "currency": self.currency,
            "thresholds": list(self.thresholds),
            "webhook_url": self.webhook_url,
            "created_ms": self.created_ms,
        }


@dataclass(frozen=True, slots=True)
class Alert:
    id: str
    budget_id: str
    period_label: str
    threshold_pct: int
    spent_micros: int
    amount_micros: int
    currency: str
    created_ms: int
    message: str
    webhook_status: str | None = None


@dataclass(frozen=True, slots=True)
class Override:
    """A refusal that went ahead anyway, with the reason the caller gave."""

    budget_id: str
    stage: str
    reason: str
    spent_micros: int
    estimate_micros: int
    created_ms: int
    id: str = field(default_factory=new_id)


def to_micros(amount: Decimal | str | int, what: str = "amount") -> int:
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise InvalidInputError(
            f"{what} {amount!r} is not a number", hint="write e.g. 1000 or 99.50"
        ) from None
    if not value.is_finite():
        raise InvalidInputError(f"{what} {amount!r} is not a finite number", hint="write e.g. 1000")
    return int((value * MICROS).to_integral_value())


def new_budget(
    scope: str,
    name: str,
    period: str,
    amount: Decimal | str | int,
    currency: str,
    *,
    thresholds: Sequence[int] = DEFAULT_THRESHOLDS,
    webhook_url: str | None = None,
    clock: Clock | None = None,
) -> Budget:
    """Validate and build a budget; a zero or negative amount is refused."""
    if scope not in SCOPES:
        raise InvalidInputError(
            f"budget scope {scope!r} is unknown", hint=f"choose one of {', '.join(SCOPES)}"
        )
    if period not in PERIODS:
        raise InvalidInputError(
            f"budget period {period!r} is unknown", hint=f"choose one of {', '.join(PERIODS)}"
        )
    if not name or not name.strip():
        raise InvalidInputError(
            "budget needs the name of its project or team", hint="pass --project or --team"
        )
    micros = to_micros(amount, "budget amount")
    if micros <= 0:
        raise InvalidInputError(
            f"budget amount {amount} {currency} for {scope} {name!r} is not positive",
            hint="a budget must be greater than zero; delete the budget instead of setting it to 0",
        )
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise InvalidInputError(f"currency {currency!r} is not an ISO 4217 code", hint="e.g. EUR or USD")
    levels = tuple(sorted(set(int(t) for t in thresholds)))
    if not levels or any(t <= 0 or t > 1000 for t in levels):
        raise InvalidInputError(
            f"thresholds {list(thresholds)} must be percentages in 1..1000", hint="e.g. 50,80,100"
        )
    if webhook_url is not None and not webhook_url.startswith(("http://", "https://")):
        raise InvalidInputError(
            f"webhook {webhook_url!r} is not an http(s) URL", hint="e.g. https://hooks.example/x"
        )
    now = (clock or SystemClock()).now()
    return Budget(new_id(), scope, name.strip(), period, micros, currency, levels, webhook_url, utc_ms(now))


def current_period(period: str, now: datetime) -> tuple[str, int, int]:
    """The period containing ``now``: (label, start ms, end ms), e.g. ("2026-11", …) or ("2026-Q4", …)."""
    now = now.astimezone(UTC)
    if period == "month":
        label, first_month, months = f"{now.year}-{now.month:02d}", now.month, 1
    elif period == "quarter":
        q = (now.month - 1) // 3 + 1
        label, first_month, months = f"{now.year}-Q{q}", 3 * (q - 1) + 1, 3
    elif period == "year":
        label, first_month, months = str(now.year), 1, 12
    else:
        raise InvalidInputError(
            f"budget period {period!r} is unknown", hint=f"choose one of {', '.join(PERIODS)}"
        )
    start = datetime(now.year, first_month, 1, tzinfo=UTC)
    total = first_month - 1 + months
    end = datetime(now.year + total // 12, total % 12 + 1, 1, tzinfo=UTC)
    return label, utc_ms(start), utc_ms(end)


def crossed_thresholds(budget: Budget, spent_micros: int, already: Collection[int]) -> list[int]:
    """Thresholds reached by ``spent_micros`` that have no alert yet (integer arithmetic, no rounding)."""
    return [
        t for t in budget.thresholds if t not in already and spent_micros * 100 >= budget.amount_micros * t
    ]


def new_alerts(
    budget: Budget, spent_micros: int, already: Collection[int], period_label: str, now: datetime
) -> list[Alert]:
    alerts = []
    for pct in crossed_thresholds(budget, spent_micros, already):
        message = (
            f"{budget.scope} {budget.name!r} has spent {format_money(spent_micros, budget.currency)} "
            f"= {pct_of(spent_micros, budget.amount_micros)} % of its {period_label} budget "
            f"{format_money(budget.amount_micros, budget.currency)} (threshold {pct} %)"
        )
        alerts.append(
            Alert(
                new_id(),
                budget.id,
                period_label,
                pct,
                spent_micros,
                budget.amount_micros,
                budget.currency,
                utc_ms(now),
                message,
            )
        )
    return alerts


def pct_of(part: int, whole: int) -> str:
    return f"{Decimal(part * 100) / Decimal(whole):.1f}" if whole else "∞"


def p90(values: Sequence[int]) -> int | None:
    """The 90th percentile of past run costs (linear interpolation, rounded up to a whole micro)."""
    if not values:
        return None
    ordered = sorted(int(v) for v in values)
    rank = 0.9 * (len(ordered) - 1)
    lo, hi = math.floor(rank), math.ceil(rank)
    frac = Decimal(str(rank - lo))
    value = Decimal(ordered[lo]) + (Decimal(ordered[hi]) - Decimal(ordered[lo])) * frac
    return int(value.to_integral_value(rounding="ROUND_CEILING"))


def clean_reason(reason: str | None) -> str | None:
    if reason is None:
        return None
    if not reason.strip():
        raise InvalidInputError("an override reason is empty", hint="say why the budget may be exceeded")
    return reason.strip()


class SpendSource(Protocol):
    """What the hook needs to know; ``service.BudgetService`` implements it over the store."""

    def budgets_for(self, project: str, team: str | None) -> Sequence[Budget]: ...

    def spent(self, budget: Budget, now: datetime) -> int: ...

    def estimate_run(
        self, project: str, pipeline: str | None, currency: str | None = None
    ) -> tuple[int | None, int]:
        """(p90 of past run costs in ``currency`` or None, number of past runs)."""
        ...


def _ctx_value(ctx: Any, name: str) -> Any:
    value = ctx.get(name) if isinstance(ctx, dict) else getattr(ctx, name, None)
    if value is not None and not isinstance(value, str):
        value = getattr(value, "name", value)
    return value


class BudgetHook:
    """A pipeline hook enforcing budgets. ``ctx`` needs ``project``; ``pipeline``, ``team``, ``tags`` and
    ``budget_override_reason`` are read when present (attribute or dict key)."""

    def __init__(
        self,
        source: SpendSource,
        clock: Clock | None = None,
        *,
        override_reason: str | None = None,
        on_override: Callable[[Override], None] | None = None,
    ) -> None:
        self.source = source
        self.clock = clock or SystemClock()
        self.override_reason = clean_reason(override_reason)
        self.on_override = on_override
        self.overrides: list[Override] = []

    def _scope(self, ctx: Any) -> tuple[str, str | None, str | None, str | None]:
        project = _ctx_value(ctx, "project")
        if not project:
            raise InvalidInputError("budget hook needs the run's project", hint="set ctx.project")
        tags = _ctx_value(ctx, "tags") or {}
        team = _ctx_value(ctx, "team") or (tags.get("team") if isinstance(tags, dict) else None)
        reason = self.override_reason or clean_reason(_ctx_value(ctx, "budget_override_reason"))
        return str(project), _ctx_value(ctx, "pipeline"), team, reason

    def refuse_or_override(
        self, budget: Budget, stage: str, message: str, spent: int, estimate: int, reason: str | None
    ) -> None:
        if reason is None:
            raise BudgetExceededError(
                message,
                hint="pass an explicit override reason (--override-reason '...') to go ahead; it is recorded",
                detail={
                    "budget_id": budget.id,
                    "spent_micros": spent,
                    "estimate_micros": estimate,
                    "amount_micros": budget.amount_micros,
                    "currency": budget.currency,
                    "stage": stage,
                },
            )
        record = Override(budget.id, stage, reason, spent, estimate, utc_ms(self.clock.now()))
        self.overrides.append(record)
        if self.on_override is not None:
            self.on_override(record)

    def before_run(self, ctx: Any) -> None:
        project, pipeline, team, reason = self._scope(ctx)
        now = self.clock.now()
        budgets = self.source.budgets_for(project, team)
        if not budgets:
            return
        for budget in budgets:
            estimate, runs = self.source.estimate_run(project, pipeline, budget.currency)
            spent = self.source.spent(budget, now)
            est = estimate or 0
            if spent + est > budget.amount_micros:
                label = current_period(budget.period, now)[0]
                what = f"pipeline {pipeline!r}" if pipeline else "run"
                message = (
                    f"{what} in project {project!r} refused: estimate {format_money(est, budget.currency)} "
                    f"(p90 of {runs} past runs) + spent {format_money(spent, budget.currency)} "
                    "would exceed the "
                    f"{label} {budget.describe()}"
                )
                self.refuse_or_override(budget, "run", message, spent, est, reason)

    def before_step(self, ctx: Any) -> None:
        project, _pipeline, team, reason = self._scope(ctx)
        now = self.clock.now()
        step = _ctx_value(ctx, "step")
        for budget in self.source.budgets_for(project, team):
            spent = self.source.spent(budget, now)
            if spent >= budget.amount_micros:
                label = current_period(budget.period, now)[0]
                message = (
                    f"step {step!r} of project {project!r} stopped: "
                    f"{format_money(spent, budget.currency)} spent of the {label} {budget.describe()}"
                )
                self.refuse_or_override(budget, "step", message, spent, 0, reason)
