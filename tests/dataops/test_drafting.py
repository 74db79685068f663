"""``contract init`` drafts for the next batch: plausible ranges, clean value sets, keys, sentinels,
classifications, each with the reason it was inferred."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from triops.dataops.checks import check
from triops.dataops.contracts import parse_contract, schema_object
from triops.dataops.drafting import draft_contract, plausible_range
from triops.dataops.sources import open_source


def _batch(n: int = 400, offset: int = 0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "claim_id": list(range(1 + offset, n + 1 + offset)),
            "age": [18 + (i * 7) % 47 for i in range(n)],
            "share": [((i * 37) % 100) / 100 for i in range(n)],
            "status": ["open", "closed", "pending"] * (n // 3) + ["open"] * (n % 3),
            "region": [" North", "north", "South", "south"] * (n // 4),
            "income": [str(20_000 + i * 13) if i % 50 else "N/A" for i in range(n)],
            "email": [f"user{i}@example.org" for i in range(n)],
        }
    )


def test_draft_reads_the_next_batch_not_this_ones_defects(tmp_path: Path) -> None:
    path = tmp_path / "claims.csv"
    _batch().write_csv(path)
    draft = draft_contract(open_source(path), name="claims")
    text = draft.yaml()
    contract = parse_contract(text)  # valid ODCS v3.1.0, comments and all
    assert contract.apiVersion == "v3.1.0"
    props = {p.name: p for p in schema_object(contract).properties or []}
    assert props["claim_id"].unique is True and props["claim_id"].required is True
    assert props["age"].logicalTypeOptions == {"minimum": 0, "maximum": 90}  # observed 18-64, widened
    assert props["share"].logicalTypeOptions == {"minimum": 0, "maximum": 1}
    assert props["status"].quality and props["status"].quality[0].arguments == {
        "validValues": ["closed", "open", "pending"]
    }
    assert not props["region"].quality  # " North" / "north": not a clean set
    assert props["income"].logicalType == "integer"
    missing = props["income"].quality[0]  # type: ignore[index]
    assert missing.metric == "missingValues" and missing.arguments == {"missingValues": [None, "N/A"]}
    assert props["email"].classification == "restricted"
    notes = {(n.column, n.what) for n in draft.inferences}
    assert ("age", "range 0 to 90") in notes
    assert any(c == "region" and w == "no value set" for c, w in notes)
    assert "# range 0 to 90: observed 18 to 64; widened" in text
    # the next batch (new ids, the same kinds of values) passes the draft
    nxt = tmp_path / "next.csv"
    _batch(300, offset=400).write_csv(nxt)
    report = check(contract, nxt)
    assert report.passed, report.summary()


def test_plausible_ranges() -> None:
    assert plausible_range(18, 64, integer=True)[:2] == (0, 90)
    assert plausible_range(0.1, 0.9, integer=False)[:2] == (0.0, 1.0)
    assert plausible_range(-5, 5, integer=True)[:2] == (-10, 10)
    assert plausible_range(1990, 2020, integer=True)[:2] == (1970, 2040)
