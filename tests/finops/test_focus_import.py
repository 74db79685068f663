"""Importing a FOCUS file never counts it twice: the same file, or a billing period already imported, is
refused (nothing stored) or, by choice, replaces the earlier rows."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from triops.errors import InvalidInputError
from triops.finops.prices import load_price_book
from triops.finops.service import FinOpsService
from triops.store.engine import Store


def _bill(tmp_path: Path, name: str, cost: str, month: str = "11") -> Path:
    row = {
        "BilledCost": cost,
        "BillingAccountId": "acct-1",
        "BillingAccountName": "Main",
        "BillingCurrency": "EUR",
        "BillingPeriodEnd": f"2026-{int(month) + 1:02d}-01T00:00:00Z",
        "BillingPeriodStart": f"2026-{month}-01T00:00:00Z",
        "ChargeCategory": "Usage",
        "ChargeClass": None,
        "ChargeDescription": "disk",
        "ChargePeriodEnd": f"2026-{month}-02T00:00:00Z",
        "ChargePeriodStart": f"2026-{month}-01T00:00:00Z",
        "ContractedCost": cost,
        "EffectiveCost": cost,
        "InvoiceIssuerName": "Cloud",
        "ListCost": cost,
        "PricingQuantity": "250",
        "PricingUnit": "GB-Months",
        "ProviderName": "Cloud",
        "PublisherName": "Cloud",
        "ServiceCategory": "Storage",
        "ServiceName": "Disks",
        "ServiceSubcategory": "Block Storage",
        "Tags": '{"project": "vision"}',
    }
    path = tmp_path / name
    pl.DataFrame([row, row]).write_csv(path)
    return path


def _total(svc: FinOpsService) -> int:
    return sum(int(r["cost_micros"]) for r in svc.imported_totals())


def test_the_same_file_twice_is_refused_and_nothing_doubles(store: Store, tmp_path: Path) -> None:
    svc = FinOpsService(store, load_price_book())
    path = _bill(tmp_path, "nov.csv", "10.5")
    svc.import_focus(path)
    assert _total(svc) == 21_000_000
    with pytest.raises(InvalidInputError, match=r"nov\.csv was imported before .*nothing was imported"):
        svc.import_focus(path)
    assert _total(svc) == 21_000_000
    svc.import_focus(path, replace=True)
    assert _total(svc) == 21_000_000


def test_a_billing_period_already_imported_is_refused_or_replaced(store: Store, tmp_path: Path) -> None:
    svc = FinOpsService(store, load_price_book())
    svc.import_focus(_bill(tmp_path, "nov.csv", "10"))
    svc.import_focus(_bill(tmp_path, "oct.csv", "1", month="10"))
    corrected = _bill(tmp_path, "nov-corrected.csv", "12")
    with pytest.raises(InvalidInputError, match="billing period 2026-11 of Cloud account acct-1 is already"):
        svc.import_focus(corrected)
    assert _total(svc) == 22_000_000
    svc.import_focus(corrected, replace=True)
    assert _total(svc) == 26_000_000  # October kept, November replaced
