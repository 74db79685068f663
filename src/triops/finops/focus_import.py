"""FOCUS 1.2 import: read a provider's file (CSV or Parquet), validate it against the 1.2 column rules
(every problem named by row and column, all in one line, nothing imported on any), and allocate its rows
to projects by their ``Tags``. ``focus`` re-exports these names."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from triops.errors import InvalidInputError
from triops.finops.focus_spec import BY_NAME, MANDATORY, SUBCATEGORY_PARENT, FocusColumn

if TYPE_CHECKING:
    import polars as pl

DECIMAL = (38, 6)
PROJECT_TAG_KEYS = ("project", "triops-project", "triops_project")
ISO_Z = "%Y-%m-%dT%H:%M:%S%.fZ"


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


MAX_AMOUNT = Decimal(9_000_000_000_000)  # micros of it still fit a signed 64-bit integer


def _first(mask: pl.Series) -> int:
    """1-based number of the first data row where ``mask`` holds."""
    return int(mask.arg_true()[0]) + 1


def _problem(name: str, mask: pl.Series, col: pl.Series, what: str) -> str:
    row = _first(mask)
    value = col[row - 1]
    count = int(mask.sum())
    more = f" ({count} rows in all)" if count > 1 else ""
    shown = "null" if value is None else repr(value)
    return f"row {row}, column {name}: {shown} {what}{more}"


def validate_focus(frame: pl.DataFrame, where: str = "FOCUS data") -> None:
    """Mandatory columns present; non-nullable columns without nulls; allowed values respected (with each
    ServiceSubcategory under its own ServiceCategory); decimals, date-times and JSON parse; amounts in
    range; custom columns prefixed ``x_``. Each problem names its first row (1-based, header excluded)
    and column; all of them are reported in one line."""
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
            problems.append(
                _problem(name, col.is_null(), col, "is null; FOCUS 1.2 does not allow nulls here")
            )
        if spec.allowed is not None:
            bad = col.is_not_null() & ~col.cast(pl.String).is_in(sorted(spec.allowed))
            if bad.any():
                problems.append(_problem(name, bad, col, "is not an allowed FOCUS 1.2 value"))
        if spec.data_type in ("Decimal", "DateTime") and col.dtype == pl.String:
            parsed = _parse(col, spec.data_type)
            failed = parsed.is_null() & col.is_not_null()
            if failed.any():
                problems.append(_problem(name, failed, col, f"is not a {spec.data_type}"))
                continue
            col = parsed
        if spec.data_type == "Decimal" and name.endswith("Cost"):
            too_big = col.cast(pl.Float64, strict=False).abs() > float(MAX_AMOUNT)
            if too_big.fill_null(False).any():
                problems.append(
                    _problem(
                        name, too_big.fill_null(False), frame[name], f"is out of range (|x| ≤ {MAX_AMOUNT:,})"
                    )
                )
        if spec.data_type == "JSON" and col.dtype == pl.String:
            bad_json = col.map_elements(_not_flat_object, return_dtype=pl.Boolean, skip_nulls=True)
            if bad_json.fill_null(False).any():
                problems.append(
                    _problem(name, bad_json.fill_null(False), col, "is not a JSON object of scalar values")
                )
    if {"ServiceCategory", "ServiceSubcategory"} <= set(frame.columns):
        parent = (
            frame["ServiceSubcategory"]
            .cast(pl.String)
            .replace_strict(SUBCATEGORY_PARENT, default=None, return_dtype=pl.String)
        )
        wrong = parent.is_not_null() & (parent != frame["ServiceCategory"].cast(pl.String))
        if wrong.fill_null(False).any():
            problems.append(
                _problem(
                    "ServiceSubcategory",
                    wrong.fill_null(False),
                    frame["ServiceSubcategory"],
                    "belongs to another ServiceCategory than the row's",
                )
            )
    if problems:
        raise InvalidInputError(
            f"{where} is not valid FOCUS 1.2: {'; '.join(problems)}; nothing was imported",
            hint="fix the named rows and columns and import again",
        )


def _not_flat_object(text: str) -> bool:
    import orjson

    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return True
    return not isinstance(value, dict) or any(isinstance(v, dict | list) for v in value.values())


def _parse(col: pl.Series, data_type: str) -> pl.Series:
    import polars as pl

    if data_type == "Decimal":
        # FOCUS Numeric Format: no sign for positives, no commas, E notation with a sign only if negative
        numeric = col.str.contains(r"^-?(\d+(\.\d*)?|\.\d+)([eE]-?\d+)?$")
        kept = pl.select(pl.when(pl.lit(numeric)).then(pl.lit(col)).otherwise(None)).to_series()
        return kept.cast(pl.Float64, strict=False)
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
        when("BillingPeriodStart").alias("billing_period_start_ms"),
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
