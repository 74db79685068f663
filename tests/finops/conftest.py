"""Helpers for FinOps tests: usage records and small price catalogs written to tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from triops.domain.clock import utc_ms
from triops.domain.ids import new_id
from triops.domain.usage import UsageRecord
from triops.finops.prices import PriceBook, load_price_book

NOV_2 = utc_ms(datetime(2026, 11, 2, 10, tzinfo=UTC))

SIMPLE_CATALOG = """
version = "test-1"

[environments.lab]
kind = "cloud"
currency = "USD"
provider = "Lab Cloud"
region = "lab-1"

[environments.eu]
kind = "on-prem"
currency = "EUR"

[[prices]]
environment = "lab"
resource = "cpu_core_hour"
unit_price = "0.036"
effective_from = 2026-01-01
source = "test"

[[prices]]
environment = "lab"
resource = "memory_gib_hour"
unit_price = "0.0036"
effective_from = 2026-01-01
source = "test"

[[prices]]
environment = "lab"
resource = "network_gib"
unit_price = "0.1"
effective_from = 2026-01-01
source = "test"

[[prices]]
environment = "lab"
resource = "gpu_hour:T4"
unit_price = "0.36"
effective_from = 2026-01-01
source = "test"

[[prices]]
environment = "lab"
resource = "storage_gib_month"
unit_price = "0.02"
effective_from = 2026-01-01
source = "test"

[[prices]]
environment = "eu"
resource = "cpu_core_hour"
unit_price = "0.072"
effective_from = 2026-01-01
source = "test"

[[prices]]
environment = "eu"
resource = "memory_gib_hour"
unit_price = "0"
effective_from = 2026-01-01
source = "test"

[[prices]]
environment = "eu"
resource = "network_gib"
unit_price = "0"
effective_from = 2026-01-01
source = "test"
"""


def write_catalog(tmp_path: Path, text: str = SIMPLE_CATALOG, name: str = "prices.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def book(tmp_path: Path) -> PriceBook:
    return load_price_book(write_catalog(tmp_path))


def usage(**overrides: Any) -> UsageRecord:
    """One second-scale step run: 1 core requested for 3600 s, 1 GiB, no I/O, in environment 'lab'."""
    values: dict[str, Any] = {
        "id": new_id(),
        "run_id": "run-1",
        "step_run_id": None,
        "project": "churn",
        "pipeline": "train",
        "step": "fit",
        "started_ms": NOV_2,
        "ended_ms": NOV_2 + 3_600_000,
        "wall_s": 3600.0,
        "cpu_s": 1800.0,
        "peak_rss_bytes": 1 << 29,
        "bytes_read": 0,
        "bytes_written": 0,
        "gpu_s": 0.0,
        "gpu_model": None,
        "requested_cpu": 1.0,
        "requested_memory_gb": 1.0,
        "environment": "lab",
        "tags": {"team": "ml"},
    }
    values.update(overrides)
    if "ended_ms" not in overrides:
        values["ended_ms"] = values["started_ms"] + int(values["wall_s"] * 1000)
    return UsageRecord(**values)


@pytest.fixture
def make_usage() -> Callable[..., UsageRecord]:
    return usage
