"""The price catalog: the bundled default, effective dates, on-prem amortisation and bad catalogs."""

from __future__ import annotations

import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from tests.finops.conftest import SIMPLE_CATALOG, write_catalog

from triops.errors import ConfigError, InvalidInputError
from triops.finops.prices import default_catalog_path, load_price_book


def test_default_catalog_loads_and_every_price_names_its_source() -> None:
    book = load_price_book()
    assert book.version
    assert {"local", "gcp-us-central1", "aws-us-east-1", "onprem-example"} <= set(book.environments)
    for row in book.rows:
        assert row.source, row
    cloud = [r for r in book.rows if book.environments[r.environment].kind == "cloud"]
    assert cloud
    for row in cloud:
        assert row.source.startswith("https://"), row
        assert row.source_date is not None, row


def test_default_catalog_covers_every_resource_in_every_environment() -> None:
    book = load_price_book()
    for env in book.environments:
        for resource in ("cpu_core_hour", "memory_gib_hour", "network_gib", "storage_gib_month"):
            assert book.lookup(env, resource, date(2026, 11, 1)).unit_price >= 0


def test_onprem_price_is_amortised_purchase_plus_power_over_utilisation(tmp_path: Path) -> None:
    text = """
version = "1"
[environments.dc]
kind = "on-prem"
currency = "EUR"
[[onprem]]
environment = "dc"
resource = "cpu_core_hour"
purchase_price = "8760"
lifetime_years = "1"
units = "2"
power_watts = "1000"
power_price_kwh = "0.5"
utilisation = "0.5"
effective_from = 2026-01-01
source = "invoice 42"
"""
    book = load_price_book(write_catalog(tmp_path, text))
    row = book.lookup("dc", "cpu_core_hour", date(2026, 6, 1))
    # (8760 / 8760 h + 1 kW * 0.5) / 0.5 utilisation / 2 cores = 1.5 EUR per core-hour
    assert row.unit_price == Decimal("1.5")
    assert row.currency == "EUR"
    assert row.derivation
    assert "utilisation" in row.derivation


def test_lookup_follows_effective_dates(tmp_path: Path) -> None:
    text = (
        SIMPLE_CATALOG.replace(
            'unit_price = "0.036"\neffective_from = 2026-01-01',
            'unit_price = "0.036"\neffective_from = 2026-01-01\neffective_to = 2026-07-01',
        )
        + """
[[prices]]
environment = "lab"
resource = "cpu_core_hour"
unit_price = "0.030"
effective_from = 2026-07-01
source = "price cut"
"""
    )
    book = load_price_book(write_catalog(tmp_path, text))
    assert book.lookup("lab", "cpu_core_hour", date(2026, 6, 30)).unit_price == Decimal("0.036")
    assert book.lookup("lab", "cpu_core_hour", date(2026, 7, 1)).unit_price == Decimal("0.030")


def test_overlapping_effective_dates_are_refused_naming_both_ranges(tmp_path: Path) -> None:
    text = (
        SIMPLE_CATALOG
        + """
[[prices]]
environment = "lab"
resource = "cpu_core_hour"
unit_price = "0.030"
effective_from = 2026-06-01
effective_to = 2026-09-01
source = "overlapping"
"""
    )
    path = write_catalog(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_price_book(path)
    message = str(err.value)
    assert "overlap" in message
    assert "2026-01-01..open" in message
    assert "2026-06-01..2026-09-01" in message
    assert str(path) in message


def test_missing_resource_names_resource_and_catalog_file(tmp_path: Path) -> None:
    path = write_catalog(tmp_path)
    book = load_price_book(path)
    with pytest.raises(InvalidInputError) as err:
        book.lookup("lab", "gpu_hour:H100", date(2026, 11, 2))
    assert "gpu_hour:H100" in str(err.value)
    assert str(path) in str(err.value)


def test_price_before_its_effective_date_is_missing(tmp_path: Path) -> None:
    book = load_price_book(write_catalog(tmp_path))
    with pytest.raises(InvalidInputError, match="2025-12-31"):
        book.lookup("lab", "cpu_core_hour", date(2025, 12, 31))


def test_unknown_environment_lists_the_known_ones(tmp_path: Path) -> None:
    book = load_price_book(write_catalog(tmp_path))
    with pytest.raises(InvalidInputError, match="eu, lab"):
        book.environment("mars")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('currency = "USD"', 'currency = "dollars"'), "ISO 4217"),
        (('resource = "network_gib"', 'resource = "bandwidth"'), "unknown resource"),
        (('unit_price = "0.1"', 'unit_price = "-0.1"'), "greater than or equal to 0"),
        (
            (
                'environment = "eu"\nresource = "cpu_core_hour"',
                'environment = "moon"\nresource = "cpu_core_hour"',
            ),
            "not declared",
        ),
        (('source = "test"', 'sauce = "test"'), "sauce"),
    ],
)
def test_malformed_catalog_is_refused_naming_the_file(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    path = write_catalog(tmp_path, SIMPLE_CATALOG.replace(*change, 1))
    with pytest.raises(ConfigError) as err:
        load_price_book(path)
    assert expected in str(err.value)
    assert str(path) in str(err.value)


def test_unparsable_and_missing_catalog_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_price_book(write_catalog(tmp_path, "version = "))
    with pytest.raises(ConfigError, match="cannot read price catalog"):
        load_price_book(tmp_path / "absent.toml")


def test_empty_range_is_refused(tmp_path: Path) -> None:
    text = SIMPLE_CATALOG.replace(
        'unit_price = "0.1"\neffective_from = 2026-01-01',
        'unit_price = "0.1"\neffective_from = 2026-01-01\neffective_to = 2026-01-01',
    )
    with pytest.raises(ConfigError, match="empty range"):
        load_price_book(write_catalog(tmp_path, text))


def test_default_catalog_file_is_plain_toml_shipped_with_the_package() -> None:
    data = tomllib.loads(default_catalog_path().read_text(encoding="utf-8"))
    assert data["version"]
