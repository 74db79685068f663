"""Pricing usage into cost records, rollups, allocation tags, shared costs and currencies."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.finops.conftest import NOV_2, SIMPLE_CATALOG, write_catalog

from triops.domain.usage import UsageRecord
from triops.errors import InvalidInputError
from triops.finops.costs import check_required_tags, cost_lines, price_usage, usage_frame
from triops.finops.prices import PriceBook, default_catalog_path, load_price_book
from triops.finops.rollups import allocate_shared, attribute_runs, filter_period, period_bounds_ms, rollup

Make = Callable[..., UsageRecord]
DEFAULT_BOOK = load_price_book(default_catalog_path())


def test_one_record_is_priced_by_hand(book: PriceBook, make_usage: Make) -> None:
    # 1 core for 1 h at 0.036 + 1 GiB for 1 h at 0.0036 + 0.5 GiB moved at 0.1 = 0.0896 USD
    rec = make_usage(bytes_read=1 << 29)
    costs = price_usage([rec], book)
    row = costs.row(0, named=True)
    assert row["cpu_micros"] == 36_000
    assert row["memory_micros"] == 3_600
    assert row["network_micros"] == 50_000
    assert row["gpu_micros"] == 0
    assert row["cost_micros"] == 89_600
    assert row["currency"] == "USD"
    assert row["team"] == "ml"
    assert row["catalog_version"] == "test-1"


def test_charges_the_larger_of_requested_and_used(book: PriceBook, make_usage: Make) -> None:
    over = make_usage(requested_cpu=0.5, cpu_s=7200.0, requested_memory_gb=0.5, peak_rss_bytes=2 << 30)
    row = price_usage([over], book).row(0, named=True)
    assert row["cpu_core_hours"] == pytest.approx(2.0)
    assert row["memory_gib_hours"] == pytest.approx(2.0)
    assert row["cpu_micros"] == 72_000


def test_gpu_hours_are_priced_per_gpu_model(book: PriceBook, make_usage: Make) -> None:
    row = price_usage([make_usage(gpu_s=1800.0, gpu_model="T4")], book).row(0, named=True)
    assert row["gpu_micros"] == 180_000
    lines = cost_lines(price_usage([make_usage(gpu_s=1800.0, gpu_model="T4")], book))
    assert "gpu_hour:T4" in lines["resource"].to_list()
    assert lines["line_micros"].sum() == row["cost_micros"]


def test_missing_gpu_price_names_resource_and_catalog(book: PriceBook, make_usage: Make) -> None:
    with pytest.raises(InvalidInputError) as err:
        price_usage([make_usage(gpu_s=10.0, gpu_model="H100")], book)
    assert "gpu_hour:H100" in str(err.value)
    assert book.path in str(err.value)


def test_missing_resource_in_environment_names_it(tmp_path: Path, make_usage: Make) -> None:
    text = SIMPLE_CATALOG.replace(
        'environment = "eu"\nresource = "network_gib"', 'environment = "eu"\nresource = "storage_gib_month"'
    )
    book = load_price_book(write_catalog(tmp_path, text))
    with pytest.raises(InvalidInputError) as err:
        price_usage([make_usage(environment="eu", bytes_written=100)], book)
    assert "'network_gib'" in str(err.value)
    assert "'eu'" in str(err.value)
    assert str(tmp_path / "prices.toml") in str(err.value)


def test_unused_resource_needs_no_price(tmp_path: Path, make_usage: Make) -> None:
    text = SIMPLE_CATALOG.replace(
        'environment = "eu"\nresource = "network_gib"', 'environment = "eu"\nresource = "storage_gib_month"'
    )
    book = load_price_book(write_catalog(tmp_path, text))
    assert price_usage([make_usage(environment="eu")], book)["cost_micros"].to_list() == [72_000]


def test_unknown_environment_is_refused(book: PriceBook, make_usage: Make) -> None:
    with pytest.raises(InvalidInputError, match="'mars' is not in the price catalog"):
        price_usage([make_usage(environment="mars")], book)


def test_price_changes_with_effective_date(tmp_path: Path, make_usage: Make) -> None:
    text = (
        SIMPLE_CATALOG.replace(
            'unit_price = "0.036"\neffective_from = 2026-01-01',
            'unit_price = "0.036"\neffective_from = 2026-01-01\neffective_to = 2026-11-02',
        )
        + '[[prices]]\nenvironment = "lab"\nresource = "cpu_core_hour"\nunit_price = "0.018"\n'
        + 'effective_from = 2026-11-02\nsource = "cut"\n'
    )
    book = load_price_book(write_catalog(tmp_path, text))
    before = make_usage(started_ms=NOV_2 - 86_400_000)
    after = make_usage()
    costs = price_usage([before, after], book)
    assert costs["cpu_micros"].to_list() == [36_000, 18_000]


def test_a_million_small_charges_add_up_exactly(tmp_path: Path) -> None:
    text = SIMPLE_CATALOG.replace('unit_price = "0.036"', 'unit_price = "0.0108"')
    book = load_price_book(write_catalog(tmp_path, text))
    n = 1_000_000
    frame = pl.DataFrame({"i": pl.int_range(n, eager=True)}).select(
        pl.col("i").cast(pl.String).alias("id"),
        pl.lit("r").alias("run_id"),
        pl.lit(None, dtype=pl.String).alias("step_run_id"),
        pl.lit("p").alias("project"),
        pl.lit("train").alias("pipeline"),
        pl.lit("fit").alias("step"),
        pl.lit(NOV_2).alias("started_ms"),
        pl.lit(NOV_2 + 1000).alias("ended_ms"),
        pl.lit(1.0).alias("wall_s"),
        pl.lit(0.0).alias("cpu_s"),
        pl.lit(0).alias("peak_rss_bytes"),
        pl.lit(0).alias("bytes_read"),
        pl.lit(0).alias("bytes_written"),
        pl.lit(0.0).alias("gpu_s"),
        pl.lit(None, dtype=pl.String).alias("gpu_model"),
        pl.lit(1.0).alias("requested_cpu"),
        pl.lit(0.0).alias("requested_memory_gb"),
        pl.lit("lab").alias("environment"),
        pl.lit("{}").alias("tags"),
    )
    costs = price_usage(frame, book)
    # 1 core-second at 0.0108 per core-hour = 0.000003 USD = 3 micros, a million times
    assert costs["cost_micros"].unique().to_list() == [3]
    total = rollup(costs, "project")["cost_micros"].to_list()
    assert total == [3_000_000]
    assert Decimal(total[0]) / 1_000_000 == Decimal("3")


def test_rollups_by_step_run_project_model_and_dataset(book: PriceBook, make_usage: Make) -> None:
    records = [
        make_usage(run_id="a", step="prep", tags={"team": "ml", "dataset": "ds@1"}),
        make_usage(run_id="a", step="fit", tags={"team": "ml", "model_version": "churn@1"}),
        make_usage(
            run_id="b", step="fit", project="fraud", tags={"team": "risk", "model_version": "fraud@3"}
        ),
    ]
    costs = price_usage(records, book)
    assert rollup(costs, "run").filter(pl.col("run_id") == "a")["cost_micros"].item() == 2 * 39_600
    assert set(rollup(costs, "step")["step"].to_list()) == {"prep", "fit"}
    assert rollup(costs, "project").filter(pl.col("project") == "fraud")["records"].item() == 1
    assert set(rollup(costs, "model")["model_version"].drop_nulls().to_list()) == {"churn@1", "fraud@3"}
    assert rollup(costs, "dataset").filter(pl.col("dataset") == "ds@1")["cost_micros"].item() == 39_600
    assert set(rollup(costs, "team")["team"].to_list()) == {"ml", "risk"}
    with pytest.raises(InvalidInputError, match="cannot roll up by 'colour'"):
        rollup(costs, "colour")


def test_mixed_currencies_without_a_rate_are_refused(book: PriceBook, make_usage: Make) -> None:
    costs = price_usage([make_usage(), make_usage(environment="eu")], book)
    with pytest.raises(InvalidInputError, match=r"more than one currency \(EUR, USD\)"):
        rollup(costs, "project")
    with pytest.raises(InvalidInputError, match="no exchange rate from EUR to USD"):
        rollup(costs, "project", currency="USD", rates={"GBP": Decimal("1.2")})


def test_mixed_currencies_with_a_rate_are_converted(book: PriceBook, make_usage: Make) -> None:
    costs = price_usage([make_usage(), make_usage(environment="eu")], book)
    # lab: 39,600 USD micros; eu: 72,000 EUR micros * 1.1 = 79,200 USD micros
    out = rollup(costs, "project", currency="USD", rates={"EUR": Decimal("1.1")})
    assert out["cost_micros"].to_list() == [39_600 + 79_200]
    assert out["currency"].to_list() == ["USD"]


def test_required_tags_rule_names_missing_tags(book: PriceBook, make_usage: Make) -> None:
    good = make_usage(tags={"team": "ml", "cost_centre": "cc1"})
    bad = make_usage(tags={"team": "ml"})
    blank = make_usage(tags={"team": " ", "cost_centre": "cc1"})
    price_usage([good], book, required_tags=("team", "cost_centre"))
    with pytest.raises(InvalidInputError) as err:
        price_usage([good, bad, blank], book, required_tags=("team", "cost_centre"))
    assert "team (1)" in str(err.value)
    assert "cost_centre (1)" in str(err.value)
    assert bad.id in str(err.value)
    frame = usage_frame([bad]).drop("cost_centre")
    with pytest.raises(InvalidInputError, match="cost_centre"):
        check_required_tags(frame, ["cost_centre"])


def test_shared_cost_is_allocated_in_proportion_and_adds_up(book: PriceBook, make_usage: Make) -> None:
    costs = price_usage([make_usage(project="a"), make_usage(project="b", wall_s=7200.0)], book)
    shares = allocate_shared(costs, 1_000_000, "USD")
    assert sum(shares.values()) == 1_000_000
    assert shares["b"] == pytest.approx(2 * shares["a"], abs=1)
    with pytest.raises(InvalidInputError, match="no EUR usage"):
        allocate_shared(costs, 10, "EUR")
    with pytest.raises(InvalidInputError, match="negative"):
        allocate_shared(costs, -1, "USD")


@settings(deadline=None, max_examples=60)
@given(
    amount=st.integers(min_value=0, max_value=10**12),
    weights=st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=8),
)
def test_shared_allocation_always_sums_exactly(amount: int, weights: list[int]) -> None:
    costs = pl.DataFrame(
        {
            "project": [f"p{i}" for i in range(len(weights))],
            "currency": "USD",
            "cost_micros": weights,
            "usage_id": [str(i) for i in range(len(weights))],
        }
    )
    shares = allocate_shared(costs, amount, "USD")
    assert sum(shares.values()) == amount
    assert all(v >= 0 for v in shares.values())


def test_period_bounds_and_filter(book: PriceBook, make_usage: Make) -> None:
    start, end = period_bounds_ms("2026-11")
    assert end - start == 30 * 86_400_000
    q_start, q_end = period_bounds_ms("2026-Q4")
    assert (q_start, q_end) == (period_bounds_ms("2026-10")[0], period_bounds_ms("2027-01")[0])
    assert period_bounds_ms("2026")[1] == period_bounds_ms("2027-01")[0]
    costs = price_usage([make_usage()], book)
    assert filter_period(costs, "2026-11").height == 1
    assert filter_period(costs, "2026-10").height == 0
    for bad in ("2026-13", "Nov", "2026-Q5"):
        with pytest.raises(InvalidInputError, match="period"):
            period_bounds_ms(bad)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("wall_s", -1.0, "wall_s"),
        ("bytes_read", -5, "bytes_read"),
        ("cpu_s", float("nan"), "cpu_s"),
        ("ended_ms", NOV_2 - 1, "ends"),
        ("gpu_s", 3.0, "gpu_model"),
    ],
)
def test_malformed_usage_records_are_refused(
    make_usage: Make, field: str, value: object, message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        make_usage(**{field: value})


def test_empty_usage_gives_empty_costs(book: PriceBook) -> None:
    assert price_usage([], book).height == 0


def test_costs_are_attributed_to_model_versions_through_their_runs(book: PriceBook, make_usage: Make) -> None:
    costs = price_usage([make_usage(run_id="a"), make_usage(run_id="b", tags={"model_version": "x@9"})], book)
    out = attribute_runs(costs, {"a": "churn@1", "b": "churn@2"})
    assert out["model_version"].to_list() == ["churn@1", "x@9"]
    assert rollup(out, "model").height == 2
    with pytest.raises(InvalidInputError, match="cannot attribute"):
        attribute_runs(costs, {}, "team")


@settings(deadline=None, max_examples=60)
@given(
    wall=st.floats(min_value=0, max_value=86_400),
    cpu=st.floats(min_value=0, max_value=200_000),
    req_cpu=st.floats(min_value=0, max_value=64),
    rss=st.integers(min_value=0, max_value=1 << 40),
    req_mem=st.floats(min_value=0, max_value=512),
    moved=st.integers(min_value=0, max_value=1 << 40),
)
def test_each_charge_is_within_half_a_micro_of_exact_decimal_math(
    wall: float, cpu: float, req_cpu: float, rss: int, req_mem: float, moved: int
) -> None:
    book = DEFAULT_BOOK
    rec = UsageRecord(
        "u",
        "r",
        None,
        "p",
        None,
        None,
        NOV_2,
        NOV_2 + int(wall * 1000),
        wall,
        cpu,
        rss,
        moved,
        0,
        0.0,
        None,
        req_cpu,
        req_mem,
        "gcp-us-central1",
        {},
    )
    row = price_usage([rec], book).row(0, named=True)
    day = datetime.fromtimestamp(NOV_2 / 1000, UTC).date()
    w = Decimal(wall)
    exact = {
        "cpu_micros": max(Decimal(req_cpu) * w, Decimal(cpu))
        / 3600
        * book.lookup("gcp-us-central1", "cpu_core_hour", day).unit_price,
        "memory_micros": max(Decimal(req_mem), Decimal(rss) / (1 << 30))
        * w
        / 3600
        * book.lookup("gcp-us-central1", "memory_gib_hour", day).unit_price,
        "network_micros": Decimal(moved)
        / (1 << 30)
        * book.lookup("gcp-us-central1", "network_gib", day).unit_price,
    }
    for column, value in exact.items():
        assert abs(Decimal(row[column]) - value * 1_000_000) <= Decimal("0.5001"), column
    assert row["cost_micros"] == row["cpu_micros"] + row["memory_micros"] + row["network_micros"]
