"""The FinOps part of ``triops demo``: after two runs of a pipeline (the second served from the cache),
show cost per step and per run, the cache's saving, a budget alert at 80 % and a run refused by the
hard stop with its estimate. Returns plain data for the CLI to print."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from triops.errors import BudgetExceededError
from triops.finops.budgets import Alert, Budget, new_budget
from triops.finops.costs import MICROS
from triops.finops.service import FinOpsService


@dataclass(frozen=True, slots=True)
class FinOpsDemo:
    currency: str
    steps: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    first_run_micros: int
    second_run_micros: int
    cache_saving_micros: int
    budget: Budget | None
    alerts: list[Alert] = field(default_factory=list)
    refusal: str | None = None
    estimate_micros: int | None = None


def finops_demo(
    service: FinOpsService, *, project: str, pipeline: str, first_run_id: str, second_run_id: str
) -> FinOpsDemo:
    """Report the two runs, then set a monthly budget the project has spent 85 % of (so the 50 and 80 %
    alerts fire) and ask the hard stop whether a third run may start."""
    import polars as pl

    costs = service.costs(project=project)
    currency = costs["currency"].unique().to_list()[0] if costs.height else "EUR"
    mine = costs.filter(pl.col("run_id").is_in([first_run_id, second_run_id]))
    steps = mine.group_by("run_id", "step").agg(pl.col("cost_micros").sum()).sort("run_id", "step").to_dicts()
    runs = mine.group_by("run_id").agg(pl.col("cost_micros").sum()).to_dicts()
    by_run = {r["run_id"]: int(r["cost_micros"]) for r in runs}
    first, second = by_run.get(first_run_id, 0), by_run.get(second_run_id, 0)
    spent = int(costs["cost_micros"].sum()) if costs.height else 0
    if spent <= 0:
        return FinOpsDemo(currency, steps, runs, first, second, first - second, None)
    amount_micros = -(-spent * 100 // 85)  # ceiling: spend is 85 % of the budget
    budget = service.set_budget(
        new_budget(
            "project", project, "month", Decimal(amount_micros) / MICROS, currency, clock=service.clock
        )
    )
    alerts = service.check_alerts(budget)
    estimate, _ = service.estimate_run(project, pipeline)
    refusal = None
    try:
        service.hook().before_run({"project": project, "pipeline": pipeline})
    except BudgetExceededError as exc:
        refusal = str(exc)
    return FinOpsDemo(currency, steps, runs, first, second, first - second, budget, alerts, refusal, estimate)
