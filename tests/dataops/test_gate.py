"""The contract gate a pipeline hook calls before a step."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from triops.dataops.contracts import parse_contract
from triops.dataops.demo import benefits_contract, benefits_contract_path, corrupt_batch, load_benefits
from triops.dataops.gate import gate_inputs
from triops.errors import ContractViolationError

from .helpers import PEOPLE, good_people


def test_clean_input_passes() -> None:
    result = gate_inputs({"raw": parse_contract(PEOPLE)}, {"raw": good_people()})
    assert result.passed
    result.raise_for_errors()
    assert "passed" in result.summary()


def test_contract_file_path_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "people.yaml"
    path.write_text(PEOPLE)
    assert gate_inputs({"raw": path}, {"raw": good_people()}).passed


def test_error_severity_failure_stops_with_the_report() -> None:
    bad = good_people().with_columns(pl.Series("age", [5, 200, 30, 41]))
    result = gate_inputs({"raw": parse_contract(PEOPLE)}, {"raw": bad})
    assert not result.passed
    with pytest.raises(ContractViolationError) as info:
        result.raise_for_errors()
    assert "age.range failed on 1 rows" in str(info.value)
    report = info.value.detail["reports"]["raw"]
    failing = next(r for r in report["results"] if r["rule"] == "age.range")
    assert failing["samples"][0]["values"]["age"] == 200


def test_warnings_are_recorded_and_the_run_goes_on() -> None:
    warned = good_people().with_columns(pl.lit("TX").alias("state"))
    result = gate_inputs({"raw": parse_contract(PEOPLE)}, {"raw": warned})
    assert result.passed
    assert [(name, r.rule) for name, r in result.warnings] == [("raw", "state.known_state")]
    assert "1 warnings" in result.summary()


def test_missing_input_and_missing_column_stop_the_run() -> None:
    result = gate_inputs({"raw": parse_contract(PEOPLE)}, {"other": good_people()})
    assert not result.passed and "was not given" in result.problems["raw"]
    result = gate_inputs({"raw": parse_contract(PEOPLE)}, {"raw": good_people().drop("email")})
    assert "columns present: id, age, state" in result.problems["raw"]


def test_demo_corrupt_batch_is_stopped_for_the_three_kinds_of_damage() -> None:
    benefits = load_benefits()
    assert gate_inputs({"raw": benefits_contract_path()}, {"raw": benefits}).passed
    bad = corrupt_batch(benefits, seed=3)
    assert bad.height == 1500
    assert bad.equals(corrupt_batch(benefits, seed=3))
    result = gate_inputs({"raw": benefits_contract()}, {"raw": bad})
    failed = {r.rule for _, r in result.errors}
    assert failed == {"age.range", "state.known_state_code", "ui.required", "rr.required"}
    samples = next(r for _, r in result.errors if r.rule == "state.known_state_code").samples
    assert {s["values"]["state"] for s in samples} == {99}
