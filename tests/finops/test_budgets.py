"""Budget rules: validation, thresholds, the p90 pre-flight estimate and the hard-stop hook."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triops.domain.clock import FixedClock
from triops.errors import BudgetExceededError, InvalidInputError
from triops.finops.budgets import (
    Budget,
    BudgetHook,
    Override,
    crossed_thresholds,
    current_period,
    new_alerts,
    new_budget,
    p90,
)

CLOCK = FixedClock(datetime(2026, 11, 15, 12, tzinfo=UTC))


@dataclass
class Ledger:
    """A plain in-memory SpendSource (the protocol the store-backed service implements)."""

    budgets: list[Budget]
    spend: int = 0
    past_runs: list[int] = field(default_factory=list)

    def budgets_for(self, project: str, team: str | None) -> Sequence[Budget]:
        return [b for b in self.budgets if (b.scope, b.name) in {("project", project), ("team", team)}]

    def spent(self, budget: Budget, now: datetime) -> int:
        return self.spend

    def estimate_run(
        self, project: str, pipeline: str | None, currency: str | None = None
    ) -> tuple[int | None, int]:
        return p90(self.past_runs), len(self.past_runs)


def budget(amount: str = "100", **kw: object) -> Budget:
    return new_budget("project", "churn", "month", amount, "EUR", clock=CLOCK, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("amount", ["0", "-5", "-0.000001", "0.0000001"])
def test_zero_or_negative_budget_is_refused(amount: str) -> None:
    with pytest.raises(InvalidInputError, match="not positive"):
        budget(amount)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scope": "galaxy"}, "scope"),
        ({"period": "week"}, "period"),
        ({"currency": "euro"}, "ISO 4217"),
        ({"amount": "lots"}, "not a number"),
        ({"amount": "NaN"}, "not a finite number"),
        ({"thresholds": [0, 80]}, "thresholds"),
        ({"webhook_url": "ftp://x"}, "http"),
        ({"name": "  "}, "name"),
    ],
)
def test_malformed_budgets_are_refused(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "scope": "project",
        "name": "churn",
        "period": "month",
        "amount": "10",
        "currency": "EUR",
    }
    args.update(kwargs)
    with pytest.raises(InvalidInputError, match=message):
        new_budget(**args)  # type: ignore[arg-type]


def test_budget_amount_is_exact_micros() -> None:
    assert budget("1250.50").amount_micros == 1_250_500_000


def test_periods_month_quarter_year() -> None:
    now = datetime(2026, 11, 15, tzinfo=UTC)
    assert current_period("month", now)[0] == "2026-11"
    assert current_period("quarter", now)[0] == "2026-Q4"
    label, start, end = current_period("year", now)
    assert label == "2026"
    assert end == int(datetime(2027, 1, 1, tzinfo=UTC).timestamp() * 1000)
    assert start == int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)


def test_thresholds_fire_once_each() -> None:
    b = budget("100")
    assert crossed_thresholds(b, 49_999_999, set()) == []
    assert crossed_thresholds(b, 50_000_000, set()) == [50]
    assert crossed_thresholds(b, 85_000_000, {50}) == [80]
    alerts = new_alerts(b, 120_000_000, {50}, "2026-11", CLOCK.now())
    assert [a.threshold_pct for a in alerts] == [80, 100]
    assert "120.0 %" in alerts[1].message


@settings(deadline=None, max_examples=60)
@given(st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=50))
def test_p90_lies_between_median_and_max(values: list[int]) -> None:
    est = p90(values)
    assert est is not None
    assert sorted(values)[len(values) // 2] <= est <= max(values) or len(values) < 3


def test_p90_of_known_values() -> None:
    assert p90([]) is None
    assert p90([10]) == 10
    assert p90(list(range(1, 11))) == 10  # rank 8.1 between 9 and 10 → 9.1 rounded up


def test_run_refused_when_estimate_would_exceed_budget() -> None:
    ledger = Ledger([budget("100")], spend=90_000_000, past_runs=[10_000_000] * 9 + [30_000_000])
    hook = BudgetHook(ledger, CLOCK)
    with pytest.raises(BudgetExceededError) as err:
        hook.before_run({"project": "churn", "pipeline": "train"})
    message = str(err.value)
    assert "estimate" in message
    assert "p90 of 10 past runs" in message
    assert "override" in message
    assert err.value.detail["estimate_micros"] == 12_000_000  # rank 8.1: 10 + 0.1 * (30 - 10)


def test_run_allowed_when_estimate_fits() -> None:
    ledger = Ledger([budget("100")], spend=50_000_000, past_runs=[10_000_000])
    BudgetHook(ledger, CLOCK).before_run({"project": "churn", "pipeline": "train"})


def test_step_stopped_once_budget_is_spent() -> None:
    ledger = Ledger([budget("100")], spend=99_999_999)
    hook = BudgetHook(ledger, CLOCK)
    hook.before_step({"project": "churn", "step": "fit"})
    ledger.spend = 100_000_000
    with pytest.raises(BudgetExceededError, match="step 'fit'"):
        hook.before_step({"project": "churn", "step": "fit"})


def test_team_budget_applies_through_tags() -> None:
    team_budget = new_budget("team", "ml", "quarter", "10", "EUR", clock=CLOCK)
    ledger = Ledger([team_budget], spend=10_000_000)
    with pytest.raises(BudgetExceededError, match="team 'ml'"):
        BudgetHook(ledger, CLOCK).before_step({"project": "other", "tags": {"team": "ml"}})


def test_override_needs_an_explicit_reason_and_is_reported() -> None:
    seen: list[Override] = []
    ledger = Ledger([budget("100")], spend=200_000_000)
    hook = BudgetHook(
        ledger, CLOCK, override_reason="quarter-end retrain approved by CFO", on_override=seen.append
    )
    hook.before_run({"project": "churn"})
    hook.before_step({"project": "churn"})
    assert [o.stage for o in seen] == ["run", "step"]
    assert seen[0].reason == "quarter-end retrain approved by CFO"
    with pytest.raises(InvalidInputError, match="empty"):
        BudgetHook(ledger, CLOCK, override_reason="   ")


def test_override_reason_can_come_from_the_context() -> None:
    ledger = Ledger([budget("100")], spend=200_000_000)
    hook = BudgetHook(ledger, CLOCK)
    hook.before_step({"project": "churn", "budget_override_reason": "incident fix"})
    assert hook.overrides[0].reason == "incident fix"


def test_hook_reads_attribute_contexts_and_needs_a_project() -> None:
    @dataclass
    class Ctx:
        project: str | None
        pipeline: str | None = None

    ledger = Ledger([budget("100")], spend=0)
    BudgetHook(ledger, CLOCK).before_run(Ctx("churn", "train"))
    with pytest.raises(InvalidInputError, match="project"):
        BudgetHook(ledger, CLOCK).before_run(Ctx(None))
