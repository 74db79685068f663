"""``ws.finops`` on a remote workspace: costs, budgets, forecasts, recommendations and FOCUS files over
HTTP, same methods and return types as ``FinOpsService`` (frames are polars DataFrames). The price catalog
is the server's: ``price_catalog()`` returns it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from triops.errors import InvalidInputError
from triops.workspace.remote_http import HttpTransport
from triops.workspace.remote_wire import alert, anomaly, budget, burn_down, forecast, recommendation

if TYPE_CHECKING:
    import polars as pl

    from triops.finops.budgets import Alert, Budget
    from triops.finops.forecast import Anomaly, BurnDown, Forecast
    from triops.finops.recommend import Recommendation


@dataclass(frozen=True, slots=True)
class RemoteBudgetStatus:
    """A budget with its spend in the current period (``FinOpsService.status`` items)."""

    budget: Budget
    period_label: str
    spent_micros: int
    pct: str


class RemoteFinOps:
    def __init__(self, http: HttpTransport) -> None:
        self.http = http
        self._alerts: dict[str, list[Alert]] = {}

    # -- costs ------------------------------------------------------------------------------------------------
    def report(self, by: str, *, period: str | None = None, currency: str | None = None) -> pl.DataFrame:
        import polars as pl

        rows = list(self.http.items("/finops/costs", by=by, period=period, currency=currency))
        if not rows:
            from triops.finops.costs import empty_costs
            from triops.finops.rollups import rollup

            return rollup(empty_costs(), by)
        frame = pl.DataFrame(rows)
        return frame.with_columns(pl.col("cost_micros").cast(pl.Int64), pl.col("records").cast(pl.UInt32))

    def costs(
        self, *, period: str | None = None, project: str | None = None, run_id: str | None = None
    ) -> pl.DataFrame:
        import polars as pl

        from triops.finops.costs import empty_costs

        empty = empty_costs()
        rows = list(self.http.items("/finops/costs/records", period=period, project=project, run_id=run_id))
        if not rows:
            return empty
        return pl.DataFrame(rows).select(
            pl.col(name).cast(dtype) if name in rows[0] else pl.lit(None, dtype=dtype).alias(name)
            for name, dtype in empty.schema.items()
        )

    # -- budgets ----------------------------------------------------------------------------------------------
    def set_budget(self, wanted: Budget) -> Budget:
        from decimal import Decimal

        body = {
            "scope": wanted.scope,
            "name": wanted.name,
            "period": wanted.period,
            "amount": str(Decimal(wanted.amount_micros) / 1_000_000),
            "currency": wanted.currency,
            "thresholds": list(wanted.thresholds),
            "webhook_url": wanted.webhook_url,
        }
        answer = self.http.json("PUT", "/finops/budgets", json=body)
        stored: Budget = budget(answer["budget"])
        self._alerts[stored.id] = [alert(a) for a in answer.get("alerts", [])]
        return stored

    def check_alerts(self, stored: Budget) -> list[Alert]:
        """The alerts the server raised when the budget was set (it checks them on every change)."""
        return self._alerts.pop(stored.id, [])

    def status(self) -> list[RemoteBudgetStatus]:
        return [
            RemoteBudgetStatus(budget(s["budget"]), s["period"], int(s["spent_micros"]), str(s["pct"]))
            for s in self.http.items("/finops/budgets")
        ]

    def list_budgets(self) -> list[Budget]:
        return [s.budget for s in self.status()]

    def alerts(self) -> list[dict[str, Any]]:
        return list(self.http.items("/finops/alerts"))

    def burn_down(self, wanted: Budget) -> BurnDown:
        """The server's burn-down of the stored budget with ``wanted``'s scope, name and period."""
        params = {"scope": wanted.scope, "name": wanted.name, "period": wanted.period}
        found: BurnDown = burn_down(self.http.get("/finops/budgets/burn-down", **params))
        return found

    # -- forecast and recommendations ------------------------------------------------------------------------
    def forecast(self, *, project: str | None = None, as_of: date | None = None) -> Forecast:
        found: Forecast = forecast(
            self.http.get("/finops/forecast", project=project, as_of=as_of.isoformat() if as_of else None)
        )
        return found

    def anomalies(self, *, project: str | None = None) -> list[Anomaly]:
        return [anomaly(a) for a in self.http.get("/finops/anomalies", project=project)["items"]]

    def recommend(
        self, *, project: str | None = None, storage_environment: str | None = None, idle_days: int = 90
    ) -> list[Recommendation]:
        if storage_environment is not None:
            raise InvalidInputError(
                "a remote workspace prices storage at the server's default environment",
                hint="leave storage_environment unset",
            )
        rows = self.http.items("/finops/recommendations", project=project, idle_days=idle_days)
        return [recommendation({k: v for k, v in r.items() if k != "rank"}) for r in rows]

    def price_catalog(self) -> dict[str, Any]:
        catalog: dict[str, Any] = self.http.get("/finops/prices")
        return catalog

    # -- FOCUS ------------------------------------------------------------------------------------------------
    def export_focus(self, out: Path, *, period: str | None = None) -> int:
        """Stream the server's FOCUS 1.2 export into ``out`` (.csv or .parquet); returns its row count."""
        fmt = out.suffix.lower().lstrip(".")
        if fmt not in ("csv", "parquet"):
            raise InvalidInputError(
                f"cannot write FOCUS to {out.name!r}", hint="use a .parquet or .csv file name"
            )
        params = {"format": fmt} | ({"period": period} if period else {})
        with self.http.client.stream("GET", "/finops/focus", params=params) as response:
            if response.status_code >= 400:
                response.read()
                raise self.http.error(response)
            with out.open("wb") as handle:
                for chunk in response.iter_bytes(1 << 20):
                    handle.write(chunk)
            return int(response.headers.get("x-triops-rows", "0"))

    def import_focus(
        self, path: Path, *, default_project: str | None = None, replace: bool = False
    ) -> tuple[str, int]:
        files = {"file": (path.name, path.read_bytes(), "application/octet-stream")}
        data: dict[str, str] = {"project": default_project} if default_project else {}
        if replace:
            data["replace"] = "true"
        answer = self.http.json("POST", "/finops/focus", files=files, data=data)
        return str(answer["import_id"]), int(answer["rows"])

    # -- attribution ------------------------------------------------------------------------------------------
    def record_serving_usage(
        self, model_version: str, *, project: str, predictions: int, **usage: Any
    ) -> Any:
        """Meter a serving window on the server (see ``FinOpsService.record_serving_usage``)."""
        from triops.domain.usage import UsageRecord

        body = {"model_version": model_version, "project": project, "predictions": predictions, **usage}
        return UsageRecord.from_dict(self.http.json("POST", "/finops/serving-usage", json=body))

    def model_costs(
        self,
        *,
        project: str | None = None,
        model_version: str | None = None,
        period: str | None = None,
        currency: str | None = None,
    ) -> list[dict[str, Any]]:
        return list(
            self.http.items(
                "/finops/costs/models",
                project=project,
                model_version=model_version,
                period=period,
                currency=currency,
            )
        )

    def allocate(
        self, label: str, amount: Any, currency: str, period: str, *, by: str = "project"
    ) -> dict[str, Any]:
        body = {"label": label, "amount": str(amount), "currency": currency, "period": period, "by": by}
        answer: dict[str, Any] = self.http.json("POST", "/finops/allocations", json=body)
        return answer

    def allocations(self, *, period: str | None = None, by: str | None = None) -> list[dict[str, Any]]:
        rows = list(self.http.items("/finops/allocations", period=period))
        return [r for r in rows if by is None or r["by"] == by]


__all__ = ["RemoteBudgetStatus", "RemoteFinOps"]
