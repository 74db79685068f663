"""Reading ODCS contracts: validated against the official JSON Schema of their own apiVersion before any rule
compiles, every problem named with its path and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from triops.dataops.contract_schema import official_schema, schema_version
from triops.dataops.contracts import (
    WRITTEN_API_VERSION,
    dump_contract,
    load_contract,
    owner,
    parse_contract,
    schema_object,
    team_name,
)
from triops.dataops.demo import benefits_contract_path
from triops.errors import DataContractError, NotFoundError

from .helpers import PEOPLE

SPECS = Path(__file__).resolve().parents[3] / "shared" / "specs" / "odcs"
HEAD = "apiVersion: {v}\nkind: DataContract\nid: t\nversion: 1.0.0\nstatus: active\nschema:\n  - name: t\n"


def _parse(body: str, version: str = "v3.1.0") -> object:
    return parse_contract(HEAD.format(v=version) + body)


def test_contract_round_trips_through_yaml() -> None:
    contract = parse_contract(PEOPLE)
    again = parse_contract(dump_contract(contract))
    assert again == contract
    assert owner(contract) == "ann"
    assert team_name(contract) == "people-team"
    assert [p.name for p in schema_object(contract).properties or []] == ["id", "age", "state", "email"]


def test_shipped_benefits_contract_is_valid_v3_1_0() -> None:
    contract = load_contract(benefits_contract_path())
    assert contract.apiVersion == WRITTEN_API_VERSION == "v3.1.0"
    assert (contract.id, owner(contract)) == ("benefits", "data-steward")


@pytest.mark.parametrize(
    ("body", "key", "line"),
    [
        ("    properties:\n      - name: a\n        requried: true\n", "requried", 10),
        ("    propertees:\n      - name: a\n", "propertees", 8),
        (
            "    properties:\n      - name: a\n        logicalType: integer\n        logicalTypeOption: {minimum: 1}\n",
            "logicalTypeOption",
            11,
        ),
        (
            "    properties:\n      - name: a\n        quality:\n          - metric: nullValues\n            mustBe: 0\n"
            "            mustBeGreaterThen: 1\n",
            "mustBeGreaterThen",
            13,
        ),
    ],
)
@pytest.mark.parametrize("version", ["v3.0.2", "v3.1.0"])
def test_every_unknown_key_is_an_error_with_its_path_and_line(
    body: str, key: str, line: int, version: str
) -> None:
    if version == "v3.0.2":
        body = body.replace("metric: nullValues\n            mustBe: 0", "rule: nullCheck")
        line = line - 1 if key == "mustBeGreaterThen" else line
    with pytest.raises(DataContractError) as info:
        _parse(body, version)
    problems = info.value.detail["problems"]
    unknown = [p for p in problems if key in p["path"]]
    assert unknown, problems
    assert unknown[0]["line"] == line
    assert f"unknown key {key!r}" in unknown[0]["message"]
    assert info.value.detail["schema"] == version


@pytest.mark.parametrize("missing", ["apiVersion", "kind", "id", "version", "status"])
def test_a_document_without_its_identifying_keys_is_refused(missing: str) -> None:
    text = "\n".join(
        line
        for line in (HEAD.format(v="v3.1.0") + "    properties: []\n").splitlines()
        if not line.startswith(f"{missing}:")
    )
    with pytest.raises(DataContractError, match=f"required key '{missing}' is missing"):
        parse_contract(text + "\n")


def test_each_apiversion_is_checked_against_its_own_official_schema() -> None:
    assert [schema_version(v) for v in ("v3.0.0", "v3.0.2", "v3.1.0", "v3.2.0")] == [
        "v3.0.2",
        "v3.0.2",
        "v3.1.0",
        "v3.2.0",
    ]
    with pytest.raises(DataContractError, match="not a version triops reads"):
        schema_version("v2.2.2")
    # a v3.1 metric under a v3.0.2 label: the v3.0.2 schema has no `metric`; the message says what fits
    with pytest.raises(DataContractError, match=r"set apiVersion: v3\.1\.0"):
        _parse(
            "    properties:\n      - name: a\n        quality:\n          - metric: nullValues\n            mustBe: 0\n",
            "v3.0.2",
        )


def test_v3_1_library_metrics_need_an_operator() -> None:
    with pytest.raises(DataContractError, match="needs exactly one of mustBe"):
        _parse("    properties:\n      - name: a\n        quality:\n          - metric: nullValues\n")


def test_dates_stay_text_as_json_reads_them() -> None:
    contract = _parse(
        "    properties:\n      - name: d\n        logicalType: date\n        logicalTypeOptions: {minimum: 2024-06-01}\n"
    )
    prop = (schema_object(contract).properties or [])[0]  # type: ignore[arg-type]
    assert prop.logicalTypeOptions == {"minimum": "2024-06-01"}


def test_shipped_schemas_are_the_official_documents() -> None:
    if not SPECS.is_dir():
        pytest.skip(f"the official ODCS documents are not at {SPECS}")
    for version in ("v3.0.2", "v3.1.0"):
        assert official_schema(version) == json.loads((SPECS / f"{version}.json").read_text())


def test_malformed_yaml_names_line_and_column() -> None:
    text = "apiVersion: v3.1.0\nkind: DataContract\nschema:\n  - name: [unclosed\n"
    with pytest.raises(DataContractError) as info:
        parse_contract(text, where="bad.yaml")
    assert "column" in str(info.value)
    assert info.value.detail["line"] >= 4


def test_bad_indentation_reports_its_line() -> None:
    with pytest.raises(DataContractError) as info:
        parse_contract("apiVersion: v3.1.0\nkind: DataContract\n  id: x\n")
    assert info.value.detail == {"line": 3, "column": 5}


def test_field_of_wrong_shape_names_the_field_and_line() -> None:
    with pytest.raises(DataContractError) as info:
        _parse("    properties: 7\n")
    assert info.value.detail["field"] == "schema[0].properties"
    assert info.value.detail["line"] == 8


def test_unknown_top_level_field_is_refused() -> None:
    with pytest.raises(DataContractError, match="unknown key 'owner'"):
        parse_contract(HEAD.format(v="v3.1.0") + "owner: bob\n")


def test_non_mapping_contract_is_refused() -> None:
    with pytest.raises(DataContractError, match="mapping"):
        parse_contract("- just\n- a list\n")


def test_unknown_logical_type_is_named() -> None:
    with pytest.raises(DataContractError, match=r"logicalType.*'float' is not one of"):
        _parse("    properties:\n      - name: a\n        logicalType: float\n")


def test_missing_contract_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        load_contract(tmp_path / "nope.yaml")
