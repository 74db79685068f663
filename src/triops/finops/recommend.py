"""Recommendations, each with an estimated monthly saving in micro-units:

- **over-requested resources**: a step whose p95 CPU (cores) or peak memory stays under half of what it
  requests; suggest p95 * 1.2 and save the priced difference;
- **repeated identical work**: step runs with the same ``cache_key`` tag (code + inputs fingerprint)
  that ran again instead of hitting the cache (``cache_hit`` tag not "true");
- **cheaper model of equal quality**: a model version whose metric is within ``tolerance`` of the
  current one at a lower cost per 1,000 predictions;
- **unused artifacts**: artifacts not read for ``idle_days`` still paying for storage.

Each states its ``evidence`` (which runs, what period, what was measured) and the ``basis`` of its
saving. Savings are extrapolated to a 30-day month (saving * 30 / window days) only from at least a week
of activity; from less, the saving is what was seen so far and says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from triops.domain.clock import utc_ms
from triops.finops.costs import MICROS

if TYPE_CHECKING:
    import polars as pl

DAY_MS = 86_400_000
GIB = 1 << 30


MIN_EXTRAPOLATION_DAYS = 7.0


@dataclass(frozen=True, slots=True)
class Recommendation:
    kind: str
    target: str
    detail: str
    monthly_saving_micros: int
    currency: str
    evidence: str = ""
    basis: str = ""


@dataclass(frozen=True, slots=True)
class ModelOption:
    model_version: str
    metric: float
    cost_per_1000_micros: int
    predictions_per_month: int
    currency: str


@dataclass(frozen=True, slots=True)
class ArtifactUse:
    name: str
    size_bytes: int
    last_used_ms: int


def _window_days(costs: pl.DataFrame) -> float:
    import polars as pl

    if costs.height == 0:
        return 30.0
    span = int(costs.select(pl.col("ended_ms").max() - pl.col("started_ms").min()).item() or 0)
    return max(span / DAY_MS, 1.0)


def _monthly(amount: float, days: float) -> int:
    """A month's saving from ``days`` of activity; less than a week is not extrapolated."""
    if days < MIN_EXTRAPOLATION_DAYS:
        return max(round(amount), 0)
    return max(round(amount * 30 / days), 0)


def _basis(amount: float, days: float, currency: str) -> str:
    from triops.finops.money import format_money

    seen = format_money(max(round(amount), 0), currency)
    if days < MIN_EXTRAPOLATION_DAYS:
        return f"{seen} seen so far in {days:.1f} days (less than a week of activity: not extrapolated)"
    return f"{seen} seen in {days:.1f} days, scaled to 30 days"


def _window(frame: pl.DataFrame) -> str:
    import polars as pl

    if frame.height == 0:
        return "no activity"
    first, last = frame.select(pl.col("started_ms").min(), pl.col("ended_ms").max()).row(0)
    return f"{_day(first)}..{_day(last)}"


def _day(ms: int) -> str:
    from datetime import UTC

    return datetime.fromtimestamp(int(ms) / 1000, UTC).strftime("%Y-%m-%d")


def _size(gib: float) -> str:
    return f"{gib:.2f} GiB" if gib >= 1 else f"{gib * 1024:.0f} MiB"


def _step_memory(frame: pl.DataFrame) -> pl.Expr:
    """The step's own peak memory in bytes, else (records that did not measure it) its peak RSS."""
    import polars as pl

    if "step_memory_bytes" not in frame.columns:
        return pl.col("peak_rss_bytes")
    return pl.col("step_memory_bytes").fill_null(pl.col("peak_rss_bytes"))


def over_requested(usage: pl.DataFrame, costs: pl.DataFrame, *, ratio: float = 0.5) -> list[Recommendation]:
    """Steps using less than ``ratio`` of requested CPU or memory (p95 over their runs)."""
    import polars as pl

    days = _window_days(costs)
    window = _window(costs)
    joined = usage.join(
        costs.select(pl.col("usage_id").alias("id"), "cpu_micros", "memory_micros", "currency"), on="id"
    ).filter(pl.col("wall_s") > 0)
    stats = joined.group_by("pipeline", "step", "currency").agg(
        (pl.col("cpu_s") / pl.col("wall_s")).quantile(0.95).alias("cpu_p95"),
        # the step's own memory (not its process's) where measured
        (_step_memory(joined) / GIB).quantile(0.95).alias("mem_p95"),
        pl.col("requested_cpu").median().alias("cpu_req"),
        pl.col("requested_memory_gb").median().alias("mem_req"),
        pl.col("cpu_micros").sum(),
        pl.col("memory_micros").sum(),
        pl.len().alias("step_runs"),
        pl.col("run_id").n_unique().alias("runs"),
    )
    out: list[Recommendation] = []
    for row in stats.iter_rows(named=True):
        target = f"{row['pipeline']}/{row['step']}"
        for what, used, req, spent in (
            ("cpu", row["cpu_p95"], row["cpu_req"], row["cpu_micros"]),
            ("memory", row["mem_p95"], row["mem_req"], row["memory_micros"]),
        ):
            if not req or used is None or used >= ratio * req:
                continue
            suggest = max(math.ceil(used * 1.2 * 10) / 10, 0.1)
            if suggest >= req:
                continue
            saving = spent * (req - suggest) / req
            if what == "cpu":
                detail = f"requests {req:g} cores, p95 use {used:.2f} cores; request {suggest:g} cores"
                measured = "CPU-seconds / wall-seconds of each step run"
            else:
                detail = f"requests {_size(req)}, p95 peak {_size(used)}; request {_size(suggest)}"
                measured = "peak resident memory reported for each step run"
            out.append(
                Recommendation(
                    f"over-requested-{what}",
                    target,
                    detail,
                    _monthly(saving, days),
                    row["currency"],
                    evidence=f"{row['step_runs']} step runs in {row['runs']} runs, {window}; {measured}",
                    basis=_basis(saving, days, row["currency"]),
                )
            )
    return sorted(out, key=lambda r: -r.monthly_saving_micros)


def repeated_work(costs: pl.DataFrame, usage: pl.DataFrame) -> list[Recommendation]:
    """Step runs repeating identical work (same ``cache_key`` tag) without a cache hit."""
    import polars as pl

    days = _window_days(costs)
    keyed = (
        usage.select(
            "id",
            "pipeline",
            "step",
            pl.col("tags").str.json_path_match("$.cache_key").alias("cache_key"),
            pl.col("tags").str.json_path_match("$.cache_hit").alias("cache_hit"),
            pl.col("tags").str.json_path_match("$.cache").alias("cache"),
            "run_id",
            "started_ms",
            "ended_ms",
        )
        .filter(pl.col("cache_key").is_not_null() & (pl.col("cache_hit").fill_null("false") != "true"))
        .join(costs.select(pl.col("usage_id").alias("id"), "cost_micros", "currency"), on="id")
    )
    groups = keyed.group_by("pipeline", "step", "cache_key", "currency").agg(
        pl.len().alias("runs"),
        pl.col("cost_micros").sum(),
        pl.col("cost_micros").min().alias("first"),
        (pl.col("cache").fill_null("on") == "off").sum().alias("cache_off"),
        pl.col("run_id").unique().sort().head(3).alias("run_ids"),
        pl.col("started_ms").min(),
        pl.col("ended_ms").max(),
    )
    out = []
    for row in groups.filter(pl.col("runs") > 1).iter_rows(named=True):
        saving = row["cost_micros"] - row["first"]
        if row["cache_off"]:
            advice = (
                f"{row['cache_off']} of them ran with the cache switched off (--no-cache / use_cache=False); "
                "run with the cache on"
            )
        else:
            advice = (
                "the cache was on but the step opts out of it (@step(cache=False)); "
                "let it cache if the step is deterministic"
            )
        out.append(
            Recommendation(
                "repeated-work",
                f"{row['pipeline']}/{row['step']}",
                f"{row['runs']} identical runs (cache key {str(row['cache_key'])[:12]}); {advice}",
                _monthly(saving, days),
                row["currency"],
                evidence=f"runs {', '.join(map(str, row['run_ids']))}"
                + (" …" if row["runs"] > 3 else "")
                + f", {_day(row['started_ms'])}..{_day(row['ended_ms'])}; same code and inputs fingerprint",
                basis=_basis(saving, days, row["currency"]) + "; every run after the first is avoidable",
            )
        )
    return sorted(out, key=lambda r: -r.monthly_saving_micros)


def cheaper_model(
    current: ModelOption, candidates: Sequence[ModelOption], *, tolerance: float = 0.005
) -> Recommendation | None:
    """The cheapest candidate whose metric is at least the current one minus ``tolerance``."""
    fit = [
        c
        for c in candidates
        if c.model_version != current.model_version
        and c.currency == current.currency
        and c.metric >= current.metric - tolerance
        and c.cost_per_1000_micros < current.cost_per_1000_micros
    ]
    if not fit:
        return None
    best = min(fit, key=lambda c: c.cost_per_1000_micros)
    saving = (
        (current.cost_per_1000_micros - best.cost_per_1000_micros) * current.predictions_per_month // 1000
    )
    return Recommendation(
        "cheaper-model",
        current.model_version,
        f"{best.model_version} scores {best.metric:.4f} vs {current.metric:.4f} at "
        f"{Decimal(best.cost_per_1000_micros) / MICROS} vs {Decimal(current.cost_per_1000_micros) / MICROS} "
        f"{current.currency} per 1,000 predictions",
        saving,
        current.currency,
        evidence=f"metric and serving cost per 1,000 predictions of {current.model_version} and {best.model_version}",
        basis=f"{current.predictions_per_month:,} predictions a month at the difference in cost per 1,000",
    )


def unused_artifacts(
    artifacts: Sequence[ArtifactUse],
    price_per_gib_month: Decimal,
    currency: str,
    now: datetime,
    *,
    idle_days: int = 90,
) -> list[Recommendation]:
    """Artifacts not used for ``idle_days``: deleting or archiving them saves their storage price."""
    cutoff = utc_ms(now) - idle_days * DAY_MS
    out = []
    for art in artifacts:
        if art.last_used_ms >= cutoff:
            continue
        saving = int(Decimal(art.size_bytes) / GIB * price_per_gib_month * MICROS)
        idle = (utc_ms(now) - art.last_used_ms) // DAY_MS
        out.append(
            Recommendation(
                "unused-artifact",
                art.name,
                f"{_size(art.size_bytes / GIB)} unused for {idle} days",
                saving,
                currency,
                evidence=f"last recorded use {_day(art.last_used_ms)}; size {art.size_bytes:,} bytes",
                basis=f"storage at {price_per_gib_month} {currency} per GiB-month from the price catalog",
            )
        )
    return sorted(out, key=lambda r: -r.monthly_saving_micros)
