"""Unit economics: cost per training run, per model version, per 1,000 predictions and per quality
point (the cost-efficiency KPI), plus the serving-cost API that prices a serving window.

All figures are integer micro-units of one currency; divisions round half-even once, at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING

from triops.errors import InvalidInputError
from triops.finops.costs import MICROS
from triops.finops.prices import GPU_PREFIX, PriceBook
from triops.finops.rollups import rollup

if TYPE_CHECKING:
    import polars as pl


def _div(numerator: int | Decimal, denominator: int | Decimal) -> int:
    return int((Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


@dataclass(frozen=True, slots=True)
class ServingCost:
    """What a serving window cost and what that means per 1,000 predictions."""

    environment: str
    currency: str
    total_micros: int
    predictions: int
    per_1000_micros: int


def serving_cost(
    book: PriceBook,
    environment: str,
    *,
    day: date,
    wall_s: float,
    predictions: int,
    cpu_cores: float,
    memory_gib: float,
    gpu_model: str | None = None,
    gpus: int = 0,
) -> ServingCost:
    """Price a serving deployment's window (replica resources * wall time) and divide by predictions."""
    if predictions <= 0:
        raise InvalidInputError(
            f"serving window on {environment!r} has {predictions} predictions",
            hint="cost per 1,000 predictions needs at least one prediction",
        )
    if wall_s < 0 or cpu_cores < 0 or memory_gib < 0 or gpus < 0:
        raise InvalidInputError(
            "serving resources must be ≥ 0", hint="pass wall_s, cpu_cores, memory_gib ≥ 0"
        )
    env = book.environment(environment)
    hours = Decimal(str(wall_s)) / 3600
    total = Decimal(0)
    total += book.lookup(environment, "cpu_core_hour", day).unit_price * Decimal(str(cpu_cores)) * hours
    total += book.lookup(environment, "memory_gib_hour", day).unit_price * Decimal(str(memory_gib)) * hours
    if gpus:
        if not gpu_model:
            raise InvalidInputError("gpus > 0 but no gpu_model", hint="name the GPU model, e.g. 'T4'")
        total += book.lookup(environment, f"{GPU_PREFIX}{gpu_model}", day).unit_price * gpus * hours
    total_micros = _div(total * MICROS, 1)
    return ServingCost(
        environment, env.currency, total_micros, predictions, _div(total_micros * 1000, predictions)
    )


def cost_per_1000_predictions(total_micros: int, predictions: int) -> int:
    if predictions <= 0:
        raise InvalidInputError(f"{predictions} predictions", hint="need at least one prediction")
    return _div(total_micros * 1000, predictions)


def cost_per_quality_point(cost_micros: int, metric: float, baseline: float = 0.0) -> int:
    """Cost per percentage point of a [0, 1] metric above a baseline (e.g. a dummy model's accuracy)."""
    points = (Decimal(str(metric)) - Decimal(str(baseline))) * 100
    if points <= 0:
        raise InvalidInputError(
            f"metric {metric} does not beat the baseline {baseline}",
            hint="cost per quality point needs a gain",
        )
    return _div(cost_micros, points)


def cost_per_training_run(costs: pl.DataFrame) -> pl.DataFrame:
    """One row per run: run_id, currency, cost_micros, records."""
    return rollup(costs, "run")


def cost_per_model_version(costs: pl.DataFrame) -> pl.DataFrame:
    """One row per model version tagged on the usage (tag ``model_version``)."""
    import polars as pl

    return rollup(costs.filter(pl.col("model_version").is_not_null()), "model")
