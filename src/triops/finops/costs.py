"""Cost attribution: usage records * the price book → cost records, vectorised with numpy and polars.

One cost row per usage record and resource with a non-zero quantity. Quantities charged:

- ``cpu_core_hour``: max(requested cores * wall seconds, CPU seconds used) / 3600;
- ``memory_gib_hour``: max(requested GiB, the step's own peak memory in GiB) * wall seconds / 3600 (the
  step's peak is its process's peak RSS while it ran minus the RSS when it started; records that did not
  measure it, such as serving, are charged on peak RSS);
- ``gpu_hour:<MODEL>``: GPU seconds / 3600;
- ``network_gib``: (bytes read + bytes written) / GiB.

Each row's cost is rounded once to integer micro-units of its currency (1 USD = 1,000,000 micros);
every total is then an exact integer sum, never a float sum.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import orjson

from triops.domain.usage import ALLOCATION_TAGS, ATTRIBUTION_TAGS, UsageRecord
from triops.errors import InvalidInputError
from triops.finops.prices import GPU_PREFIX, PriceBook, missing_price, resource_unit

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

MICROS = 1_000_000
GIB = float(1 << 30)
USAGE_COLUMNS = (
    "id",
    "run_id",
    "step_run_id",
    "project",
    "pipeline",
    "step",
    "started_ms",
    "ended_ms",
    "wall_s",
    "cpu_s",
    "peak_rss_bytes",
    "bytes_read",
    "bytes_written",
    "gpu_s",
    "gpu_model",
    "requested_cpu",
    "requested_memory_gb",
    "environment",
    "predictions",
    "step_memory_bytes",
    "tags",
)
TAG_COLUMNS = ALLOCATION_TAGS + ATTRIBUTION_TAGS
_USAGE_GETTER = operator.attrgetter(*USAGE_COLUMNS[:-1])
COST_KEYS = (
    "usage_id",
    "run_id",
    "step_run_id",
    "project",
    "pipeline",
    "step",
    "environment",
    *TAG_COLUMNS,
    "started_ms",
    "ended_ms",
    "predictions",
)


def _usage_values(record: UsageRecord) -> tuple[Any, ...]:
    return _USAGE_GETTER(record)


def usage_frame(records: Sequence[UsageRecord]) -> pl.DataFrame:
    """Usage records as a columnar frame (tags as a JSON string plus one column per allocation tag)."""
    import polars as pl

    # one C-level getter per record and a transpose: this runs for every batch a pipeline run stores
    values = list(zip(*map(_usage_values, records), strict=True)) if records else []
    columns: dict[str, list[Any]] = {
        name: list(values[i]) if values else [] for i, name in enumerate(USAGE_COLUMNS[:-1])
    }
    columns["tags"] = [orjson.dumps(r.tags, option=orjson.OPT_SORT_KEYS).decode() for r in records]
    tag_cols: dict[str, list[str | None]] = {
        name: [r.tags.get(name) for r in records] for name in TAG_COLUMNS
    }
    schema = {
        "id": pl.String,
        "run_id": pl.String,
        "step_run_id": pl.String,
        "project": pl.String,
        "pipeline": pl.String,
        "step": pl.String,
        "started_ms": pl.Int64,
        "ended_ms": pl.Int64,
        "wall_s": pl.Float64,
        "cpu_s": pl.Float64,
        "peak_rss_bytes": pl.Int64,
        "bytes_read": pl.Int64,
        "bytes_written": pl.Int64,
        "gpu_s": pl.Float64,
        "gpu_model": pl.String,
        "requested_cpu": pl.Float64,
        "requested_memory_gb": pl.Float64,
        "environment": pl.String,
        "predictions": pl.Int64,
        "step_memory_bytes": pl.Int64,
        "tags": pl.String,
    }
    frame = pl.DataFrame(columns, schema=schema)
    return frame.with_columns(pl.Series(name, values, dtype=pl.String) for name, values in tag_cols.items())


def _with_tag_columns(df: pl.DataFrame) -> pl.DataFrame:
    import polars as pl

    missing = [name for name in TAG_COLUMNS if name not in df.columns]
    if not missing:
        return df
    return df.with_columns(pl.col("tags").str.json_path_match(f"$.{name}").alias(name) for name in missing)


def check_required_tags(usage: pl.DataFrame, required: Sequence[str]) -> None:
    """The required-tags rule: every usage record carries each tag in ``required`` (non-empty)."""
    import polars as pl

    df = usage
    for name in required:
        if name not in df.columns:
            df = df.with_columns(pl.col("tags").str.json_path_match(f"$.{name}").alias(name))
    problems = []
    first: list[str] = []
    for name in required:
        lacking = df.filter(pl.col(name).is_null() | (pl.col(name).str.strip_chars() == ""))
        if lacking.height:
            problems.append(f"{name} ({lacking.height})")
            first.extend(lacking["id"].head(3).to_list())
    if problems:
        raise InvalidInputError(
            f"usage records lack required tags: {', '.join(problems)}; first: {', '.join(first[:3])}",
            hint="tag the runs (e.g. tags={'team': ..., 'cost_centre': ...}) or relax the required-tags rule",
        )


def _check_usage_columns(df: pl.DataFrame) -> None:
    missing = [c for c in USAGE_COLUMNS if c not in df.columns]
    if missing:
        raise InvalidInputError(
            f"usage frame lacks columns: {', '.join(missing)}", hint="build it with usage_frame()"
        )


def _day_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def _unit_prices(book: PriceBook, environment: str, resource: str, times: np.ndarray) -> np.ndarray:
    """Unit price in micros for each time (unix ms) by effective date; raises naming resource and catalog."""
    import numpy as np

    rows = book.rows_for(environment, resource)
    if not rows:
        raise missing_price(book, environment, resource, datetime.fromtimestamp(times[0] / 1000, UTC).date())
    starts = np.array([_day_ms(r.effective_from) for r in rows], dtype=np.int64)
    ends = np.array([_day_ms(r.effective_to) if r.effective_to else np.iinfo(np.int64).max for r in rows])
    prices = np.array([float(r.unit_price * MICROS) for r in rows], dtype=np.float64)
    idx = np.searchsorted(starts, times, side="right") - 1
    ok = idx >= 0
    ok[ok] &= times[ok] < ends[idx[ok]]
    if not ok.all():
        bad = int(times[~ok][0])
        raise missing_price(book, environment, resource, datetime.fromtimestamp(bad / 1000, UTC).date())
    return prices[idx]


RESOURCE_COLUMNS: dict[str, tuple[str, str, str]] = {
    # resource kind → (quantity column, unit-price column, cost column)
    "cpu_core_hour": ("cpu_core_hours", "cpu_price_micros", "cpu_micros"),
    "memory_gib_hour": ("memory_gib_hours", "memory_price_micros", "memory_micros"),
    "gpu_hour": ("gpu_hours", "gpu_price_micros", "gpu_micros"),
    "network_gib": ("network_gib", "network_price_micros", "network_micros"),
}


def price_usage(
    usage: pl.DataFrame | Sequence[UsageRecord], book: PriceBook, *, required_tags: Sequence[str] = ()
) -> pl.DataFrame:
    """Cost records: one row per usage record, with quantity, unit price and cost per resource and the
    total ``cost_micros``, in the currency of the record's environment."""
    import numpy as np
    import polars as pl

    df = usage if isinstance(usage, pl.DataFrame) else usage_frame(usage)
    if "predictions" not in df.columns:  # frames built before serving usage existed
        df = df.with_columns(pl.lit(0, dtype=pl.Int64).alias("predictions"))
    if "step_memory_bytes" not in df.columns:  # frames built before steps measured their own memory
        df = df.with_columns(pl.lit(None, dtype=pl.Int64).alias("step_memory_bytes"))
    _check_usage_columns(df)
    if required_tags:
        check_required_tags(df, required_tags)
    df = _with_tag_columns(df)
    if df.height == 0:
        return empty_costs()
    environments = df["environment"].unique().to_list()
    for env in environments:
        book.environment(env)
    times = df["started_ms"].to_numpy()
    wall = df["wall_s"].to_numpy()
    gpu_s = df["gpu_s"].to_numpy()
    quantities: dict[str, np.ndarray] = {
        "cpu_core_hour": np.maximum(df["requested_cpu"].to_numpy() * wall, df["cpu_s"].to_numpy()) / 3600.0,
        "memory_gib_hour": np.maximum(
            df["requested_memory_gb"].to_numpy(),
            # the step's own peak where measured, else the process's peak RSS (serving, older records)
            df["step_memory_bytes"].fill_null(df["peak_rss_bytes"]).to_numpy() / GIB,
        )
        * wall
        / 3600.0,
        "gpu_hour": gpu_s / 3600.0,
        "network_gib": (df["bytes_read"].to_numpy() + df["bytes_written"].to_numpy()) / GIB,
    }
    env_masks = {env: (df["environment"] == env).to_numpy() for env in environments}
    gpu_masks: dict[str, np.ndarray] = {}
    if (gpu_s > 0).any():
        gpu_col = df["gpu_model"]
        for model in df.filter(pl.col("gpu_s") > 0)["gpu_model"].unique().to_list():
            gpu_masks[f"{GPU_PREFIX}{model}"] = (gpu_col == model).fill_null(False).to_numpy()
    total = np.zeros(df.height, dtype=np.int64)
    new_columns: list[pl.Series] = []
    for kind, qty in quantities.items():
        used = qty > 0
        price = np.zeros(df.height, dtype=np.float64)
        resources = gpu_masks if kind == "gpu_hour" else {kind: np.ones(df.height, dtype=bool)}
        for resource, resource_mask in resources.items():
            for env, env_mask in env_masks.items():
                mask = env_mask & used & resource_mask
                if mask.any():
                    price[mask] = _unit_prices(book, env, resource, times[mask])
        cost = np.rint(qty * price).astype(np.int64)
        total += cost
        qty_col, price_col, cost_col = RESOURCE_COLUMNS[kind]
        new_columns += [pl.Series(qty_col, qty), pl.Series(price_col, price), pl.Series(cost_col, cost)]
    currency = {env: book.environments[env].currency for env in environments}
    return df.select(pl.col("id").alias("usage_id"), *COST_KEYS[1:], "gpu_model").with_columns(
        *new_columns,
        pl.Series("cost_micros", total),
        pl.col("environment").replace_strict(currency, return_dtype=pl.String).alias("currency"),
        pl.lit(book.version).alias("catalog_version"),
    )


def empty_costs() -> pl.DataFrame:
    import polars as pl

    schema: dict[str, Any] = {name: pl.String for name in COST_KEYS}
    schema.update(started_ms=pl.Int64, ended_ms=pl.Int64, predictions=pl.Int64, gpu_model=pl.String)
    for qty_col, price_col, cost_col in RESOURCE_COLUMNS.values():
        schema.update({qty_col: pl.Float64, price_col: pl.Float64, cost_col: pl.Int64})
    schema.update(cost_micros=pl.Int64, currency=pl.String, catalog_version=pl.String)
    return pl.DataFrame(schema=schema)


def cost_lines(costs: pl.DataFrame) -> pl.DataFrame:
    """Cost records in long form: one row per record and resource with a non-zero quantity
    (``resource``, ``unit``, ``quantity``, ``unit_price_micros``, ``line_micros``). Used by FOCUS export."""
    import polars as pl

    keys = [c for c in costs.columns if c not in _RESOURCE_VALUE_COLUMNS and c != "cost_micros"]
    parts = []
    for kind, (qty_col, price_col, cost_col) in RESOURCE_COLUMNS.items():
        resource = (
            pl.concat_str(pl.lit(GPU_PREFIX), pl.col("gpu_model")) if kind == "gpu_hour" else pl.lit(kind)
        )
        parts.append(
            costs.filter(pl.col(qty_col) > 0).select(
                *keys,
                resource.alias("resource"),
                pl.lit(resource_unit("gpu_hour:x" if kind == "gpu_hour" else kind)).alias("unit"),
                pl.col(qty_col).alias("quantity"),
                pl.col(price_col).alias("unit_price_micros"),
                pl.col(cost_col).alias("line_micros"),
            )
        )
    return pl.concat(parts, how="vertical")


_RESOURCE_VALUE_COLUMNS = {c for cols in RESOURCE_COLUMNS.values() for c in cols}
