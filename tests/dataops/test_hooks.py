"""The dataops pipeline hooks, driven with the runner's own context records."""

from __future__ import annotations

import json
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
from triops.mlops.hooks import ArtifactLink, RunContext, RunOutcome, StepContext, StepResult

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


@pytest.mark.parametrize(("status", "final"), [("FINISHED", "COMPLETE"), ("FAILED", "FAIL")])
def test_lineage_hook_emits_start_and_end_with_datasets(tmp_path: Path, status: str, final: str) -> None:
    target = tmp_path / "ol.jsonl"
    hook = OpenLineageHook(target)
    run = RunContext(RUN, "benefits", "train", {}, "local", ("prep", "fit"))
    raw = ArtifactLink("raw", "1" * 64, 1, "x")
    feats = ArtifactLink("features", "2" * 64, 1, "x")
    model = ArtifactLink("model", "3" * 64, 1, "x")
    hook.before_run(run)
    prep = _step((raw,), {})
    hook.before_step(prep)
    hook.after_step(prep, StepResult("prep", "s1", "FINISHED", 1, 0, 1, outputs=(feats,)))
    fit = _step((feats,), {})
    hook.before_step(fit)
    hook.after_step(fit, StepResult("fit", "s2", "FINISHED", 1, 1, 2, outputs=(model,)))
    hook.after_run(run, RunOutcome(RUN, status, None if status == "FINISHED" else "boom", {}))
    events = [json.loads(line) for line in target.read_text().splitlines()]
    assert [e["eventType"] for e in events] == ["START", final]
    end = events[1]
    assert [d["name"] for d in end["inputs"]] == ["raw@111111111111"]
    assert [d["name"] for d in end["outputs"]] == ["features@222222222222", "model@333333333333"]
    assert end["job"] == {"namespace": "triops/benefits", "name": "train", "facets": {}}
    assert ("errorMessage" in end["run"]["facets"]) == (final == "FAIL")
    assert validate_lines(target) == []
