"""Checking data against a contract: every rule kind, samples, thresholds, wrong types, missing columns."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triops.dataops.checks import check
from triops.dataops.contracts import parse_contract
from triops.domain.clock import FixedClock
from triops.errors import DataContractError

from .helpers import PEOPLE, good_people

HEAD = "apiVersion: v3.1.0\nkind: DataContract\nid: t\nversion: 1.0.0\nstatus: active\nschema:\n  - name: t\n"


def contract(body: str) -> object:
    return parse_contract(HEAD + body)


def by_rule(report: object) -> dict[str, object]:
    return {r.rule: r for r in report.results}  # type: ignore[attr-defined]


def test_good_data_passes_every_rule() -> None:
    report = check(parse_contract(PEOPLE), good_people())
    assert report.passed, report.summary()
    assert all(r.passed for r in report.results)
    assert report.row_count == 4
    assert report.contract_id == "people"


def test_each_failure_is_counted_with_share_severity_and_samples() -> None:
    df = pl.DataFrame(
        {
            "id": [1, 2, 2, None],
            "age": [5, 200, 30, 41],
            "state": ["NY", "TX", "CA", "NY"],
            "email": ["a@b", "bad", "c@d", None],
        }
    )
    results = by_rule(check(parse_contract(PEOPLE), df))
    assert results["id.required"].failing_rows == 1
    assert results["id.unique"].failing_rows == 1
    assert {s["row"] for s in results["id.unique"].samples} == {2, 3}  # rows count from 1
    assert results["age.range"].failing_rows == 1
    assert results["age.range"].failing_share == 0.25
    assert results["age.range"].samples[0] == {
        "row": 2,
        "values": {"id": 2, "age": 200, "state": "TX", "email": "[masked]"},  # the column holds emails
    }
    assert results["email.pattern"].failing_rows == 1
    warning = results["state.known_state"]
    assert (warning.passed, warning.severity, warning.failing_rows) == (False, "warning", 1)


def test_warnings_alone_do_not_fail_the_check() -> None:
    df = good_people().with_columns(pl.lit("TX").alias("state"))
    report = check(parse_contract(PEOPLE), df)
    assert report.passed
    assert [r.rule for r in report.warnings] == ["state.known_state"]


def test_samples_are_capped_at_twenty() -> None:
    df = pl.DataFrame(
        {"id": list(range(100)), "age": [500] * 100, "state": ["NY"] * 100, "email": ["a@b"] * 100}
    )
    result = by_rule(check(parse_contract(PEOPLE), df))["age.range"]
    assert result.failing_rows == 100
    assert len(result.samples) == 20
    assert [s["row"] for s in result.samples] == list(range(1, 21))


def test_wrong_types_are_validity_failures_not_crashes() -> None:
    df = pl.DataFrame(
        {
            "id": ["1", "two", "3", "4"],
            "age": ["5", "x", "1e9", "40"],
            "state": ["NY"] * 4,
            "email": ["a@b"] * 4,
        }
    )
    results = by_rule(check(parse_contract(PEOPLE), df))
    assert results["id.type"].failing_rows == 1
    assert results["age.type"].failing_rows == 2
    assert results["age.type"].dimension == "validity"
    assert results["age.range"].failing_rows == 0  # unparseable values are type failures only


def test_wrong_type_late_in_a_csv_is_a_validity_failure(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    lines = ["id,age,state,email"] + [f"{i},30,NY,a@b" for i in range(20_000)] + ["20000,old,NY,a@b"]
    path.write_text("\n".join(lines) + "\n")
    results = by_rule(check(parse_contract(PEOPLE), path))
    assert results["age.type"].failing_rows == 1
    assert results["age.type"].samples[0]["values"]["age"] == "old"


def test_float_values_in_an_integer_column_must_be_whole() -> None:
    c = contract("    properties:\n      - name: n\n        logicalType: integer\n")
    result = check(c, pl.DataFrame({"n": [1.0, 2.5, None, float("nan")]})).results[0]
    assert result.failing_rows == 2


def test_missing_column_lists_the_columns_present() -> None:
    c = contract("    properties:\n      - name: nope\n        logicalType: integer\n")
    with pytest.raises(DataContractError) as info:
        check(c, pl.DataFrame({"a": [1], "b": [2]}))
    assert "'nope'" in str(info.value)
    assert "columns present: a, b" in str(info.value)


def test_percent_threshold_on_null_values() -> None:
    body = (
        "    properties:\n      - name: x\n        quality:\n          - metric: nullValues\n"
        "            unit: percent\n            mustBeLessThan: 30\n"
    )
    ok = check(contract(body), pl.DataFrame({"x": [1, None, 3, 4]})).results[0]
    bad = check(contract(body), pl.DataFrame({"x": [1, None, None, 4]})).results[0]
    assert (ok.passed, ok.measured) == (True, 25.0)
    assert (bad.passed, bad.measured) == (False, 50.0)


def test_missing_values_duplicates_and_length() -> None:
    body = (
        "    properties:\n      - name: code\n        logicalType: string\n"
        "        logicalTypeOptions: {minLength: 2, maxLength: 3}\n"
        "        quality:\n          - metric: missingValues\n            arguments: {missingValues: [null, '', 'N/A']}\n"
        "            mustBe: 0\n"
        "          - metric: duplicateValues\n            mustBeLessOrEqualTo: 1\n"
        "      - name: day\n    quality:\n      - name: key\n        metric: duplicateValues\n"
        "        arguments: {properties: [code, day]}\n        mustBe: 0\n"
    )
    df = pl.DataFrame({"code": ["ab", "N/A", "", "toolong", "ab", "ab"], "day": [1, 1, 1, 1, 2, 2]})
    results = by_rule(check(contract(body), df))
    assert results["code.missingValues"].failing_rows == 2
    dup = results["code.duplicateValues"]
    assert (dup.failing_rows, dup.passed) == (2, False)
    assert results["table.key"].failing_rows == 1
    assert results["code.length"].failing_rows == 1  # "" is a declared missing value, not a short code


def test_enum_valid_values_on_integers() -> None:
    body = "    properties:\n      - name: s\n        logicalType: integer\n        enum:\n          - value: 11\n          - value: 12\n"
    c = parse_contract(HEAD.replace("v3.1.0", "v3.2.0") + body)  # enum arrived in ODCS v3.2.0
    result = check(c, pl.DataFrame({"s": [11, 12, 99, None]})).results[-1]
    assert (result.rule, result.failing_rows) == ("s.valid_values", 1)


def test_yaml_booleans_as_valid_values_of_text_are_explained() -> None:
    body = (
        "    properties:\n      - name: ui\n        quality:\n          - metric: invalidValues\n"
        "            arguments: {validValues: [yes, no]}\n            mustBe: 0\n"
    )
    with pytest.raises(DataContractError, match="quote them"):
        check(contract(body), pl.DataFrame({"ui": ["yes", "no"]}))


def test_row_count_rule_reports_measured_rows() -> None:
    body = "    properties:\n      - name: a\n    quality:\n      - metric: rowCount\n        mustBeGreaterThan: 5\n"
    result = check(contract(body), pl.DataFrame({"a": [1, 2]})).results[0]
    assert (result.passed, result.measured) == (False, 2.0)


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_sql_rules_run_on_polars_or_duckdb(engine: str) -> None:
    body = (
        "    properties:\n      - name: a\n        logicalType: integer\n    quality:\n      - name: big\n"
        f"        type: sql\n        customProperties: [{{property: engine, value: {engine}}}]\n"
        "        query: SELECT COUNT(*) FROM {object} WHERE a > 2\n"
        "        mustBeLessThan: 2\n"
    )
    result = by_rule(check(contract(body), pl.DataFrame({"a": ["1", "3", "5"]})))["table.big"]
    assert (result.measured, result.passed) == (2.0, False)


def test_broken_sql_rule_names_the_rule() -> None:
    body = "    properties:\n      - name: a\n    quality:\n      - name: broken\n        type: sql\n        query: SELEC nonsense\n        mustBe: 0\n"
    with pytest.raises(DataContractError, match=r"table\.broken"):
        check(contract(body), pl.DataFrame({"a": [1]}))


def test_freshness_sla_uses_the_clock() -> None:
    body = "    properties:\n      - name: seen\n        logicalType: timestamp\n"
    sla = "slaProperties:\n  - property: freshness\n    value: 1\n    unit: d\n    element: t.seen\n"
    c = parse_contract(HEAD + body + sla)
    df = pl.DataFrame({"seen": ["2026-01-01T00:00:00", "2026-01-02T00:00:00"]})
    fresh = check(c, df, clock=FixedClock(datetime(2026, 1, 2, 12, tzinfo=UTC))).results[-1]
    stale = check(c, df, clock=FixedClock(datetime(2026, 1, 5, tzinfo=UTC))).results[-1]
    assert (fresh.rule, fresh.passed, stale.passed) == ("seen.freshness", True, False)
    assert stale.dimension == "freshness"


def test_invalid_regex_is_a_contract_error() -> None:
    body = "    properties:\n      - name: a\n        logicalType: string\n        logicalTypeOptions: {pattern: '(unclosed'}\n"
    with pytest.raises(DataContractError, match="not a valid regex"):
        check(contract(body), pl.DataFrame({"a": ["x"]}))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.integers(-1000, 1000)), max_size=60),
    st.integers(-50, 50),
    st.integers(0, 100),
)
def test_range_failures_match_a_plain_count(values: list[int | None], low: int, span: int) -> None:
    body = f"    properties:\n      - name: v\n        logicalType: integer\n        logicalTypeOptions: {{minimum: {low}, maximum: {low + span}}}\n"
    report = check(contract(body), pl.DataFrame({"v": values}, schema={"v": pl.Int64}))
    expected = sum(1 for v in values if v is not None and not low <= v <= low + span)
    result = by_rule(report)["v.range"]
    assert result.failing_rows == expected
    assert result.passed == (expected == 0)
    assert len(result.samples) == min(expected, 20)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-3, 3)), min_size=0, max_size=40))
def test_uniqueness_of_a_file_streamed_equals_the_in_memory_count(
    tmp_path_factory: object, ids: list
) -> None:
    # a file is checked by the streaming path (one sorted copy of the key), a frame in memory: same answers
    body = "    properties:\n      - name: id\n        logicalType: integer\n        unique: true\n"
    frame = pl.DataFrame({"id": ids}, schema={"id": pl.Int64})
    path = Path(tmp_path_factory.mktemp("u")) / "ids.csv"  # type: ignore[attr-defined]
    frame.write_csv(path)
    streamed = by_rule(check(contract(body), str(path)))
    in_memory = by_rule(check(contract(body), frame))
    keys = [k for k in streamed if "unique" in k]
    assert keys
    for key in keys:
        a, b = streamed[key], in_memory[key]
        assert (a.failing_rows, a.passed) == (b.failing_rows, b.passed)  # type: ignore[attr-defined]
        present = [i for i in ids if i is not None]
        assert a.failing_rows == len(present) - len(set(present))  # type: ignore[attr-defined]
