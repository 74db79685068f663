"""Hooks: called in order with small contexts; a hook raising before a step stops the run cleanly."""

from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest
from tests.mlops.pipelines import pipeline_support as support
from tests.mlops.pipelines import pipelines_example as ex

from triops.artifacts import ArtifactStore
from triops.errors import BudgetExceededError, RunStoppedError
from triops.mlops.pipelines.hooks import BaseHook, Hook, RunContext, RunOutcome, StepContext, StepResult
from triops.mlops.pipelines.runner import run_pipeline
from triops.store.engine import Store
from triops.store.repositories import runs as runs_repo

# fixtures shared by the pipeline tests (the store fixtures come from tests/conftest.py)
artifacts, lite = support.artifacts, support.lite


class Recorder(BaseHook):
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.results: list[StepResult] = []
        self.step_contexts: list[StepContext] = []
        self.outcome: RunOutcome | None = None

    def before_run(self, ctx: RunContext) -> None:
        self.calls.append(f"before_run:{ctx.pipeline}")

    def before_step(self, ctx: StepContext) -> None:
        self.calls.append(f"before_step:{ctx.step}")
        self.step_contexts.append(ctx)

    def after_step(self, ctx: StepContext, result: StepResult) -> None:
        self.calls.append(f"after_step:{ctx.step}:{result.status}")
        self.results.append(result)

    def after_run(self, ctx: RunContext, outcome: RunOutcome) -> None:
        self.calls.append(f"after_run:{outcome.status}")
        self.outcome = outcome

    def on_failure(self, ctx: StepContext, result: StepResult) -> None:
        self.calls.append(f"on_failure:{ctx.step}")


def test_hooks_are_called_in_order_with_contexts(lite: Store, artifacts: ArtifactStore) -> None:
    hook = Recorder()
    assert isinstance(hook, Hook)
    result = run_pipeline(lite, artifacts, ex.numbers, {"n": 2}, hooks=[hook], project="p1")
    assert hook.calls == [
        "before_run:numbers",
        "before_step:make_numbers",
        "after_step:make_numbers:DONE",
        "before_step:doubled",
        "after_step:doubled:DONE",
        "before_step:total",
        "after_step:total:DONE",
        "after_run:FINISHED",
    ]
    ctx = hook.step_contexts[1]
    assert ctx.run_id == result.run_id and ctx.project == "p1" and ctx.pipeline == "numbers"
    assert ctx.resources == {"cpu": 1.0, "memory_gb": 1.0, "gpu": 0.0} and ctx.executor == "inline"
    assert [i.name for i in ctx.inputs] == ["values"]
    assert ctx.inputs[0].sha256 == result.outputs["make_numbers/output"].sha256
    with pytest.raises(FrozenInstanceError):
        ctx.step = "x"  # type: ignore[misc]
    usage = hook.results[0].usage
    assert usage.wall_s >= 0 and usage.peak_rss_bytes > 0 and usage.bytes_written > 0
    assert hook.outcome is not None and hook.outcome.steps["total"] == "DONE"


def test_cache_hits_reach_after_step_as_cached(lite: Store, artifacts: ArtifactStore) -> None:
    run_pipeline(lite, artifacts, ex.numbers, {"n": 2})
    hook = Recorder()
    run_pipeline(lite, artifacts, ex.numbers, {"n": 2}, hooks=[hook])
    assert all(r.cached and r.status == "CACHED" for r in hook.results)


class Budget(BaseHook):
    name = "budget"

    def __init__(self, allowed: int) -> None:
        self.allowed = allowed

    def before_step(self, ctx: StepContext) -> None:
        if self.allowed == 0:
            raise BudgetExceededError(f"project {ctx.project} spent its budget before {ctx.step}")
        self.allowed -= 1


def test_a_hook_raising_before_a_step_stops_the_run_with_its_reason(
    lite: Store, artifacts: ArtifactStore
) -> None:
    recorder = Recorder()
    result = run_pipeline(lite, artifacts, ex.numbers, {"n": 2}, hooks=[Budget(allowed=1), recorder])
    assert result.statuses == {"make_numbers": "DONE", "doubled": "SKIPPED", "total": "SKIPPED"}
    assert result.status == "FAILED"
    assert result.error is not None and result.error.startswith("stopped by budget before step 'doubled'")
    assert "spent its budget" in result.error
    assert result.step("doubled").error == result.error
    with lite.connect() as conn:
        assert runs_repo.get_run(conn, result.run_id).error == result.error
    assert recorder.calls[-1] == "after_run:FAILED"
    with pytest.raises(RunStoppedError, match="spent its budget"):
        result.raise_for_status()


def test_a_hook_raising_before_the_run_starts_nothing(lite: Store, artifacts: ArtifactStore) -> None:
    class Gate(BaseHook):
        def before_run(self, ctx: RunContext) -> None:
            raise RuntimeError("data contract failed: 3 rules")

    result = run_pipeline(lite, artifacts, ex.numbers, {"n": 2}, hooks=[Gate()])
    assert set(result.statuses.values()) == {"SKIPPED"}
    assert result.error == "stopped by Gate before the run: data contract failed: 3 rules"


def test_errors_in_after_hooks_do_not_change_the_run(lite: Store, artifacts: ArtifactStore) -> None:
    class Noisy(BaseHook):
        def after_step(self, ctx: StepContext, result: StepResult) -> None:
            raise RuntimeError("boom")

    assert run_pipeline(lite, artifacts, ex.numbers, {"n": 2}, hooks=[Noisy()]).status == "FINISHED"


def test_on_failure_hooks_see_the_failed_step(lite: Store, artifacts: ArtifactStore) -> None:
    hook = Recorder()
    run_pipeline(lite, artifacts, ex.fails_unless_marker, {"marker": "/missing"}, hooks=[hook])
    assert "on_failure:fail_if" in hook.calls and hook.calls[-1] == "after_run:FAILED"
