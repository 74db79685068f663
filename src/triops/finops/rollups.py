"""Rollups of priced costs: totals per step, run, pipeline, project, team, dataset and model version;
periods; currency conversion with explicit rates; shared-cost allocation; money formatting.

All sums are integer micro-units. Mixing currencies is refused unless a target currency and rates are
given.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING

from triops.domain.usage import ATTRIBUTION_TAGS
from triops.errors import InvalidInputError
from triops.finops.costs import MICROS

if TYPE_CHECKING:
    import polars as pl

ROLLUP_KEYS: dict[str, tuple[str, ...]] = {
    "step": ("pipeline", "step"),
    "run": ("run_id",),
    "pipeline": ("pipeline",),
    "project": ("project",),
    "team": ("team",),
    "dataset": ("dataset",),
    "model": ("model_version",),
    "environment": ("environment",),
    "resource": ("resource",),
}


def period_bounds_ms(period: str) -> tuple[int, int]:
    """``2026-11`` (month), ``2026-Q4`` (quarter) or ``2026`` (year) → [start, end) in unix ms, UTC."""
    try:
        if "-Q" in period:
            year, q = period.split("-Q")
            start = datetime(int(year), 3 * (int(q) - 1) + 1, 1, tzinfo=UTC)
            months = 3
            if not 1 <= int(q) <= 4:
                raise ValueError(q)
        elif "-" in period:
            year, month = period.split("-")
            start = datetime(int(year), int(month), 1, tzinfo=UTC)
            months = 1
        else:
            start = datetime(int(period), 1, 1, tzinfo=UTC)
            months = 12
    except ValueError:
        raise InvalidInputError(
            f"period {period!r} is not a month, quarter or year", hint="write 2026-11, 2026-Q4 or 2026"
        ) from None
    total = start.month - 1 + months
    end = datetime(start.year + total // 12, total % 12 + 1, 1, tzinfo=UTC)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def filter_period(costs: pl.DataFrame, period: str | None) -> pl.DataFrame:
    import polars as pl

    if not period:
        return costs
    start, end = period_bounds_ms(period)
    return costs.filter((pl.col("started_ms") >= start) & (pl.col("started_ms") < end))


def convert_micros(amount: int, from_currency: str, to_currency: str, rates: Mapping[str, Decimal]) -> int:
    """Convert with the catalog's rates: units of the base currency per one unit of each keyed currency
    (the base currency itself is not keyed). Between two keyed currencies the base is crossed. A
    currency with no rate is refused, naming it."""
    if from_currency == to_currency:
        return amount
    known = ", ".join(sorted(rates)) or "none"
    if from_currency in rates and to_currency in rates:
        value = Decimal(amount) * rates[from_currency] / rates[to_currency]
    elif from_currency in rates:  # to the base currency
        value = Decimal(amount) * rates[from_currency]
    elif to_currency in rates:  # from the base currency
        value = Decimal(amount) / rates[to_currency]
    else:
        raise InvalidInputError(
            f"no exchange rate from {from_currency} to {to_currency}",
            hint=f"add {from_currency} or {to_currency} to the [rates] table of the price catalog "
            f"(rates known: {known})",
        )
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def rollup(
    costs: pl.DataFrame,
    by: str,
    *,
    currency: str | None = None,
    rates: Mapping[str, Decimal] | None = None,
) -> pl.DataFrame:
    """Total cost per ``by`` (step, run, pipeline, project, team, dataset, model, environment, resource).

    Costs in more than one currency are refused unless ``currency`` and ``rates`` are given."""
    import polars as pl

    if by not in ROLLUP_KEYS:
        raise InvalidInputError(f"cannot roll up by {by!r}", hint=f"choose one of {', '.join(ROLLUP_KEYS)}")
    keys = list(ROLLUP_KEYS[by])
    grouped = (
        costs.group_by([*keys, "currency"])
        .agg(pl.col("cost_micros").sum(), pl.len().alias("records"))
        .sort("cost_micros", descending=True)
    )
    currencies = sorted(set(grouped["currency"].to_list()))
    if currency is None or currencies == [currency] or not currencies:
        if len(currencies) > 1:
            raise InvalidInputError(
                f"costs are in more than one currency ({', '.join(currencies)}); they are not added unconverted",
                hint="pass a report currency (--currency) and keep a [rates] table in the price catalog",
            )
        return grouped
    converted = [
        convert_micros(int(a), c, currency, rates or {})
        for a, c in zip(grouped["cost_micros"], grouped["currency"], strict=True)
    ]
    return (
        grouped.with_columns(
            pl.Series("cost_micros", converted, dtype=pl.Int64), pl.lit(currency).alias("currency")
        )
        .group_by([*keys, "currency"])
        .agg(pl.col("cost_micros").sum(), pl.col("records").sum())
        .sort("cost_micros", descending=True)
    )


def allocate_shared(
    costs: pl.DataFrame, amount_micros: int, currency: str, *, by: str = "project"
) -> dict[str, int]:
    """Split a shared fixed cost (a cluster's idle time) in proportion to each ``by`` key's own cost.

    Uses the largest-remainder method so the parts add up to ``amount_micros`` exactly."""
    if amount_micros < 0:
        raise InvalidInputError(
            f"shared cost {amount_micros} is negative", hint="pass an amount ≥ 0 in micros"
        )
    totals = rollup(costs.filter(costs["currency"] == currency), by)
    key = ROLLUP_KEYS[by][-1]
    weights = {str(k): int(v) for k, v in zip(totals[key], totals["cost_micros"], strict=True) if int(v) > 0}
    whole = sum(weights.values())
    if whole == 0:
        raise InvalidInputError(
            f"no {currency} usage to allocate the shared cost against",
            hint="price some usage in that currency first",
        )
    shares = {k: amount_micros * w // whole for k, w in weights.items()}
    remainders = sorted(weights, key=lambda k: (-(amount_micros * weights[k] % whole), k))
    for k in remainders[: amount_micros - sum(shares.values())]:
        shares[k] += 1
    return shares


def micros_to_decimal(amount: int) -> Decimal:
    return Decimal(amount) / MICROS


def format_money(amount_micros: int, currency: str) -> str:
    """Kept for callers of this module; the one formatter is ``money.format_money``."""
    from triops.finops.money import format_money as fmt

    return fmt(amount_micros, currency)


def attribute_runs(
    costs: pl.DataFrame, run_to_value: Mapping[str, str], column: str = "model_version"
) -> pl.DataFrame:
    """Fill ``column`` (``model_version`` or ``dataset``) from a run → value map (e.g. the registry's
    model versions and the runs that trained them), keeping values already tagged on the usage."""
    import polars as pl

    if column not in ATTRIBUTION_TAGS:
        raise InvalidInputError(
            f"cannot attribute to {column!r}", hint=f"choose {' or '.join(ATTRIBUTION_TAGS)}"
        )
    mapped = pl.col("run_id").replace_strict(dict(run_to_value), default=None, return_dtype=pl.String)
    return costs.with_columns(pl.coalesce(pl.col(column), mapped).alias(column))


def attribute_lineage(
    costs: pl.DataFrame, model_of: Mapping[str, str], dataset_of: Mapping[str, str]
) -> pl.DataFrame:
    """``attribute_runs`` for both lineage maps (``run_lineage``): the model version a run produced and the
    dataset version it registered."""
    if model_of:
        costs = attribute_runs(costs, model_of, "model_version")
    if dataset_of:
        costs = attribute_runs(costs, dataset_of, "dataset")
    return costs
