"""FOCUS 1.2 export and import (see ``focus_spec`` for the column table and its source).

Export: priced cost records → one FOCUS row per record and resource (a charge), with every mandatory
column, the applicable conditional ones, and ``x_`` columns for run, step run, pipeline, step, model
version and dataset. Money is exact: integer micros become ``Decimal(38, 6)``; times are UTC.

Import: a provider's FOCUS file (CSV or Parquet) is validated first (all missing mandatory columns are
listed, null and allowed-value violations named) and only then allocated to projects by its ``Tags``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from triops.errors import InvalidInputError
from triops.finops.costs import RESOURCE_COLUMNS, cost_lines
from triops.finops.focus_spec import BY_NAME, COLUMNS, MANDATORY, FocusColumn
from triops.finops.prices import PriceBook

if TYPE_CHECKING:
    import polars as pl

DECIMAL = (38, 6)
QUANTITY_SCALE = 9
PROJECT_TAG_KEYS = ("project", "triops-project", "triops_project")
ISO_Z = "%Y-%m-%dT%H:%M:%S%.fZ"
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
    """Integers counting 10**-scale units → an exact Decimal(38, scale)."""
    import polars as pl

    return (expr.cast(pl.Decimal(38, scale)) * pl.lit(Decimal(1).scaleb(-scale))).cast(pl.Decimal(38, scale))


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
    start = pl.from_epoch(pl.col("started_ms"), time_unit="ms").dt.replace_time_zone("UTC")
    end = pl.from_epoch(pl.max_horizontal(pl.col("ended_ms"), pl.col("started_ms") + 1), time_unit="ms")
    month = start.dt.truncate("1mo")
    network = pl.col("resource") == "network_gib"
    cost = pl.col("_cost")
    prov = pl.col("environment").replace_strict(provider, return_dtype=pl.String)
    tags = pl.struct(
        pl.col("project"), pl.col("team"), pl.col("cost_centre"), pl.col("environment")
    ).struct.json_encode()
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
            pl.col("resource"),
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
        pl.lit("Pipeline step run").alias("ResourceType"),
        pl.when(network)
        .then(pl.lit("Networking"))
        .otherwise(pl.lit("AI and Machine Learning"))
        .alias("ServiceCategory"),
        pl.lit(service_name).alias("ServiceName"),
        pl.when(network)
        .then(pl.lit("Data Transfer"))
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


def write_focus(frame: pl.DataFrame | pl.LazyFrame, out: Path) -> Path:
    """Write ``.parquet`` or ``.csv`` (ISO 8601 UTC times with ``Z``), chosen by the file suffix.
    A lazy frame is streamed to the file without being collected first."""
    import polars as pl

    suffix = out.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise InvalidInputError(
            f"cannot write FOCUS to {out.name!r}", hint="use a .parquet or .csv file name"
        )
    lazy = frame.lazy()
    if suffix == ".parquet":
        lazy.sink_parquet(out, compression="snappy", statistics=False)
    else:
        times = [c for c, t in lazy.collect_schema().items() if isinstance(t, pl.Datetime)]
        lazy.with_columns(pl.col(c).dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ") for c in times).sink_csv(out)
    return out


def export_focus(costs: pl.DataFrame, book: PriceBook, out: Path) -> int:
    """Write priced costs to ``out`` as FOCUS 1.2; returns the number of rows written."""
    plan = focus_plan(costs, book)
    write_focus(plan, out)
    return sum(int((costs[qty] > 0).sum()) for qty, _, _ in RESOURCE_COLUMNS.values())


def read_focus(path: Path) -> pl.DataFrame:
    """Read a FOCUS file and validate it; nothing is returned unless every check passes."""
    import polars as pl

    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pl.read_parquet(path)
        elif suffix == ".csv":
            frame = pl.read_csv(path, infer_schema=False)
        else:
            raise InvalidInputError(
                f"cannot read FOCUS from {path.name!r}", hint="use a .parquet or .csv file"
            )
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InvalidInputError(
            f"cannot read FOCUS file {path}: {exc}", hint="check the file and its format"
        ) from exc
    validate_focus(frame, str(path))
    return frame


def missing_mandatory(columns: Sequence[str]) -> list[str]:
    present = set(columns)
    return [name for name in MANDATORY if name not in present]


def validate_focus(frame: pl.DataFrame, where: str = "FOCUS data") -> None:
    """Mandatory columns present; non-nullable columns without nulls; allowed values respected;
    decimals and date-times parse; custom columns prefixed ``x_``."""
    import polars as pl

    missing = missing_mandatory(frame.columns)
    if missing:
        raise InvalidInputError(
            f"{where} lacks mandatory FOCUS 1.2 columns: {', '.join(missing)}; nothing was imported",
            hint="export the file as FOCUS 1.2 from your provider, or add the columns",
        )
    problems: list[str] = []
    for name in frame.columns:
        spec: FocusColumn | None = BY_NAME.get(name)
        if spec is None:
            if not name.startswith("x_"):
                problems.append(f"column {name!r} is neither FOCUS 1.2 nor x_-prefixed")
            continue
        col = frame[name]
        if col.dtype == pl.String:
            col = col.replace("", None)
        if not spec.nullable and col.null_count():
            problems.append(f"{name} has {col.null_count()} null values")
        if spec.allowed is not None:
            bad = set(col.drop_nulls().unique().to_list()) - spec.allowed
            if bad:
                problems.append(f"{name} has values outside the spec: {', '.join(sorted(map(str, bad))[:5])}")
        if spec.data_type in ("Decimal", "DateTime") and col.dtype == pl.String:
            parsed = _parse(col, spec.data_type)
            failed = parsed.is_null().sum() - col.null_count()
            if failed:
                problems.append(f"{name} has {failed} values that are not {spec.data_type}")
        if spec.data_type == "JSON" and col.dtype == pl.String:
            try:
                col.str.json_decode(dtype=_tag_struct(()) if name == "Tags" else pl.String)
            except pl.exceptions.PolarsError:
                problems.append(f"{name} has values that are not JSON objects")
    if problems:
        raise InvalidInputError(
            f"{where} is not valid FOCUS 1.2: {'; '.join(problems)}; nothing was imported",
            hint="fix the listed columns and import again",
        )


def _parse(col: pl.Series, data_type: str) -> pl.Series:
    import polars as pl

    if data_type == "Decimal":
        return col.cast(pl.Float64, strict=False)
    return parse_datetime(col)


def parse_datetime(col: pl.Series) -> pl.Series:
    """ISO 8601 UTC text → Datetime(UTC); the FOCUS form ``...T..Z`` first (fast), else inferred."""
    fast = col.str.to_datetime(format=ISO_Z, time_zone="UTC", strict=False)
    if fast.null_count() == col.null_count():
        return fast
    return col.str.to_datetime(time_zone="UTC", strict=False)


def _tag_struct(keys: Sequence[str]) -> pl.Struct:
    import polars as pl

    return pl.Struct({key: pl.String for key in dict.fromkeys([*keys, "team"])})


def decode_tags(col: pl.Series, keys: Sequence[str] = PROJECT_TAG_KEYS) -> pl.Series:
    """The allocation keys of a JSON ``Tags`` column as a struct (raises on text that is not JSON)."""
    import polars as pl

    return col.cast(pl.String).str.json_decode(dtype=_tag_struct(keys))


def allocate_focus_rows(
    frame: pl.DataFrame, *, default_project: str | None = None, tag_keys: Sequence[str] = PROJECT_TAG_KEYS
) -> pl.DataFrame:
    """Normalise validated FOCUS rows for storage and allocate each to a project by its ``Tags``
    (first of ``tag_keys`` present), else to ``default_project``; rows left unallocated are refused."""
    import polars as pl

    def money(name: str) -> pl.Expr:
        return (pl.col(name).cast(pl.String).str.to_decimal(scale=DECIMAL[1]) * 1_000_000).cast(pl.Int64)

    def when(name: str) -> pl.Expr:
        dtype = frame.schema[name]
        if dtype == pl.String:
            return pl.lit(parse_datetime(frame[name])).dt.epoch("ms")
        col = pl.col(name)
        if isinstance(dtype, pl.Datetime) and dtype.time_zone:
            col = col.dt.convert_time_zone("UTC")
        else:
            col = col.dt.replace_time_zone("UTC")
        return col.dt.epoch("ms")

    tags = pl.col("Tags").cast(pl.String) if "Tags" in frame.columns else pl.lit(None, dtype=pl.String)
    decoded = (
        pl.lit(decode_tags(frame["Tags"], tag_keys))
        if "Tags" in frame.columns
        else pl.lit(None, dtype=_tag_struct(tag_keys))
    )
    project = pl.coalesce(*[decoded.struct.field(key) for key in tag_keys], pl.lit(default_project))
    optional: dict[str, Any] = {
        name: pl.col(name) if name in frame.columns else pl.lit(None, dtype=pl.String)
        for name in ("ResourceId", "SkuId", "ChargeDescription", "SubAccountId")
    }
    out = frame.select(
        project.alias("project"),
        decoded.struct.field("team").alias("team"),
        pl.col("ProviderName").cast(pl.String).alias("provider"),
        pl.col("ServiceName").cast(pl.String).alias("service_name"),
        pl.col("ServiceCategory").cast(pl.String).alias("service_category"),
        pl.col("ChargeCategory").cast(pl.String).alias("charge_category"),
        pl.col("BillingAccountId").cast(pl.String).alias("billing_account_id"),
        optional["SubAccountId"].cast(pl.String).alias("sub_account_id"),
        optional["ResourceId"].cast(pl.String).alias("resource_id"),
        optional["SkuId"].cast(pl.String).alias("sku_id"),
        optional["ChargeDescription"].cast(pl.String).alias("description"),
        pl.col("BillingCurrency").cast(pl.String).alias("currency"),
        when("ChargePeriodStart").alias("charge_period_start_ms"),
        when("ChargePeriodEnd").alias("charge_period_end_ms"),
        money("BilledCost").alias("billed_micros"),
        money("EffectiveCost").alias("effective_micros"),
        money("ListCost").alias("list_micros"),
        money("ContractedCost").alias("contracted_micros"),
        tags.alias("tags"),
    )
    unallocated = out.filter(pl.col("project").is_null()).height
    if unallocated:
        raise InvalidInputError(
            f"{unallocated} FOCUS rows carry no project tag ({', '.join(tag_keys)}); nothing was imported",
            hint="tag the cloud resources with a project, or pass a default project (--project)",
        )
    return out


def focus_columns() -> tuple[FocusColumn, ...]:
    return COLUMNS
