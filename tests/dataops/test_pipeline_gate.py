"""End to end: a pipeline step declared with a contract, run by the real runner with the dataops hooks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from triops.artifacts import ArtifactStore
from triops.dataops.demo import benefits_contract_path, corrupt_batch, load_benefits
from triops.dataops.gate import GateResult
from triops.dataops.hooks import ContractGateHook, OpenLineageHook
from triops.dataops.openlineage_spec import validate_lines
from triops.mlops.pipelines.authoring import pipeline, step
from triops.mlops.pipelines.runner import run_pipeline
from triops.store.engine import Store

CONTRACT = str(benefits_contract_path())


@step(cache=False)
def load(corrupt: bool) -> pl.DataFrame:
    data = load_benefits()
    return corrupt_batch(data, seed=4) if corrupt else data


@step(cache=False, contracts={"raw": CONTRACT})
def train(raw: pl.DataFrame) -> int:
    return raw.height


@pipeline
def benefits(corrupt: bool = False) -> None:
    train(load(corrupt))


def _run(
    sqlite_store: Store, tmp_path: Path, corrupt: bool
) -> tuple[Any, list[GateResult], list[dict[str, Any]]]:
    artifacts = ArtifactStore(tmp_path / "artifacts")

    def loader(sha256: str, media_type: str) -> pl.DataFrame:
        with artifacts.open(sha256) as fh:
            return pl.read_parquet(fh)

    reports: list[GateResult] = []
    lineage = tmp_path / "lineage.jsonl"
    lineage_hook = OpenLineageHook(lineage)

    def on_gate(run_id: str, step: str, result: GateResult) -> None:
        reports.append(result)
        lineage_hook.record_gate(run_id, step, result)

    hooks = [lineage_hook, ContractGateHook(loader, report=on_gate)]
    result = run_pipeline(
        sqlite_store, artifacts, benefits, {"corrupt": corrupt}, project="benefits", hooks=hooks
    )
    events = [json.loads(line) for line in lineage.read_text().splitlines()]
    assert validate_lines(lineage) == [], "a pipeline run emitted events that break the OpenLineage spec"
    return result, reports, events


def test_clean_data_passes_the_gate(sqlite_store: Store, tmp_path: Path) -> None:
    result, reports, events = _run(sqlite_store, tmp_path, corrupt=False)
    assert result.status == "FINISHED", result.error
    assert reports[0].passed
    assert [(e["job"]["name"], e["eventType"]) for e in events] == [
        ("benefits", "START"),
        ("benefits.load", "START"),
        ("benefits.load", "COMPLETE"),
        ("benefits.train", "START"),
        ("benefits.train", "COMPLETE"),
        ("benefits", "COMPLETE"),
    ]
    checked = events[4]["inputs"][0]
    assert checked["name"].startswith("load.output@")
    assert all(a["success"] for a in checked["inputFacets"]["dataQualityAssertions"]["assertions"])


def test_corrupt_batch_stops_the_run_before_the_step(sqlite_store: Store, tmp_path: Path) -> None:
    result, reports, events = _run(sqlite_store, tmp_path, corrupt=True)
    assert result.status == "FAILED"
    assert "contract gate stopped the run" in (result.error or "")
    assert result.statuses == {"load": "DONE", "train": "SKIPPED"}
    failed = {r.rule for _, r in reports[0].errors}
    assert failed == {"age.range", "state.known_state_code", "ui.required", "rr.required"}
    assert [(e["job"]["name"], e["eventType"]) for e in events] == [
        ("benefits", "START"),
        ("benefits.load", "START"),
        ("benefits.load", "COMPLETE"),
        ("benefits.train", "START"),
        ("benefits.train", "FAIL"),
        ("benefits", "FAIL"),
    ]
    assertions = events[4]["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"]
    warned = {r.rule for _, r in reports[0].warnings}
    assert {a["name"] for a in assertions if not a["success"]} == failed | warned
