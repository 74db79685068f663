"""FOCUS 1.2 export and import, checked against the spec's column table (names, types, nulls, values)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from triops.domain.usage import UsageRecord
from triops.errors import InvalidInputError
from triops.finops.costs import price_usage
from triops.finops.focus import allocate_focus_rows, read_focus, to_focus, validate_focus, write_focus
from triops.finops.focus_spec import BY_NAME, COLUMNS, MANDATORY, SERVICE_SUBCATEGORIES
from triops.finops.prices import PriceBook

Make = Callable[..., UsageRecord]

# FOCUS 1.2 columns whose feature level is Mandatory (each column's "Content constraints" table).
SPEC_MANDATORY = {
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
}
POLARS_TYPES = {"Decimal": pl.Decimal, "DateTime": pl.Datetime, "String": pl.String, "JSON": pl.String}


@pytest.fixture
def focus(book: PriceBook, make_usage: Make) -> pl.DataFrame:
    records = [
        make_usage(
            run_id="r1", step_run_id="sr1", tags={"team": "ml", "model_version": "churn@2", "dataset": "ds@1"}
        ),
        make_usage(run_id="r1", step="eval", bytes_read=1 << 30, gpu_s=600.0, gpu_model="T4"),
        make_usage(project="fraud", environment="eu", tags={"team": "risk"}),
    ]
    return to_focus(price_usage(records, book), book)


def test_spec_table_has_the_focus_1_2_columns() -> None:
    assert len(COLUMNS) == 57
    assert set(MANDATORY) == SPEC_MANDATORY
    assert len(BY_NAME) == len(COLUMNS)
    assert BY_NAME["ChargeCategory"].allowed == frozenset(
        {"Usage", "Purchase", "Tax", "Credit", "Adjustment"}
    )
    assert "AI and Machine Learning" in BY_NAME["ServiceCategory"].allowed  # type: ignore[operator]
    assert "Machine Learning" in SERVICE_SUBCATEGORIES["AI and Machine Learning"]


def test_export_has_every_mandatory_column_with_spec_types(focus: pl.DataFrame) -> None:
    assert set(focus.columns) >= SPEC_MANDATORY
    for name, dtype in focus.schema.items():
        spec = BY_NAME.get(name)
        if spec is None:
            continue
        assert isinstance(dtype, POLARS_TYPES[spec.data_type]) or dtype == POLARS_TYPES[spec.data_type], name
        if spec.data_type == "DateTime":
            assert dtype.time_zone == "UTC", name  # type: ignore[attr-defined]


def test_export_respects_nullability_and_allowed_values(focus: pl.DataFrame) -> None:
    for name in focus.columns:
        spec = BY_NAME.get(name)
        if spec is None:
            continue
        if not spec.nullable:
            assert focus[name].null_count() == 0, name
        if spec.allowed is not None:
            assert set(focus[name].drop_nulls().to_list()) <= spec.allowed, name
    assert set(focus["ChargeCategory"]) == {"Usage"}
    assert set(focus["ServiceCategory"]) <= {"AI and Machine Learning", "Storage"}
    for category, sub in zip(focus["ServiceCategory"], focus["ServiceSubcategory"], strict=True):
        assert sub in SERVICE_SUBCATEGORIES[category]
    validate_focus(focus)


def test_focus_columns_come_first_and_custom_ones_are_x_prefixed(focus: pl.DataFrame) -> None:
    kinds = ["focus" if c in BY_NAME else "custom" for c in focus.columns]
    assert kinds == sorted(kinds, key=lambda k: k != "focus")
    custom = [c for c in focus.columns if c not in BY_NAME]
    assert all(c.startswith("x_") for c in custom)
    assert {"x_RunId", "x_StepRunId", "x_ModelVersion", "x_DatasetVersion"} <= set(custom)
    assert "churn@2" in focus["x_ModelVersion"].to_list()


def test_export_money_and_periods_are_consistent(book: PriceBook, make_usage: Make) -> None:
    costs = price_usage([make_usage(bytes_read=123_456_789), make_usage(gpu_s=7.0, gpu_model="T4")], book)
    focus = to_focus(costs, book)
    billed = sum(int(v * 1_000_000) for v in focus["BilledCost"].to_list())
    assert billed == costs["cost_micros"].sum()
    assert (focus["BilledCost"] == focus["EffectiveCost"]).all()
    assert (focus["ListCost"] == focus["ContractedCost"]).all()
    assert (focus["ChargePeriodStart"] < focus["ChargePeriodEnd"]).all()
    assert (focus["BillingPeriodStart"] <= focus["ChargePeriodStart"]).all()
    assert (focus["ChargePeriodStart"] < focus["BillingPeriodEnd"]).all()
    assert set(focus["PricingUnit"]) == {"Core-Hours", "GiB-Hours", "GiB", "GPU-Hours"}


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_round_trip_through_a_file(focus: pl.DataFrame, tmp_path: Path, suffix: str) -> None:
    path = write_focus(focus, tmp_path / f"costs{suffix}")
    back = read_focus(path)
    assert back.height == focus.height
    rows = allocate_focus_rows(back)
    assert set(rows["project"]) == {"churn", "fraud"}
    assert rows["billed_micros"].sum() == sum(int(v * 1_000_000) for v in focus["BilledCost"].to_list())
    if suffix == ".csv":
        assert "Z" in path.read_text().splitlines()[1]


def test_unknown_output_format_is_refused(focus: pl.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"parquet or \.csv"):
        write_focus(focus, tmp_path / "costs.xlsx")
    with pytest.raises(InvalidInputError, match=r"parquet or \.csv"):
        read_focus(tmp_path / "costs.xlsx")


def test_import_missing_mandatory_columns_lists_them_all(focus: pl.DataFrame, tmp_path: Path) -> None:
    path = write_focus(focus.drop("BilledCost", "ServiceName", "ChargePeriodEnd"), tmp_path / "bill.csv")
    with pytest.raises(InvalidInputError) as err:
        read_focus(path)
    message = str(err.value)
    for name in ("BilledCost", "ServiceName", "ChargePeriodEnd"):
        assert name in message
    assert "nothing was imported" in message


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        (
            "ChargeCategory",
            "Refund",
            "row 1, column ChargeCategory: 'Refund' is not an allowed FOCUS 1.2 value",
        ),
        (
            "ServiceCategory",
            "Quantum Stuff",
            "row 1, column ServiceCategory: 'Quantum Stuff' is not an allowed",
        ),
        ("BillingAccountId", None, "row 1, column BillingAccountId: null is null; FOCUS 1.2 does not allow"),
        ("BilledCost", "twelve", "row 1, column BilledCost: 'twelve' is not a Decimal"),
        ("BilledCost", "+12", "row 1, column BilledCost: '\\+12' is not a Decimal"),
        ("BilledCost", "1e20", "row 1, column BilledCost: '1e20' is out of range"),
        ("ChargePeriodStart", "yesterday", "row 1, column ChargePeriodStart: 'yesterday' is not a DateTime"),
        (
            "Tags",
            "project=churn",
            "row 1, column Tags: 'project=churn' is not a JSON object of scalar values",
        ),
        ("Tags", '{"a": {"b": 1}}', "row 1, column Tags: .* is not a JSON object of scalar values"),
        (
            "ServiceSubcategory",
            "Data Transfer",
            "row 1, column ServiceSubcategory: 'Data Transfer' is not an",
        ),
    ],
)
def test_import_refuses_invalid_values(
    focus: pl.DataFrame, tmp_path: Path, column: str, value: str | None, expected: str
) -> None:
    path = write_focus(focus, tmp_path / "bill.csv")
    frame = pl.read_csv(path, infer_schema=False)
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit(value, dtype=pl.String))
        .otherwise(pl.col(column))
        .alias(column)
    )
    frame.write_csv(path)
    with pytest.raises(InvalidInputError, match=expected):
        read_focus(path)


def test_import_refuses_unprefixed_custom_columns(focus: pl.DataFrame) -> None:
    with pytest.raises(InvalidInputError, match=r"'Owner' is neither FOCUS 1\.2 nor x_-prefixed"):
        validate_focus(focus.with_columns(pl.lit("me").alias("Owner")))


def test_allocation_by_tags_and_default_project(focus: pl.DataFrame) -> None:
    untagged = focus.with_columns(pl.lit('{"cost_centre": "cc7"}').alias("Tags"))
    with pytest.raises(InvalidInputError, match="no project tag"):
        allocate_focus_rows(untagged)
    rows = allocate_focus_rows(untagged, default_project="shared-cloud")
    assert set(rows["project"]) == {"shared-cloud"}
    provider_tags = focus.with_columns(pl.lit('{"triops-project": "vision", "team": "cv"}').alias("Tags"))
    rows = allocate_focus_rows(provider_tags)
    assert set(rows["project"]) == {"vision"}
    assert set(rows["team"]) == {"cv"}


def test_import_accepts_iso_times_with_an_offset(focus: pl.DataFrame, tmp_path: Path) -> None:
    path = write_focus(focus, tmp_path / "bill.csv")
    frame = pl.read_csv(path, infer_schema=False)
    offset = frame.with_columns(pl.col("ChargePeriodStart").str.replace("Z$", "+00:00"))
    offset.write_csv(path)
    rows = allocate_focus_rows(read_focus(path))
    assert (
        rows["charge_period_start_ms"].to_list()
        == allocate_focus_rows(frame)["charge_period_start_ms"].to_list()
    )


def test_streamed_csv_is_the_file_and_stops_when_closed(
    book: PriceBook, make_usage: Make, tmp_path: Path
) -> None:
    """The CSV the server streams (made as text, ``focus_csv``) is byte for byte the file ``write_focus``
    writes; closing the stream early (a client that went away) leaves no thread behind."""
    import threading

    from triops.finops.focus import focus_plan, focus_rows, stream_focus_csv

    usage = [make_usage(project="churn", step=f"s{i}") for i in range(2_000)]
    costs = price_usage(usage, book)
    written = write_focus(focus_plan(costs, book), tmp_path / "focus.csv").read_bytes()
    streamed = b"".join(stream_focus_csv(costs, book, chunk_bytes=1 << 16))
    assert streamed == written
    assert streamed.count(b"\n") - 1 == focus_rows(costs)
    before = threading.active_count()
    chunks = stream_focus_csv(costs, book, chunk_bytes=1 << 12)
    assert next(chunks)
    chunks.close()
    assert threading.active_count() == before
