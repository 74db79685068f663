"""Reading and writing ODCS v3 contracts, and the errors for malformed ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from triops.dataops.contracts import (
    draft_contract,
    dump_contract,
    freshness_sla,
    load_contract,
    owner,
    parse_contract,
    schema_object,
    team_name,
)
from triops.dataops.demo import benefits_contract_path
from triops.errors import DataContractError, NotFoundError

from .helpers import PEOPLE


def test_contract_round_trips_through_yaml(tmp_path: Path) -> None:
    contract = parse_contract(PEOPLE)
    again = parse_contract(dump_contract(contract))
    assert again == contract
    assert owner(contract) == "ann"
    assert team_name(contract) == "people-team"
    assert [p.name for p in schema_object(contract).properties or []] == ["id", "age", "state", "email"]


def test_shipped_benefits_contract_loads() -> None:
    contract = load_contract(benefits_contract_path())
    assert contract.id == "benefits"
    assert owner(contract) == "data-steward"


def test_malformed_yaml_names_line_and_column() -> None:
    text = "apiVersion: v3.0.2\nkind: DataContract\nschema:\n  - name: [unclosed\n"
    with pytest.raises(DataContractError) as info:
        parse_contract(text, where="bad.yaml")
    assert "line 5" in str(info.value) or "line 4" in str(info.value)
    assert "column" in str(info.value)
    assert info.value.detail["line"] >= 4


def test_bad_indentation_reports_its_line() -> None:
    text = "apiVersion: v3.0.2\nkind: DataContract\n  id: x\n"
    with pytest.raises(DataContractError) as info:
        parse_contract(text)
    assert info.value.detail == {"line": 3, "column": 5}


def test_field_of_wrong_shape_names_the_field_and_line() -> None:
    text = "apiVersion: v3.0.2\nkind: DataContract\nschema:\n  - name: t\n    properties: 7\n"
    with pytest.raises(DataContractError) as info:
        parse_contract(text)
    assert "schema[0].properties" in str(info.value)
    assert info.value.detail["line"] == 5


def test_unknown_top_level_field_is_refused() -> None:
    with pytest.raises(DataContractError, match="owner"):
        parse_contract("apiVersion: v3.0.2\nkind: DataContract\nowner: bob\n")


def test_non_mapping_contract_is_refused() -> None:
    with pytest.raises(DataContractError, match="mapping"):
        parse_contract("- just\n- a list\n")


def test_unknown_logical_type_and_metric_are_named() -> None:
    base = "apiVersion: v3.0.2\nkind: DataContract\nschema:\n  - name: t\n    properties:\n      - name: a\n"
    with pytest.raises(DataContractError, match="logicalType 'float'"):
        parse_contract(base + "        logicalType: float\n")
    with pytest.raises(DataContractError, match="unknown metric 'nullz'"):
        parse_contract(base + "        quality:\n          - metric: nullz\n")


def test_missing_contract_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        load_contract(tmp_path / "nope.yaml")


def test_freshness_sla_reads_value_unit_and_column() -> None:
    text = (
        PEOPLE
        + "slaProperties:\n  - property: freshness\n    value: 2\n    unit: h\n    element: people.seen\n"
    )
    contract = parse_contract(text)
    sla = freshness_sla(contract, schema_object(contract))
    assert sla is not None
    assert (sla.column, sla.max_age_s) == ("seen", 7200.0)


def test_draft_contract_from_profile_is_valid_odcs() -> None:
    stats = {
        "n": {"logical_type": "integer", "dtype": "Int64", "null_count": 0, "min": 1, "max": 9},
        "s": {"logical_type": "string", "dtype": "String", "null_count": 2, "valid_values": ["a", "b"]},
    }
    contract = parse_contract(dump_contract(draft_contract("t", stats, row_count=10)))
    props = {p.name: p for p in schema_object(contract).properties or []}
    assert props["n"].required is True
    assert props["n"].logicalTypeOptions == {"minimum": 1, "maximum": 9}
    assert props["s"].required is False
    assert props["s"].quality and props["s"].quality[0].arguments == {"validValues": ["a", "b"]}
