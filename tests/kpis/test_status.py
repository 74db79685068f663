"""Status and trend of a KPI follow its direction: properties over any values and targets."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from triops.kpis.board import status_of, trend_of

num = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(num, num, st.booleans())
def test_status_is_met_exactly_when_the_value_is_on_the_good_side_of_the_target(
    value: float, target: float, higher: bool
) -> None:
    status = status_of(value, target, higher)
    assert status == ("met" if (value >= target if higher else value <= target) else "missed")
    assert status_of(None, target, higher) == "no data"
    assert status_of(value, None, higher) == "no target"


@given(num, num, st.booleans())
def test_the_trend_is_better_when_the_value_moves_the_good_way(
    now: float, before: float, higher: bool
) -> None:
    trend = trend_of(now, before, higher)
    if trend == "same":
        assert abs(now - before) <= 1e-12 * max(1.0, abs(before))
    else:
        assert trend == ("better" if (now > before) == higher else "worse")
        assert trend_of(before, now, higher) != trend  # reversing the move reverses the verdict
    assert trend_of(None, before, higher) == trend_of(now, None, higher) == ""
