"""The official ODCS example contracts (``../shared/specs/odcs/examples``, tag v3.0.2 and main): each one
loads — or is refused exactly where the official schema of its apiVersion refuses it — and every rule it
holds either runs against data of its shape or is listed as not checked, by its field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import polars as pl
import pytest
from open_data_contract_standard.model import SchemaProperty

from triops.dataops.checks import check
from triops.dataops.contract_schema import load_yaml
from triops.dataops.contracts import load_contract, parse_contract
from triops.dataops.rules import compile_rules
from triops.errors import DataContractError

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "specs" / "odcs" / "examples"
FILES = sorted(EXAMPLES.rglob("*.odcs.yaml")) if EXAMPLES.is_dir() else []
MISLABELLED = {
    # on the standard's main branch, written in v3.1 forms under apiVersion v3.0.2: the official v3.0.2
    # schema rejects them, and triops says which version they fit
    "latest/data-types/all-data-types.odcs.yaml",
    "latest/quality/column-completeness.odcs.yaml",
    "latest/stakeholders/basic-four-dpo.odcs.yaml",
}
_TYPES: dict[str | None, Any] = {
    "integer": pl.Int64,
    "number": pl.Float64,
    "boolean": pl.Boolean,
    "date": pl.Date,
    "timestamp": pl.Datetime("us"),
    "time": pl.Time,
    "array": pl.List(pl.String),
}


def _dtype(prop: SchemaProperty) -> Any:
    if prop.logicalType == "object" and prop.properties:
        return pl.Struct({str(p.name): _dtype(p) for p in prop.properties})
    return _TYPES.get(prop.logicalType, pl.String)


def _frame(props: list[SchemaProperty]) -> pl.DataFrame:
    schema = {str(p.name): _dtype(p) for p in props}
    return pl.DataFrame({c: [None, None] for c in schema}, schema=schema)


@pytest.mark.skipif(not FILES, reason=f"the official ODCS examples are not at {EXAMPLES}")
@pytest.mark.parametrize("path", FILES, ids=[str(f.relative_to(EXAMPLES)) for f in FILES] if FILES else [])
def test_official_example_loads_and_each_rule_runs_or_is_named(path: Path) -> None:
    name = str(path.relative_to(EXAMPLES))
    if name in MISLABELLED:
        document = load_yaml(path.read_text())
        official = json.loads((EXAMPLES.parent / "v3.0.2.json").read_text())
        assert not jsonschema.Draft201909Validator(official).is_valid(document)
        with pytest.raises(DataContractError, match=r"set apiVersion: v3\.1\.0"):
            load_contract(path)
        # with the apiVersion its forms need, the same document loads and its rules run or are named
        text = path.read_text().replace("apiVersion: v3.0.2", "apiVersion: v3.1.0", 1)
        contract = parse_contract(text, where=name)
    else:
        contract = load_contract(path)
    for obj in contract.schema_ or []:
        rules = compile_rules(contract, obj, skip_unsupported=True)
        for item in rules.skipped:
            assert item.location and item.what and item.reason
        report = check(contract, _frame(list(obj.properties or [])), schema=obj.name, skip_unsupported=True)
        ran = {r.rule for r in report.results}
        named = {s["location"] for s in report.skipped}
        for rule in rules.rules:
            assert rule.id in ran or rule.location in named, f"{rule.id} neither ran nor was named"
        for item in report.skipped:
            assert item["location"].startswith(("schema[", "slaProperties["))


@pytest.mark.skipif(not FILES, reason=f"the official ODCS examples are not at {EXAMPLES}")
def test_the_v3_0_2_examples_name_what_triops_does_not_run() -> None:
    full = load_contract(EXAMPLES / "v3.0.2" / "all" / "full-example.odcs.yaml")
    skipped = {
        s.location: s.what for s in compile_rules(full, full.schema_[0], skip_unsupported=True).skipped
    }  # type: ignore[index]
    assert skipped["schema[0].quality[0].rule"] == "countCheck"  # not a rule ODCS v3.0.2 defines
    assert skipped["slaProperties[5].property"] == "frequency"
    assert "slaProperties[0]" in skipped  # latency on tab1.txn_ref_dt: another object than tbl
    custom = load_contract(EXAMPLES / "v3.0.2" / "quality" / "column-custom.odcs.yaml")
    with pytest.raises(
        DataContractError, match=r"schema\[0\]\.properties\[0\]\.quality\[0\] \(type custom \(engine soda\)\)"
    ):
        compile_rules(custom, custom.schema_[0])  # type: ignore[index]
