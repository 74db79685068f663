"""The FOCUS export checked against the FOCUS 1.2 documents themselves (../shared/specs/focus-1.2): column
ids, feature levels, nullability, data types, allowed values, the Unit and Date/Time formats and the
columns' own conformance rules. Nothing here reads triops' column table.

The tests after those need no file: FOCUS 1.2 facts written out by hand from the published spec."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from triops.domain.usage import UsageRecord
from triops.errors import InvalidInputError
from triops.finops.costs import price_usage
from triops.finops.focus import read_focus, to_focus, write_focus
from triops.finops.prices import PriceBook

Make = Callable[..., UsageRecord]

SPEC = Path(__file__).resolve().parents[3] / "shared" / "specs" / "focus-1.2"
needs_spec = pytest.mark.skipif(
    not (SPEC / "columns").is_dir(), reason=f"the FOCUS 1.2 documents are not at {SPEC} (../shared/specs)"
)


def _table_rows(text: str, after: str) -> list[list[str]]:
    """Rows of the first Markdown table after the line starting with ``after`` (header and rule dropped)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().lower().startswith(after.lower()))
    rows: list[list[str]] = []
    first = start if lines[start].lstrip().startswith("|") else start + 1
    for line in lines[first:]:
        if not line.strip():
            if rows:
                break
            continue
        if not line.lstrip().startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return [r for r in rows[2:]]


def spec_columns() -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for path in sorted((SPEC / "columns").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        if "## Column ID" not in text:
            continue
        column_id = text.split("## Column ID", 1)[1].strip().splitlines()[0].strip()
        constraints = {
            key: re.search(rf"^\|\s*{key}\s*\|\s*([^|]+?)\s*\|", text, re.MULTILINE).group(1)  # type: ignore[union-attr]
            for key in ("Feature level", "Allows nulls", "Data type")
        }
        allowed = None
        if re.search(r"^Allowed values", text, re.IGNORECASE | re.MULTILINE):
            allowed = {
                r[0] if column_id != "ServiceSubcategory" else (r[0], r[1])
                for r in _table_rows(text, "Allowed values")
            }
        out[column_id] = {
            "level": constraints["Feature level"],
            "nulls": constraints["Allows nulls"] == "True",
            "type": constraints["Data type"],
            "allowed": allowed,
        }
    return out


@pytest.fixture
def exported(book: PriceBook, make_usage: Make, tmp_path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    usage = [
        make_usage(bytes_read=123_456_789, tags={"team": "ml", "model_version": "churn/2", "dataset": "d/1"}),
        make_usage(gpu_s=7.0, gpu_model="T4", wall_s=0.004, cpu_s=0.003),
        make_usage(project="fraud", run_id="r2", step="fit", wall_s=1234.5, cpu_s=999.0),
    ]
    focus = to_focus(price_usage(usage, book), book)
    csv = pl.read_csv(write_focus(focus, tmp_path / "focus.csv"), infer_schema=False)
    return focus, csv


@needs_spec
def test_columns_levels_nulls_and_types_match_the_spec(exported: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    focus, csv = exported
    spec = spec_columns()
    assert len(spec) == 57
    mandatory = {name for name, c in spec.items() if c["level"] == "Mandatory"}
    assert mandatory <= set(focus.columns)
    focus_cols = [c for c in focus.columns if c in spec]
    assert focus.columns[: len(focus_cols)] == focus_cols  # FOCUS columns first
    for name in focus.columns[len(focus_cols) :]:
        assert name.startswith("x_"), name
    for name in focus_cols:
        column = spec[name]
        if not column["nulls"]:
            assert focus[name].null_count() == 0, name
            assert (csv[name].fill_null("") != "").all(), name  # no empty strings for nulls either
        dtype = focus[name].dtype
        if column["type"] == "Decimal":
            assert isinstance(dtype, pl.Decimal), name
            assert csv[name].drop_nulls().str.contains(r"^-?\d+(\.\d+)?$").all(), name
        elif column["type"] == "Date/Time":
            assert isinstance(dtype, pl.Datetime) and dtype.time_zone == "UTC", name
            assert csv[name].str.contains(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$").all(), name
        elif column["type"] == "JSON":
            for text in csv[name].drop_nulls():
                value = json.loads(text)
                assert isinstance(value, dict)
                assert not any(isinstance(v, dict | list) for v in value.values())
        else:
            assert column["type"] == "String" and dtype == pl.String, name


@needs_spec
def test_values_are_the_ones_the_spec_allows(exported: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    focus, _ = exported
    spec = spec_columns()
    for name in focus.columns:
        allowed = spec.get(name, {}).get("allowed")
        if allowed is None or name == "ServiceSubcategory":
            continue
        assert set(focus[name].drop_nulls()) <= allowed, name
    pairs = spec["ServiceSubcategory"]["allowed"]
    assert isinstance(pairs, set)
    used = set(zip(focus["ServiceCategory"], focus["ServiceSubcategory"], strict=True))
    assert used <= pairs
    assert ("Storage", "Block Storage") in used  # a step's local reads and writes are not Networking
    assert all(c != "Networking" for c, _ in used)


@needs_spec
def test_units_follow_the_unit_format(exported: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    focus, _ = exported
    text = (SPEC / "attributes" / "unit_format.md").read_text(encoding="utf-8")
    times = {r[0] for r in _table_rows(text, "| Time ")}
    sizes = {
        re.match(r"(\w+)", cell).group(1) for r in _table_rows(text, "| Data size in bits") for cell in r
    }  # type: ignore[union-attr]
    counts = {r[0] for r in _table_rows(text, "| Count ")}
    plural_times = {t + "s" for t in times}
    for unit in set(focus["PricingUnit"].drop_nulls()) | set(focus["ConsumedUnit"].drop_nulls()):
        if "-" in unit:  # <singular-unit>-<plural-time-units>
            head, tail = unit.split("-", 1)
            assert tail in plural_times, unit
            assert head in sizes or head in counts or head[:1].isupper(), unit
        else:  # <plural-units>
            assert unit in sizes or unit.rstrip("s") in counts, unit


@needs_spec
def test_the_columns_own_conformance_rules_hold(exported: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    focus, _ = exported
    rules = (SPEC / "columns" / "listunitprice.md").read_text(encoding="utf-8")
    assert (
        "The product of ListUnitPrice and [PricingQuantity](#pricingquantity) MUST match the [ListCost]"
        in rules
    )
    usage = focus.filter(pl.col("ChargeCategory") == "Usage")
    one_micro = Decimal("0.000001")
    for row in usage.iter_rows(named=True):
        # costs are exact to the micro-unit; the product of the stated price and quantity matches to that unit
        assert abs(row["ListUnitPrice"] * row["PricingQuantity"] - row["ListCost"]) <= one_micro
        assert abs(row["ContractedUnitPrice"] * row["PricingQuantity"] - row["ContractedCost"]) <= one_micro
        assert row["ListUnitPrice"] >= 0 and row["ContractedUnitPrice"] >= 0
        assert (
            row["ConsumedQuantity"] is not None and row["ConsumedUnit"] is not None
        )  # ChargeClass not Correction
        assert row["PricingUnit"] is not None and row["SkuId"] is not None
        assert row["EffectiveCost"] == row["BilledCost"] == row["ListCost"]
        assert row["ChargePeriodStart"] < row["ChargePeriodEnd"]
        assert row["BillingPeriodStart"] <= row["ChargePeriodStart"] < row["BillingPeriodEnd"]


# -- no file needed: FOCUS 1.2 facts from the published spec ----------------------------------------------
def _row(**changes: str) -> dict[str, str]:
    row = {
        "BilledCost": "12.5",
        "BillingAccountId": "acct-1",
        "BillingAccountName": "Main",
        "BillingCurrency": "EUR",
        "BillingPeriodEnd": "2026-12-01T00:00:00Z",
        "BillingPeriodStart": "2026-11-01T00:00:00Z",
        "ChargeCategory": "Usage",
        "ChargeClass": "",
        "ChargeDescription": "disk",
        "ChargePeriodEnd": "2026-11-02T00:00:00Z",
        "ChargePeriodStart": "2026-11-01T00:00:00Z",
        "ContractedCost": "12.5",
        "EffectiveCost": "12.5",
        "InvoiceIssuerName": "Cloud",
        "ListCost": "12.5",
        "PricingQuantity": "250",
        "PricingUnit": "GB-Months",
        "ProviderName": "Cloud",
        "PublisherName": "Cloud",
        "ServiceCategory": "Storage",
        "ServiceName": "Disks",
        "ServiceSubcategory": "Block Storage",
        "Tags": '{"project": "vision"}',
    }
    return {**row, **changes}


def _write(tmp_path: Path, *rows: dict[str, str]) -> Path:
    path = tmp_path / "bill.csv"
    pl.DataFrame(list(rows)).write_csv(path)
    return path


def test_a_valid_focus_1_2_storage_row_is_accepted(tmp_path: Path) -> None:
    assert read_focus(_write(tmp_path, _row())).height == 1


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"ServiceCategory": "Networking", "ServiceSubcategory": "Data Transfer"},
            "'Data Transfer' is not an allowed",
        ),
        ({"ServiceSubcategory": "Virtual Machines"}, "'Virtual Machines' belongs to another ServiceCategory"),
        ({"BillingCurrency": ""}, "row 2, column BillingCurrency: null is null"),
    ],
)
def test_focus_1_2_rules_without_the_documents(
    tmp_path: Path, changes: dict[str, str], expected: str
) -> None:
    path = _write(tmp_path, _row(), _row(**changes))
    with pytest.raises(InvalidInputError, match=expected):
        read_focus(path)
