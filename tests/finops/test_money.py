"""Money a person can read: symbols, thousands separators, precision by magnitude, columns that add up as
printed, and conversion with the catalog's dated rates (or a refusal naming the currency)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triops.errors import ConfigError, InvalidInputError
from triops.finops.money import format_column, format_money, round_parts
from triops.finops.prices import load_price_book
from triops.finops.rollups import convert_micros


@pytest.mark.parametrize(
    ("micros", "currency", "shown"),
    [
        (46, "EUR", "€0.000046"),  # a step's cost: the digits are the point
        (50_000_000, "EUR", "€50.00"),  # a budget
        (1_234_567_891, "EUR", "€1,234.57"),
        (39_600, "USD", "$0.0396"),
        (-3_100_000, "USD", "-$3.10"),
        (1_200_000_000, "CHF", "1,200.00 CHF"),
        (1_500_000_000, "JPY", "¥1,500"),
        (0, "EUR", "€0.00"),
    ],
)
def test_amounts_read_as_people_write_them(micros: int, currency: str, shown: str) -> None:
    assert format_money(micros, currency) == shown


def test_a_column_adds_up_as_printed() -> None:
    lines, total = format_column([333_333_333, 333_333_333, 333_333_334], "EUR")
    assert lines == ["€333.33", "€333.33", "€333.34"]
    assert total == "€1,000.00"


@given(st.lists(st.integers(min_value=0, max_value=10**13), min_size=1, max_size=30), st.integers(0, 6))
def test_rounded_parts_always_add_up_to_the_rounded_total(amounts: list[int], decimals: int) -> None:
    parts = round_parts(amounts, decimals)
    step = 10 ** (6 - decimals)
    assert all(p % step == 0 for p in parts)
    assert abs(sum(parts) - sum(amounts)) <= step // 2
    assert all(abs(p - a) < step for p, a in zip(parts, amounts, strict=True))


RATES = {"USD": Decimal("0.92"), "GBP": Decimal("1.16")}  # EUR per one unit; EUR is the base


def test_conversion_goes_through_the_base_currency() -> None:
    assert convert_micros(1_000_000, "USD", "EUR", RATES) == 920_000
    assert convert_micros(920_000, "EUR", "USD", RATES) == 1_000_000
    assert convert_micros(1_160_000, "GBP", "USD", RATES) == 1_462_609  # 1.16 * 1.16 / 0.92
    with pytest.raises(InvalidInputError, match="no exchange rate from CHF to JPY"):
        convert_micros(1, "CHF", "JPY", RATES)


def test_a_catalog_with_rates_must_say_their_date_and_source(tmp_path: Path) -> None:
    base = 'version = "t"\n[environments.e]\nkind = "on-prem"\ncurrency = "EUR"\n'
    path = tmp_path / "p.toml"
    path.write_text(base + '[rates]\nUSD = "0.92"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="needs base_currency, rates_date and rates_source"):
        load_price_book(path)
    dated = 'base_currency = "EUR"\nrates_date = 2026-11-02\nrates_source = "ECB reference rates"\n'
    path.write_text(
        'version = "t"\n' + dated + base.split("\n", 1)[1] + '[rates]\nUSD = "0.92"\n', encoding="utf-8"
    )
    book = load_price_book(path)
    assert book.rates_note == "rates of 2026-11-02 (ECB reference rates), base EUR"


def test_the_scorecard_never_adds_currencies_unconverted(tmp_path: Path) -> None:
    from triops.domain.usage import UsageRecord
    from triops.finops.service import FinOpsService
    from triops.kpis import scorecard
    from triops.store.engine import create_store
    from triops.store.migrate import upgrade

    store = create_store(f"sqlite:///{tmp_path}/s.db")
    upgrade(store)
    svc = FinOpsService(store, load_price_book())
    base = {"step_run_id": None, "pipeline": "p", "step": "s", "started_ms": 1_790_000_000_000,
            "ended_ms": 1_790_000_000_000, "wall_s": 3600.0, "cpu_s": 3600.0, "peak_rss_bytes": 0,
            "bytes_read": 0, "bytes_written": 0, "gpu_s": 0.0, "gpu_model": None, "requested_cpu": 1.0,
            "requested_memory_gb": 0.0}  # fmt: skip
    svc.record_usage([UsageRecord(id="u1", run_id="r1", project="a", environment="local", **base)])
    [_, _, eur, _] = scorecard(store).kpis
    assert eur.unit == "EUR" and eur.value is not None
    svc.record_usage([UsageRecord(id="u2", run_id="r2", project="a", environment="gcp-us-central1", **base)])
    [_, _, mixed, _] = scorecard(store, currency="EUR").kpis
    assert mixed.value is None and "costs are in EUR, USD" in mixed.source
    [_, _, converted, _] = scorecard(store, currency="EUR", rates={"USD": Decimal("0.5")}).kpis
    assert converted.value is not None and converted.unit == "EUR"
