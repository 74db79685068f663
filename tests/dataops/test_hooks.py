"""The dataops pipeline hooks, driven with the runner's own context records."""

from __future__ import annotations

import json
import socket
import uuid
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from triops.dataops.demo import benefits_contract_path, corrupt_batch, load_benefits
from triops.dataops.gate import GateResult
from triops.dataops.hooks import ContractGateHook, OpenLineageHook
from triops.dataops.openlineage_spec import validate_lines
from triops.errors import ContractViolationError
from triops.mlops.pipelines.hooks import ArtifactLink, RunContext, RunOutcome, StepContext, StepResult

RUN = str(uuid.uuid4())


def _step(inputs: tuple[ArtifactLink, ...], contracts: dict[str, str]) -> StepContext:
    return StepContext(RUN, "benefits", "train", "fit", "sr1", inputs, {}, {}, contracts, "local", None)


def _gate(frames: dict[str, pl.DataFrame], reports: list[GateResult]) -> ContractGateHook:
    return ContractGateHook(lambda sha, media: frames[sha], report=lambda run, step, r: reports.append(r))


def test_gate_hook_lets_clean_data_through_and_reports() -> None:
    reports: list[GateResult] = []
    hook = _gate({"a" * 64: load_benefits()}, reports)
    link = ArtifactLink("raw", "a" * 64, 10, "application/vnd.apache.parquet")
    hook.before_step(_step((link,), {"raw": str(benefits_contract_path())}))
    assert reports[0].passed


def test_gate_hook_stops_the_step_on_bad_data() -> None:
    reports: list[GateResult] = []
    hook = _gate({"b" * 64: corrupt_batch(load_benefits(), 2)}, reports)
    link = ArtifactLink("raw", "b" * 64, 10, "application/vnd.apache.parquet")
    with pytest.raises(ContractViolationError, match=r"age\.range"):
        hook.before_step(_step((link,), {"raw": str(benefits_contract_path())}))
    assert not reports[0].passed


def test_gate_hook_resolves_contracts_against_a_base_dir(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(benefits_contract_path().read_text())
    hook = ContractGateHook(lambda sha, media: load_benefits(), base_dir=tmp_path)
    hook.before_step(_step((ArtifactLink("raw", "c" * 64, 1, "x"),), {"raw": "c.yaml"}))


def test_gate_hook_ignores_steps_without_contracts() -> None:
    def never(sha: str, media: str) -> Any:
        raise AssertionError("nothing to load")

    ContractGateHook(never).before_step(_step((ArtifactLink("raw", "d" * 64, 1, "x"),), {}))


def _ctx(step: str, *inputs: ArtifactLink, contracts: dict[str, str] | None = None) -> StepContext:
    step_run = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{RUN}/{step}"))
    return StepContext(
        RUN, "benefits", "train", step, step_run, inputs, {}, {}, contracts or {}, "local", None
    )


PARQUET = "application/vnd.apache.parquet"
COLUMNS = {"1" * 64: [("age", "Int64"), ("state", "String")]}


def _lineage(tmp_path: Path) -> tuple[OpenLineageHook, Path]:
    target = tmp_path / "ol.jsonl"
    return OpenLineageHook(target, fields_of=lambda sha, media: COLUMNS.get(sha)), target


def _events(target: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in target.read_text().splitlines()]


@pytest.mark.parametrize(("status", "final"), [("FINISHED", "COMPLETE"), ("FAILED", "FAIL")])
def test_lineage_hook_emits_the_pipeline_and_each_step(tmp_path: Path, status: str, final: str) -> None:
    hook, target = _lineage(tmp_path)
    run = RunContext(RUN, "benefits", "train", {}, "local", ("prep", "fit"))
    raw = ArtifactLink("raw", "1" * 64, 1, PARQUET)
    feats = ArtifactLink("output", "2" * 64, 1, PARQUET)
    model = ArtifactLink("output", "3" * 64, 1, "application/x-skops")
    hook.before_run(run)
    prep = _ctx("prep", raw)
    hook.before_step(prep)
    hook.after_step(prep, StepResult("prep", prep.step_run_id, "DONE", 1, 0, 1, outputs=(feats,)))
    fit = _ctx("fit", ArtifactLink("features", feats.sha256, 1, PARQUET))
    hook.before_step(fit)
    hook.after_step(fit, StepResult("fit", fit.step_run_id, "DONE", 1, 1, 2, outputs=(model,)))
    hook.after_run(run, RunOutcome(RUN, status, None if status == "FINISHED" else "boom", {}))
    events = _events(target)
    assert [(e["job"]["name"], e["eventType"]) for e in events] == [
        ("train", "START"),
        ("train.prep", "START"),
        ("train.prep", "COMPLETE"),
        ("train.fit", "START"),
        ("train.fit", "COMPLETE"),
        ("train", final),
    ]
    prep_end, fit_end, end = events[2], events[4], events[5]
    assert prep_end["run"]["runId"] == prep.step_run_id
    parent = prep_end["run"]["facets"]["parent"]
    assert (parent["run"]["runId"], parent["job"]["namespace"], parent["job"]["name"]) == (
        RUN,
        "triops/benefits",
        "train",
    )
    assert prep_end["job"]["facets"]["jobType"]["jobType"] == "STEP"
    assert [d["name"] for d in prep_end["inputs"]] == ["raw@111111111111"]
    assert [f["name"] for f in prep_end["inputs"][0]["facets"]["schema"]["fields"]] == ["age", "state"]
    assert [d["name"] for d in fit_end["inputs"]] == ["prep.output@222222222222"]
    assert [d["name"] for d in end["inputs"]] == ["raw@111111111111"]
    assert [d["name"] for d in end["outputs"]] == ["prep.output@222222222222", "fit.output@333333333333"]
    assert end["job"]["name"] == "train" and end["job"]["facets"]["jobType"]["jobType"] == "PIPELINE"
    assert ("errorMessage" in end["run"]["facets"]) == (final == "FAIL")
    assert validate_lines(target) == []


def test_a_step_the_gate_stops_fails_with_the_checked_input_and_its_quality(tmp_path: Path) -> None:
    lineage, target = _lineage(tmp_path)
    bad = corrupt_batch(load_benefits(), 2)
    gate = ContractGateHook(lambda sha, media: bad, report=lineage.record_gate)
    run = RunContext(RUN, "benefits", "train", {}, "local", ("prep",))
    raw = ArtifactLink("raw", "1" * 64, 1, PARQUET)
    lineage.before_run(run)
    prep = _ctx("prep", raw, contracts={"raw": str(benefits_contract_path())})
    lineage.before_step(prep)
    with pytest.raises(ContractViolationError) as stopped:
        gate.before_step(prep)
    lineage.after_run(run, RunOutcome(RUN, "FAILED", str(stopped.value), {"prep": "SKIPPED"}))
    events = _events(target)
    assert [(e["job"]["name"], e["eventType"]) for e in events] == [
        ("train", "START"),
        ("train.prep", "START"),
        ("train.prep", "FAIL"),
        ("train", "FAIL"),
    ]
    for event in (events[2], events[3]):
        checked = event["inputs"][0]["inputFacets"]
        assert checked["dataQualityMetrics"]["rowCount"] == bad.height
        failed = {a["name"] for a in checked["dataQualityAssertions"]["assertions"] if not a["success"]}
        assert "age.range" in failed
    assert "contract gate stopped the run" in events[2]["run"]["facets"]["errorMessage"]["message"]
    assert validate_lines(target) == []


def test_a_failed_step_gets_a_fail_event(tmp_path: Path) -> None:
    hook, target = _lineage(tmp_path)
    run = RunContext(RUN, "benefits", "train", {}, "local", ("prep",))
    hook.before_run(run)
    prep = _ctx("prep", ArtifactLink("raw", "1" * 64, 1, PARQUET))
    hook.before_step(prep)
    hook.on_failure(prep, StepResult("prep", prep.step_run_id, "FAILED", 1, 0, 1, error="ZeroDivisionError"))
    hook.after_run(run, RunOutcome(RUN, "FAILED", "step 'prep' failed", {"prep": "FAILED"}))
    events = _events(target)
    assert [e["eventType"] for e in events] == ["START", "START", "FAIL", "FAIL"]
    assert events[2]["run"]["facets"]["errorMessage"]["message"] == "ZeroDivisionError"


def test_an_unreachable_lineage_endpoint_never_stops_the_run(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    hook = OpenLineageHook(f"http://127.0.0.1:{port}/api/v1/lineage")
    run = RunContext(RUN, "benefits", "train", {}, "local", ())
    hook.before_run(run)
    hook.after_run(run, RunOutcome(RUN, "FINISHED", None, {}))
    assert len(hook.undelivered) == 2 and hook.emitted == 0
    assert "OpenLineage event not delivered" in caplog.text
