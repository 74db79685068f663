"""The outlook half of ``FinOpsService``: daily spend (summed per day and currency in SQL), the month-end
forecast, daily anomalies, a budget's burn-down, and savings recommendations.

Recommendations from metered usage read only the columns their rules need and are kept per store until its
cost records change (a one-row fingerprint query), so a page showing them does not re-read every record on
each view.
"""

from __future__ import annotations

import threading
import weakref
from datetime import UTC, date
from typing import TYPE_CHECKING, Any

from triops.errors import InvalidInputError
from triops.finops import budgets as B
from triops.finops.rollups import convert_micros
from triops.store.engine import Store
from triops.store.repositories import finops as repo

if TYPE_CHECKING:
    from triops.domain.clock import Clock
    from triops.finops.forecast import Anomaly, BurnDown, Forecast
    from triops.finops.prices import PriceBook
    from triops.finops.recommend import Recommendation


class Outlook:
    """Mixed into ``FinOpsService`` (which provides the attributes below)."""

    store: Store
    book: PriceBook
    clock: Clock

    def daily_spend(self, *, project: str | None = None, currency: str | None = None) -> dict[date, int]:
        """Spend per UTC day, summed in SQL per day and currency, then converted to ``currency`` (default:
        the one currency in use; several without ``currency`` is refused)."""
        from datetime import timedelta

        from triops.store.repositories.finops_outlook import daily_totals

        with self.store.connect() as conn:
            rows = daily_totals(conn, project=project)
        if not rows:
            return {}
        currencies = sorted({cur for _, cur, _ in rows})
        target = currency or (currencies[0] if len(currencies) == 1 else None)
        if target is None:
            raise InvalidInputError(
                f"spend is in {', '.join(currencies)}",
                hint="pass --currency and add rates to the catalog",
            )
        epoch = date(1970, 1, 1)
        out: dict[date, int] = {}
        for day_number, cur, amount in rows:
            day = epoch + timedelta(days=day_number)
            out[day] = out.get(day, 0) + convert_micros(amount, cur, target, self.book.rates)
        return out

    def currencies(self, *, project: str | None = None) -> list[str]:
        """The currencies the cost records in scope are in."""
        from triops.store.repositories.finops_outlook import cost_currencies

        with self.store.connect() as conn:
            return cost_currencies(conn, project=project)

    def forecast(self, *, project: str | None = None, as_of: date | None = None) -> Forecast:
        from triops.finops.forecast import forecast_month_end

        return forecast_month_end(self.daily_spend(project=project), as_of or self.clock.now().date())

    def burn_down(self, budget: B.Budget) -> BurnDown:
        """The budget's current period day by day (spend in its currency, then the forecast to the end)."""
        from datetime import timedelta

        from triops.finops.forecast import burn_down
        from triops.store.repositories.finops_outlook import DAY_MS, scope_daily_totals

        now = self.clock.now()
        _, start_ms, end_ms = B.current_period(budget.period, now)
        with self.store.connect() as conn:
            rows = scope_daily_totals(
                conn, scope=budget.scope, name=budget.name, start_ms=start_ms, end_ms=end_ms
            )
        epoch = date(1970, 1, 1)
        daily: dict[date, int] = {}
        for day_number, cur, amount in rows:
            day = epoch + timedelta(days=day_number)
            daily[day] = daily.get(day, 0) + convert_micros(amount, cur, budget.currency, self.book.rates)
        start, end = epoch + timedelta(days=start_ms // DAY_MS), epoch + timedelta(days=end_ms // DAY_MS)
        return burn_down(daily, start, end, now.astimezone(UTC).date(), budget.amount_micros)

    def anomalies(self, *, project: str | None = None) -> list[Anomaly]:
        from triops.finops.forecast import daily_anomalies

        return daily_anomalies(self.daily_spend(project=project))

    def recommend(
        self, *, project: str | None = None, storage_environment: str | None = None, idle_days: int = 90
    ) -> list[Recommendation]:
        """Over-requested resources and repeated work (from metered usage) and unused artifacts (priced at
        ``storage_environment``'s storage price; default ``local`` when the catalog has it). Cheaper models
        need serving data: see ``recommend.cheaper_model``."""
        from triops.finops.recommend import ArtifactUse, unused_artifacts

        found: list[Recommendation] = list(self._usage_recommendations(project))
        if storage_environment is None and "local" in self.book.environments:
            storage_environment = "local"
        if project is None and storage_environment is not None:
            now = self.clock.now()
            with self.store.connect() as conn:
                arts = [
                    ArtifactUse(str(a["name"]), int(a["size"]), int(a["last_used_ms"]))
                    for a in repo.artifact_last_use(conn)
                ]
            price = self.book.lookup(storage_environment, "storage_gib_month", now.date())
            found += unused_artifacts(arts, price.unit_price, price.currency, now, idle_days=idle_days)
        return sorted(found, key=lambda r: -r.monthly_saving_micros)

    def _usage_recommendations(self, project: str | None) -> tuple[Recommendation, ...]:
        """Over-requested resources and repeated work, from the narrow columns they read; kept per store
        until its cost records change (their fingerprint is one aggregate query), so a page showing them
        does not re-read every record on each view."""
        from triops.finops.recommend import over_requested, repeated_work
        from triops.store.repositories.finops_outlook import cost_fingerprint, recommendation_frames

        with self.store.connect() as conn:
            key = (project, cost_fingerprint(conn, project=project))
            cached = _RECOMMENDATIONS.get(self.store, {}).get(key)
            if cached is not None:
                return cached
            usage, costs = recommendation_frames(conn, project=project)
        found = tuple(over_requested(usage, costs) + repeated_work(costs, usage)) if costs.height else ()
        with _RECOMMENDATIONS_LOCK:
            per_store = _RECOMMENDATIONS.setdefault(self.store, {})
            if len(per_store) >= 32:
                per_store.clear()
            per_store[key] = found
        return found


_RECOMMENDATIONS: weakref.WeakKeyDictionary[Store, dict[tuple[Any, ...], tuple[Recommendation, ...]]] = (
    weakref.WeakKeyDictionary()
)
_RECOMMENDATIONS_LOCK = threading.Lock()


__all__ = ["Outlook"]
