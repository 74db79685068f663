"""Every ODCS field triops reads runs as a rule, or stops the check with an error naming the field."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from triops.dataops.checks import check
from triops.dataops.contracts import parse_contract
from triops.domain.clock import FixedClock
from triops.errors import DataContractError

HEAD = "apiVersion: {v}\nkind: DataContract\nid: t\nversion: 1.0.0\nstatus: active\nschema:\n  - name: t\n"
NOW = FixedClock(datetime(2026, 1, 10, tzinfo=UTC))


def run(body: str, data: object, version: str = "v3.1.0", **options: object) -> dict[str, object]:
    report = check(parse_contract(HEAD.format(v=version) + body), data, clock=NOW, **options)  # type: ignore[arg-type]
    return {r.rule: r for r in report.results} | {"__report__": report}


def test_v3_0_2_rule_forms_run() -> None:
    body = (
        "    properties:\n"
        "      - name: id\n        quality:\n          - rule: nullCheck\n          - rule: duplicateCount\n"
        "            mustBeLessThan: 1\n"
        "      - name: unit\n        quality:\n          - rule: validValues\n            validValues: [kg, lb]\n"
        "      - name: value\n        quality:\n          - rule: between\n"
        "            customProperties: [{property: min, value: 0}, {property: max, value: 500}]\n"
        "    quality:\n      - rule: rowCount\n        mustBeBetween: [2, 10]\n"
    )
    df = pl.DataFrame({"id": [1, 2, 2, None], "unit": ["kg", "lb", "oz", "kg"], "value": [1, 600, 30, -1]})
    r = run(body, df, "v3.0.2")
    assert r["id.nullCheck"].failing_rows == 1  # type: ignore[attr-defined]
    assert (r["id.duplicateCount"].failing_rows, r["id.duplicateCount"].passed) == (1, False)  # type: ignore[attr-defined]
    assert r["unit.validValues"].failing_rows == 1  # type: ignore[attr-defined]
    assert r["value.between"].failing_rows == 2  # type: ignore[attr-defined]
    assert r["table.rowCount"].passed  # type: ignore[attr-defined]


def test_v3_0_2_exclusive_bounds_are_modifiers() -> None:
    body = "    properties:\n      - name: n\n        logicalType: integer\n        logicalTypeOptions: {minimum: 0, exclusiveMinimum: true}\n"
    assert run(body, pl.DataFrame({"n": [0, 1, 2]}), "v3.0.2")["n.range"].failing_rows == 1  # type: ignore[attr-defined]
    v31 = "    properties:\n      - name: n\n        logicalType: integer\n        logicalTypeOptions: {exclusiveMinimum: 0}\n"
    assert run(v31, pl.DataFrame({"n": [0, 1, 2]}))["n.range"].failing_rows == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_date_and_timestamp_bounds_compare_as_dates(tmp_path: Path, kind: str) -> None:
    body = (
        '    properties:\n      - name: d\n        logicalType: date\n        logicalTypeOptions: {minimum: "2024-06-01"}\n'
        '      - name: ts\n        logicalType: timestamp\n        logicalTypeOptions: {maximum: "2024-06-30T00:00:00Z"}\n'
    )
    frame = pl.DataFrame(
        {
            "d": ["2024-05-31", "2024-06-01", "2024-07-01"],
            "ts": ["2024-06-29T10:00:00", "2024-07-01T00:00:00", None],
        }
    )
    path = tmp_path / f"dates.{kind}"
    if kind == "csv":
        frame.write_csv(path)
    else:
        frame.with_columns(pl.col("d").str.to_date(), pl.col("ts").str.to_datetime()).write_parquet(path)
    r = run(body, path)
    assert r["d.range"].failing_rows == 1  # type: ignore[attr-defined]
    assert r["ts.range"].failing_rows == 1  # type: ignore[attr-defined]


def test_formats_odcs_names_are_checked() -> None:
    body = (
        "    properties:\n"
        "      - name: u\n        logicalType: string\n        logicalTypeOptions: {format: uuid}\n"
        "      - name: small\n        logicalType: integer\n        logicalTypeOptions: {format: i8}\n"
        "      - name: day\n        logicalType: date\n        logicalTypeOptions: {format: dd/MM/yyyy}\n"
        "      - name: mail\n        logicalType: string\n        logicalTypeOptions: {format: email}\n"
    )
    df = pl.DataFrame(
        {
            "u": ["123e4567-e89b-12d3-a456-426614174000", "not-a-uuid"],
            "small": [127, 128],
            "day": ["31/12/2024", "2024-12-31"],
            "mail": ["a@b.org", "nope"],
        }
    )
    r = run(body, df)
    assert r["u.format"].failing_rows == 1  # type: ignore[attr-defined]
    assert r["small.format"].failing_rows == 1  # type: ignore[attr-defined]
    assert r["day.type"].failing_rows == 1  # type: ignore[attr-defined]  # ISO text is not dd/MM/yyyy
    assert r["mail.format"].failing_rows == 1  # type: ignore[attr-defined]


def test_an_unknown_format_is_refused_by_name() -> None:
    body = "    properties:\n      - name: n\n        logicalType: integer\n        logicalTypeOptions: {format: i7}\n"
    with pytest.raises(DataContractError, match="i7"):
        run(body, pl.DataFrame({"n": [1]}))
    body = "    properties:\n      - name: d\n        logicalType: date\n        logicalTypeOptions: {format: yyyy-QQ}\n"
    with pytest.raises(DataContractError, match="QQ"):
        run(body, pl.DataFrame({"d": ["2024-01"]}))


def test_multiple_of() -> None:
    body = "    properties:\n      - name: n\n        logicalType: number\n        logicalTypeOptions: {multipleOf: 0.5}\n"
    assert run(body, pl.DataFrame({"n": [1.0, 1.5, 1.2, None]}))["n.multiple_of"].failing_rows == 1  # type: ignore[attr-defined]


def test_nested_object_properties_are_checked_on_struct_columns(tmp_path: Path) -> None:
    body = (
        "    properties:\n      - name: person\n        logicalType: object\n        properties:\n"
        "          - name: age\n            logicalType: integer\n            required: true\n"
        "            logicalTypeOptions: {minimum: 0, maximum: 120}\n"
        "          - name: email\n            logicalType: string\n            classification: restricted\n"
    )
    path = tmp_path / "people.jsonl"
    path.write_text(
        '{"person": {"age": 30, "email": "a@b.org"}}\n{"person": {"age": 200, "email": "c@d.org"}}\n{"person": {"age": null, "email": "e@f.org"}}\n'
    )
    r = run(body, path)
    assert r["person.age.range"].failing_rows == 1  # type: ignore[attr-defined]
    assert r["person.age.required"].failing_rows == 1  # type: ignore[attr-defined]
    sample = r["person.age.range"].samples[0]  # type: ignore[attr-defined]
    assert sample["values"]["person"]["email"].startswith("[masked")
    with pytest.raises(DataContractError, match="person in the data is String, not an object"):
        run(body, pl.DataFrame({"person": ["{}"]}))


def test_sla_with_an_element_checks_that_column() -> None:
    body = "    properties:\n      - name: seen\n        logicalType: timestamp\n"
    sla = "slaProperties:\n  - property: latency\n    value: 2\n    unit: d\n    element: t.seen\n"
    df = pl.DataFrame({"seen": ["2026-01-07T00:00:00", "2026-01-09T00:00:00"]})
    result = run(body + sla, df)["seen.latency"]
    assert result.passed and result.dimension == "freshness"  # type: ignore[attr-defined]
    retention = "slaProperties:\n  - property: retention\n    value: 2\n    unit: d\n    element: seen\n"
    assert run(body + retention, df)["seen.retention"].failing_rows == 1  # type: ignore[attr-defined]


def test_a_contract_level_sla_applies_to_the_object_checked(tmp_path: Path) -> None:
    body = "    properties:\n      - name: a\n"
    sla = "slaProperties:\n  - property: freshness\n    value: 1\n    unit: d\n"
    path = tmp_path / "a.csv"
    path.write_text("a\n1\n")
    result = run(body + sla, path)["t.freshness"]
    assert result.kind == "source_age"  # type: ignore[attr-defined]
    assert "contract-level SLA" in result.description  # type: ignore[attr-defined]
    # in-memory data has no modification time: refused by name unless a delivery time is given
    with pytest.raises(DataContractError, match=r"slaProperties\[0\]"):
        run(body + sla, pl.DataFrame({"a": [1]}))
    given = run(body + sla, pl.DataFrame({"a": [1]}), delivered_at=datetime(2026, 1, 9, 12, tzinfo=UTC))
    assert given["t.freshness"].passed  # type: ignore[attr-defined]
    dates = 'slaProperties:\n  - property: endOfSupport\n    value: "2025-12-31"\n'
    assert not run(body + dates, pl.DataFrame({"a": [1]}))["contract.endofsupport"].passed  # type: ignore[attr-defined]


def test_an_sla_triops_cannot_check_is_refused_by_name_or_listed_when_skipping() -> None:
    body = "    properties:\n      - name: a\n"
    sla = "slaProperties:\n  - property: availability\n    value: 99.9\n    unit: percent\n"
    with pytest.raises(DataContractError, match=r"slaProperties\[0\]\.property \(availability\)"):
        run(body + sla, pl.DataFrame({"a": [1]}))
    report = run(body + sla, pl.DataFrame({"a": [1]}), skip_unsupported=True)["__report__"]
    assert report.skipped[0]["location"] == "slaProperties[0].property"  # type: ignore[attr-defined]
    assert "1 not checked" in report.summary()  # type: ignore[attr-defined]


def test_sql_placeholders_and_boolean_results() -> None:
    body = (
        "    properties:\n      - name: a\n        logicalType: integer\n        quality:\n"
        "          - name: small\n            type: sql\n            query: SELECT MAX({property}) < 10 FROM ${object}\n"
        "            mustBe: true\n"
        "          - name: count\n            type: sql\n            query: SELECT COUNT(*) FROM {object} WHERE ${property} > 2\n"
        "            mustBeLessThan: 2\n"
    )
    r = run(body, pl.DataFrame({"a": [1, 3, 5]}))
    assert (r["a.small"].measured, r["a.small"].passed) == (True, True)  # type: ignore[attr-defined]
    # v3.0.2 SQL rules need no threshold: a boolean result passes when true
    bare = "    properties:\n      - name: a\n    quality:\n      - type: sql\n        name: few\n        query: SELECT COUNT(*) < 3 FROM {object}\n"
    old = run(bare, pl.DataFrame({"a": [1, 3, 5]}), "v3.0.2")["table.few"]
    assert (old.measured, old.passed, old.expected) == (False, False, "true")  # type: ignore[attr-defined]
    assert (r["a.count"].measured, r["a.count"].passed) == (2.0, False)  # type: ignore[attr-defined]
    unknown = "    properties:\n      - name: a\n    quality:\n      - type: sql\n        query: SELECT 1 FROM ${catalog}\n        mustBe: 1\n"
    with pytest.raises(DataContractError, match=r"\{catalog\}"):
        run(unknown, pl.DataFrame({"a": [1]}))


@pytest.mark.parametrize(
    ("quality", "named"),
    [
        ("type: custom\n            engine: soda\n            implementation: x", "type custom"),
        ("type: text\n            description: verified", "type text"),
        ("rule: countCheck", "countCheck"),
        ("metric: nullValues\n            mustBe: 0\n            severity: critical", "critical"),
        ("metric: nullValues\n            mustBe: 0\n            unit: bytes", "bytes"),
        (
            "metric: invalidValues\n            mustBe: 0\n            arguments: {validValue: [a]}",
            "validValue",
        ),
    ],
)
def test_rules_triops_cannot_run_stop_the_check_naming_the_field(quality: str, named: str) -> None:
    version = "v3.0.2" if "countCheck" in quality else "v3.1.0"
    body = f"    properties:\n      - name: a\n        quality:\n          - {quality}\n"
    with pytest.raises(DataContractError) as info:
        run(body, pl.DataFrame({"a": ["x"]}), version)
    assert named in str(info.value)
    assert info.value.detail["field"].startswith("schema[0].properties[0].quality[0]")
