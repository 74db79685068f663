"""Month-end forecast and daily-spend anomalies.

**Forecast.** From the daily spend of the month so far (days without spend count as zero), the expected
month-end total is ``spent + remaining_days * mean_daily``. Treating days as independent, the remaining
spend has standard deviation ``sqrt(remaining_days) * sd_daily``; the interval is that ± ``z`` (1.645 for
90 %), never below what is already spent. With fewer than 2 days observed the interval is wide open
(``high`` = 2 * the forecast) rather than falsely precise.

**Anomalies.** A day is anomalous when its *modified z-score* (Iglewicz & Hoaglin, 1993)
``0.6745 * (x - median) / MAD`` exceeds 3.5 in absolute value, where MAD is the median absolute deviation.
The median and MAD resist the very outliers being looked for, unlike the mean and standard deviation.
When MAD is 0 (most days identical) the mean absolute deviation * 1.2533 stands in for it; when that is
0 too, nothing is flagged.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from triops.errors import InvalidInputError

Z_90 = 1.6448536269514722
ANOMALY_THRESHOLD = 3.5


@dataclass(frozen=True, slots=True)
class Forecast:
    month: str
    as_of: date
    spent_micros: int
    forecast_micros: int
    low_micros: int
    high_micros: int
    days_observed: int
    days_remaining: int
    confidence: float = 0.9


@dataclass(frozen=True, slots=True)
class Anomaly:
    day: date
    spend_micros: int
    median_micros: int
    score: float


def forecast_month_end(daily: Mapping[date, int], as_of: date, *, z: float = Z_90) -> Forecast:
    """Forecast the month containing ``as_of`` from its daily spend up to and including ``as_of``."""
    days_in_month = calendar.monthrange(as_of.year, as_of.month)[1]
    observed = [int(daily.get(date(as_of.year, as_of.month, d), 0)) for d in range(1, as_of.day + 1)]
    if any(v < 0 for v in observed):
        raise InvalidInputError(
            "daily spend contains a negative amount", hint="credits belong in a separate report"
        )
    spent = sum(observed)
    remaining = days_in_month - as_of.day
    n = len(observed)
    mean = spent / n
    forecast = spent + round(mean * remaining)
    if n >= 2:
        sd = math.sqrt(sum((v - mean) ** 2 for v in observed) / (n - 1))
        half = z * sd * math.sqrt(remaining)
        low, high = max(spent, round(forecast - half)), round(forecast + half)
    else:
        low, high = spent, max(forecast * 2, spent)
    return Forecast(f"{as_of.year}-{as_of.month:02d}", as_of, spent, forecast, low, high, n, remaining)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def robust_z_scores(values: list[float]) -> list[float]:
    if not values:
        return []
    med = _median(values)
    mad = _median([abs(v - med) for v in values])
    if mad > 0:
        return [0.6745 * (v - med) / mad for v in values]
    mean_ad = sum(abs(v - med) for v in values) / len(values)
    if mean_ad == 0:
        return [0.0] * len(values)
    return [(v - med) / (1.2533 * mean_ad) for v in values]


def daily_anomalies(daily: Mapping[date, int], *, threshold: float = ANOMALY_THRESHOLD) -> list[Anomaly]:
    """Days whose spend is anomalous by the modified z-score (see the module docstring)."""
    days = sorted(daily)
    values = [float(daily[d]) for d in days]
    if len(values) < 3:
        return []
    med = _median(values)
    scores = robust_z_scores(values)
    return [
        Anomaly(d, int(daily[d]), round(med), round(s, 2))
        for d, s in zip(days, scores, strict=True)
        if abs(s) > threshold
    ]


@dataclass(frozen=True, slots=True)
class BurnDown:
    """A budget's period day by day: cumulative spend up to ``as_of`` and, from there, the forecast at the
    period's mean daily spend so far (days without spend count as zero), beside the budget amount."""

    start: date
    days: int
    as_of: date
    amount_micros: int
    spent: tuple[int, ...]
    """cumulative spend at the end of each day from ``start`` to ``as_of``"""
    forecast: tuple[int, ...]
    """cumulative forecast at the end of each day from ``as_of`` to the period's last day"""

    @property
    def forecast_end_micros(self) -> int:
        return self.forecast[-1] if self.forecast else (self.spent[-1] if self.spent else 0)

    @property
    def over_on(self) -> date | None:
        """The first day the spend or its forecast exceeds the budget (``None``: it stays within)."""
        from datetime import timedelta

        for i, value in enumerate((*self.spent, *self.forecast[1:])):
            if value > self.amount_micros:
                return self.start + timedelta(days=i)
        return None


def burn_down_dict(found: BurnDown) -> dict[str, Any]:
    """``found`` as JSON (dates in ISO form, with the derived ``forecast_end_micros`` and ``over_on``)."""
    over = found.over_on
    return {
        "start": found.start.isoformat(),
        "days": found.days,
        "as_of": found.as_of.isoformat(),
        "amount_micros": found.amount_micros,
        "spent": list(found.spent),
        "forecast": list(found.forecast),
        "forecast_end_micros": found.forecast_end_micros,
        "over_on": None if over is None else over.isoformat(),
    }


def burn_down(daily: Mapping[date, int], start: date, end: date, as_of: date, amount_micros: int) -> BurnDown:
    """The burn-down of a period ``[start, end)`` from its daily spend, observed up to ``as_of``."""
    from datetime import timedelta

    days = (end - start).days
    observed = max(1, min((as_of - start).days + 1, days))
    spent: list[int] = []
    total = 0
    for i in range(observed):
        total += int(daily.get(start + timedelta(days=i), 0))
        spent.append(total)
    mean = total / observed
    forecast = [total + round(mean * k) for k in range(days - observed + 1)]
    return BurnDown(
        start, days, start + timedelta(days=observed - 1), amount_micros, tuple(spent), tuple(forecast)
    )
