"""FOCUS 1.2 export and import (see ``focus_spec`` for the column table and its source).

Export: priced cost records → one FOCUS row per record and resource (a charge), with every mandatory
column, the applicable conditional ones, and ``x_`` columns for run, step run, pipeline, step, model
version and dataset. Money is exact: integer micros become ``Decimal(38, 6)``; times are UTC.

Import (``focus_import``, re-exported here): a provider's FOCUS file is validated first and only then
allocated to projects by its ``Tags``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from triops.errors import InvalidInputError
from triops.finops.costs import RESOURCE_COLUMNS, cost_lines
from triops.finops.focus_import import (
    DECIMAL,
    ISO_Z,
    MAX_AMOUNT,
    PROJECT_TAG_KEYS,
    allocate_focus_rows,
    decode_tags,
    missing_mandatory,
    parse_datetime,
    read_focus,
    validate_focus,
)
from triops.finops.focus_spec import COLUMNS, FocusColumn
from triops.finops.prices import PriceBook

if TYPE_CHECKING:
    import polars as pl

QUANTITY_SCALE = 9
X_COLUMNS = (
    "x_RunId",
    "x_StepRunId",
    "x_Pipeline",
    "x_Step",
    "x_ModelVersion",
    "x_DatasetVersion",
    "x_UsageId",
)


def _scaled_decimal(expr: pl.Expr, scale: int) -> pl.Expr:
    """Integers counting 10**-scale units → an exact Decimal(38, scale), through their decimal text
    (polars parses decimal text an order of magnitude faster than it multiplies decimals)."""
    import polars as pl

    unit = 10**scale
    whole = expr.abs()
    text = pl.format(
        "{}{}.{}",
        pl.when(expr < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        whole // unit,
        (whole % unit).cast(pl.String).str.zfill(scale),
    )
    return text.str.to_decimal(scale=scale).cast(pl.Decimal(38, scale))


def _float_to_decimal(expr: pl.Expr, scale: int) -> pl.Expr:
    import polars as pl

    return _scaled_decimal((expr * 10**scale).round(0).cast(pl.Int64), scale)


def to_focus(
    costs: pl.DataFrame,
    book: PriceBook,
    *,
    billing_account_id: str = "triops",
    billing_account_name: str | None = "triops metered usage",
    service_name: str = "triops pipelines",
) -> pl.DataFrame:
    """FOCUS 1.2 rows (FOCUS columns first, then ``x_`` columns) from priced cost records."""
    return focus_plan(
        costs,
        book,
        billing_account_id=billing_account_id,
        billing_account_name=billing_account_name,
        service_name=service_name,
    ).collect()


def focus_plan(
    costs: pl.DataFrame,
    book: PriceBook,
    *,
    billing_account_id: str = "triops",
    billing_account_name: str | None = "triops metered usage",
    service_name: str = "triops pipelines",
) -> pl.LazyFrame:
    """The FOCUS 1.2 projection as a lazy query, so an export can stream it straight to a file."""
    import polars as pl

    lines = (
        cost_lines(costs)
        .lazy()
        .filter(pl.col("quantity") > 0)
        .with_columns(
            _scaled_decimal(pl.col("line_micros"), DECIMAL[1]).alias("_cost"),
            _float_to_decimal(pl.col("quantity"), QUANTITY_SCALE).alias("_qty"),
            _float_to_decimal(pl.col("unit_price_micros") * 1e-6, QUANTITY_SCALE).alias("_price"),
        )
    )
    envs = costs["environment"].unique().to_list()
    provider = {e: book.environment(e).provider for e in envs}
    region = {e: book.environment(e).region for e in envs}
    # FOCUS date-times are whole seconds (YYYY-MM-DDTHH:mm:ssZ): the charge period is widened to the
    # seconds that contain it, and is never empty
    start_s = pl.col("started_ms") // 1000
    end_s = pl.max_horizontal(-(-pl.col("ended_ms") // 1000), start_s + 1)
    start = pl.from_epoch(start_s, time_unit="s").dt.replace_time_zone("UTC")
    end = pl.from_epoch(end_s, time_unit="s")
    month = start.dt.truncate("1mo")
    io = pl.col("resource") == "network_gib"
    serving = pl.col("pipeline").fill_null("") == "serving"
    cost = pl.col("_cost")
    prov = pl.col("environment").replace_strict(provider, return_dtype=pl.String)
    tags = pl.struct(
        pl.col("project"),
        pl.col("team"),
        pl.col("cost_centre"),
        pl.col("environment"),
        pl.col("model_version"),
        pl.col("dataset"),
    ).struct.json_encode()
    what = (
        pl.when(io)
        .then(pl.lit("Local disk read/write"))
        .when(pl.col("resource") == "cpu_core_hour")
        .then(pl.lit("CPU"))
        .when(pl.col("resource") == "memory_gib_hour")
        .then(pl.lit("Memory"))
        .otherwise(pl.concat_str(pl.lit("GPU "), pl.col("gpu_model").fill_null("")))
    )
    return lines.select(
        cost.alias("BilledCost"),
        pl.lit(billing_account_id).alias("BillingAccountId"),
        pl.lit(billing_account_name, dtype=pl.String).alias("BillingAccountName"),
        pl.col("currency").alias("BillingCurrency"),
        month.dt.offset_by("1mo").alias("BillingPeriodEnd"),
        month.alias("BillingPeriodStart"),
        pl.lit("Usage").alias("ChargeCategory"),
        pl.lit(None, dtype=pl.String).alias("ChargeClass"),
        pl.concat_str(
            what,
            pl.lit(" for "),
            pl.col("pipeline").fill_null("run"),
            pl.lit("/"),
            pl.col("step").fill_null("-"),
        ).alias("ChargeDescription"),
        pl.lit("Usage-Based").alias("ChargeFrequency"),
        end.dt.replace_time_zone("UTC").alias("ChargePeriodEnd"),
        start.alias("ChargePeriodStart"),
        pl.col("_qty").alias("ConsumedQuantity"),
        pl.col("unit").alias("ConsumedUnit"),
        cost.alias("ContractedCost"),
        pl.col("_price").alias("ContractedUnitPrice"),
        cost.alias("EffectiveCost"),
        prov.alias("InvoiceIssuerName"),
        cost.alias("ListCost"),
        pl.col("_price").alias("ListUnitPrice"),
        pl.lit("Standard").alias("PricingCategory"),
        pl.col("_qty").alias("PricingQuantity"),
        pl.col("unit").alias("PricingUnit"),
        prov.alias("ProviderName"),
        prov.alias("PublisherName"),
        pl.col("environment").replace_strict(region, return_dtype=pl.String).alias("RegionId"),
        pl.col("environment").replace_strict(region, return_dtype=pl.String).alias("RegionName"),
        pl.coalesce(pl.col("step_run_id"), pl.col("usage_id")).alias("ResourceId"),
        pl.concat_str(pl.col("pipeline").fill_null("run"), pl.lit("/"), pl.col("step").fill_null("-")).alias(
            "ResourceName"
        ),
        pl.when(serving)
        .then(pl.lit("Model serving"))
        .otherwise(pl.lit("Pipeline step run"))
        .alias("ResourceType"),
        pl.when(io)
        .then(pl.lit("Storage"))
        .otherwise(pl.lit("AI and Machine Learning"))
        .alias("ServiceCategory"),
        pl.lit(service_name).alias("ServiceName"),
        pl.when(io)
        .then(pl.lit("Block Storage"))
        .otherwise(pl.lit("Machine Learning"))
        .alias("ServiceSubcategory"),
        pl.concat_str(pl.col("environment"), pl.lit("/"), pl.col("resource")).alias("SkuId"),
        pl.col("resource").alias("SkuMeter"),
        pl.concat_str(
            pl.col("environment"), pl.lit("/"), pl.col("resource"), pl.lit("@"), pl.col("catalog_version")
        ).alias("SkuPriceId"),
        pl.col("project").alias("SubAccountId"),
        pl.col("project").alias("SubAccountName"),
        tags.alias("Tags"),
        pl.col("run_id").alias("x_RunId"),
        pl.col("step_run_id").alias("x_StepRunId"),
        pl.col("pipeline").alias("x_Pipeline"),
        pl.col("step").alias("x_Step"),
        pl.col("model_version").alias("x_ModelVersion"),
        pl.col("dataset").alias("x_DatasetVersion"),
        pl.col("usage_id").alias("x_UsageId"),
    )


CSV_TIME = "%Y-%m-%dT%H:%M:%SZ"  # FOCUS date-times: whole seconds, UTC


def write_focus(frame: pl.DataFrame | pl.LazyFrame, out: Path) -> Path:
    """Write ``.parquet`` or ``.csv`` (ISO 8601 UTC times with ``Z``), chosen by the file suffix.
    A lazy frame is streamed to the file without being collected first."""
    suffix = out.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise InvalidInputError(
            f"cannot write FOCUS to {out.name!r}", hint="use a .parquet or .csv file name"
        )
    lazy = frame.lazy()
    if suffix == ".parquet":
        lazy.sink_parquet(out, compression="snappy", statistics=False)
    else:
        lazy.sink_csv(out, datetime_format=CSV_TIME)  # formatted as written: no string columns first
    return out


def focus_rows(costs: pl.DataFrame) -> int:
    """The number of FOCUS rows ``costs`` makes: one per record and resource used."""
    return sum(int((costs[qty] > 0).sum()) for qty, _, _ in RESOURCE_COLUMNS.values())


def export_focus(costs: pl.DataFrame, book: PriceBook, out: Path) -> int:
    """Write priced costs to ``out`` as FOCUS 1.2; returns the number of rows written. CSV is made as
    text by ``focus_csv`` (the bytes ``write_focus`` would write, several times faster)."""
    if out.suffix.lower() == ".csv":
        with out.open("wb") as file:
            for chunk in stream_focus_csv(costs, book):
                file.write(chunk)
    else:
        write_focus(focus_plan(costs, book), out)
    return focus_rows(costs)


def stream_focus_csv(costs: pl.DataFrame, book: PriceBook, chunk_bytes: int = 1 << 20) -> Iterator[bytes]:
    """The FOCUS 1.2 CSV of ``costs`` in chunks of about ``chunk_bytes``, made while they are sent (the
    file is never held whole); byte for byte what ``write_focus(focus_plan(costs, book))`` writes."""
    from triops.finops.focus_csv import focus_csv_from_frames

    return focus_csv_from_frames([costs], book, schema=costs, chunk_bytes=chunk_bytes)


def focus_columns() -> tuple[FocusColumn, ...]:
    return COLUMNS


__all__ = [
    "DECIMAL",
    "ISO_Z",
    "MAX_AMOUNT",
    "PROJECT_TAG_KEYS",
    "X_COLUMNS",
    "allocate_focus_rows",
    "decode_tags",
    "export_focus",
    "focus_columns",
    "focus_plan",
    "focus_rows",
    "missing_mandatory",
    "parse_datetime",
    "read_focus",
    "stream_focus_csv",
    "to_focus",
    "validate_focus",
    "write_focus",
]
