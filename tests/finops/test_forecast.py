"""Month-end forecast with an interval, and robust daily anomalies."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triops.errors import InvalidInputError
from triops.finops.forecast import burn_down, daily_anomalies, forecast_month_end, robust_z_scores


def test_steady_spend_forecasts_the_month_exactly() -> None:
    daily = {date(2026, 11, d): 1_000_000 for d in range(1, 11)}
    fc = forecast_month_end(daily, date(2026, 11, 10))
    assert fc.spent_micros == 10_000_000
    assert fc.forecast_micros == 30_000_000
    assert fc.low_micros == fc.high_micros == 30_000_000
    assert fc.days_remaining == 20


def test_noisy_spend_has_an_interval_around_the_forecast() -> None:
    daily = {date(2026, 11, d): (2_000_000 if d % 2 else 0) for d in range(1, 11)}
    fc = forecast_month_end(daily, date(2026, 11, 10))
    assert fc.low_micros < fc.forecast_micros < fc.high_micros
    assert fc.low_micros >= fc.spent_micros


def test_first_day_gives_a_wide_interval() -> None:
    fc = forecast_month_end({date(2026, 11, 1): 5}, date(2026, 11, 1))
    assert fc.high_micros == 2 * fc.forecast_micros
    assert fc.low_micros == 5


def test_negative_spend_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="negative"):
        forecast_month_end({date(2026, 11, 1): -1}, date(2026, 11, 2))


@settings(deadline=None, max_examples=60)
@given(st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=31))
def test_forecast_never_below_spend(values: list[int]) -> None:
    daily = {date(2026, 12, i + 1): v for i, v in enumerate(values)}
    fc = forecast_month_end(daily, date(2026, 12, len(values)))
    assert fc.spent_micros == sum(values)
    assert fc.spent_micros <= fc.low_micros <= fc.forecast_micros <= fc.high_micros


def test_a_spike_is_flagged_and_ordinary_days_are_not() -> None:
    daily = {date(2026, 11, d): 1_000_000 + (d % 3) * 10_000 for d in range(1, 21)}
    daily[date(2026, 11, 14)] = 9_000_000
    anomalies = daily_anomalies(daily)
    assert [a.day for a in anomalies] == [date(2026, 11, 14)]
    assert anomalies[0].score > 3.5


def test_constant_days_and_short_series_have_no_anomalies() -> None:
    assert daily_anomalies({date(2026, 11, d): 5 for d in range(1, 10)}) == []
    assert daily_anomalies({date(2026, 11, 1): 5, date(2026, 11, 2): 500}) == []


def test_zero_mad_falls_back_to_mean_absolute_deviation() -> None:
    scores = robust_z_scores([1.0] * 9 + [100.0])
    assert scores[-1] > 3.5
    assert scores[0] == 0


@settings(deadline=None, max_examples=60)
@given(st.lists(st.integers(min_value=0, max_value=10**9), min_size=3, max_size=40), st.integers(0, 10**6))
def test_robust_scores_are_shift_invariant(values: list[int], shift: int) -> None:
    a = robust_z_scores([float(v) for v in values])
    b = robust_z_scores([float(v + shift) for v in values])
    assert a == pytest.approx(b, rel=1e-6, abs=1e-6)


def test_burn_down_accumulates_the_period_and_forecasts_its_end() -> None:
    # November: 2 on the 1st, nothing on the 2nd, 4 on the 3rd; seen on the 3rd, mean 2 a day
    daily = {date(2026, 11, 1): 2, date(2026, 11, 3): 4, date(2026, 10, 31): 99, date(2026, 12, 1): 99}
    burn = burn_down(daily, date(2026, 11, 1), date(2026, 12, 1), date(2026, 11, 3), 50)
    assert burn.days == 30 and burn.spent == (2, 2, 6)
    assert burn.forecast[0] == 6 and len(burn.forecast) == 28  # from the 3rd to the 30th
    assert burn.forecast_end_micros == 6 + 2 * 27 == 60
    assert burn.over_on == date(2026, 11, 26)  # 50 on the 25th is within; 52 on the 26th is over
    within = burn_down(daily, date(2026, 11, 1), date(2026, 12, 1), date(2026, 11, 3), 1_000)
    assert within.over_on is None


def test_burn_down_after_the_period_stops_at_its_last_day() -> None:
    daily = {date(2026, 11, d): 1 for d in range(1, 31)}
    burn = burn_down(daily, date(2026, 11, 1), date(2026, 12, 1), date(2026, 12, 5), 10)
    assert len(burn.spent) == 30 and burn.spent[-1] == 30 and burn.forecast == (30,)
    assert burn.over_on == date(2026, 11, 11)
