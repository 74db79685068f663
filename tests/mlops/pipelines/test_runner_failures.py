"""Failures: wrong return types, unstorable outputs, retries, timeouts, on_failure, Ctrl-C and resume."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.mlops.pipelines import pipeline_support as support
from tests.mlops.pipelines import pipelines_example as ex

from triops.artifacts import ArtifactStore
from triops.errors import ConflictError, StepFailedError
from triops.mlops.pipelines.authoring import pipeline, step
from triops.mlops.pipelines.runner import resume_run, run_pipeline
from triops.store.engine import Store
from triops.store.repositories import runs as runs_repo

# fixtures shared by the pipeline tests (the store fixtures come from tests/conftest.py)
artifacts, lite, pstore = support.artifacts, support.lite, support.pstore


def test_a_wrong_return_type_names_the_step_and_both_types(lite: Store, artifacts: ArtifactStore) -> None:
    @step
    def liar() -> int:
        return "seven"  # type: ignore[return-value]

    @pipeline
    def lies() -> None:
        liar()

    result = run_pipeline(lite, artifacts, lies)
    assert result.status == "FAILED"
    row = result.step("liar")
    assert row.status == "FAILED"
    assert (
        row.error is not None
        and "'liar'" in row.error
        and "builtins.str" in row.error
        and "expected int" in row.error
    )
    assert result.error == row.error
    with pytest.raises(StepFailedError, match="liar"):
        result.raise_for_status()


def test_an_unstorable_output_explains_materializers(lite: Store, artifacts: ArtifactStore) -> None:
    class Thing:
        pass

    @step
    def make_thing() -> Thing:
        return Thing()

    @pipeline
    def things() -> None:
        make_thing()

    row = run_pipeline(lite, artifacts, things).step("make_thing")
    assert row.status == "FAILED" and row.error is not None
    assert "register_materializer" in row.error and "Thing" in row.error


def test_a_failing_step_stores_its_traceback_and_skips_what_depends_on_it(
    lite: Store, artifacts: ArtifactStore
) -> None:
    result = run_pipeline(lite, artifacts, ex.fails_unless_marker, {"marker": "/nonexistent/marker"})
    assert result.statuses == {
        "make_numbers": "DONE",
        "doubled": "DONE",
        "fail_if": "FAILED",
        "total": "SKIPPED",
    }
    failed = result.step("fail_if")
    assert (
        failed.traceback is not None
        and "RuntimeError: marker /nonexistent/marker is missing" in failed.traceback
    )
    assert "fail_if" in (result.error or "")
    with lite.connect() as conn:
        run = runs_repo.get_run(conn, result.run_id)
    assert run.status.value == "FAILED" and "marker" in (run.error or "")


def test_retries_back_off_and_the_attempt_is_recorded(
    lite: Store, artifacts: ArtifactStore, tmp_path: Path
) -> None:
    counter = tmp_path / "count"

    @step(retries=3, retry_delay_s=0.01)
    def flaky() -> int:
        n = int(counter.read_text()) if counter.exists() else 0
        counter.write_text(str(n + 1))
        if n < 2:
            raise ConnectionError("try again")
        return n

    @pipeline
    def flaky_flow() -> None:
        flaky()

    row = run_pipeline(lite, artifacts, flaky_flow).step("flaky")
    assert row.status == "DONE" and row.attempt == 3


def test_retries_run_out(lite: Store, artifacts: ArtifactStore) -> None:
    @step(retries=1, retry_delay_s=0.01)
    def broken() -> int:
        raise ValueError("always")

    @pipeline
    def broken_flow() -> None:
        broken()

    row = run_pipeline(lite, artifacts, broken_flow).step("broken")
    assert row.status == "FAILED" and row.attempt == 2 and "ValueError: always" in (row.error or "")


def test_a_step_past_its_timeout_fails(lite: Store, artifacts: ArtifactStore) -> None:
    @step(timeout=0.2)
    def sleepy() -> int:
        import time

        time.sleep(5)
        return 1

    @pipeline
    def sleepy_flow() -> None:
        sleepy()

    row = run_pipeline(lite, artifacts, sleepy_flow).step("sleepy")
    assert row.status == "FAILED" and "timed out after 0.2 s" in (row.error or "")
    assert row.wall_s is not None and row.wall_s < 2


def test_on_failure_stop_skips_the_other_branch(lite: Store, artifacts: ArtifactStore) -> None:
    result = run_pipeline(lite, artifacts, ex.branches, {"marker": "/missing", "seconds": 0.0})
    assert result.statuses["fail_if"] == "FAILED" and result.statuses["slow_square"] == "SKIPPED"


def test_on_failure_continue_finishes_the_other_branch(lite: Store, artifacts: ArtifactStore) -> None:
    result = run_pipeline(
        lite, artifacts, ex.branches, {"marker": "/missing", "seconds": 0.0}, on_failure="continue"
    )
    assert result.statuses["fail_if"] == "FAILED" and result.statuses["slow_square"] == "DONE"
    assert result.status == "FAILED"


def test_a_failed_run_resumes_from_its_failed_step(
    pstore: Store, artifacts: ArtifactStore, tmp_path: Path
) -> None:
    marker = tmp_path / "ok"
    failed = run_pipeline(pstore, artifacts, ex.fails_unless_marker, {"marker": str(marker)}, use_cache=False)
    assert failed.status == "FAILED"
    marker.touch()
    resumed = resume_run(pstore, artifacts, failed.run_id)
    assert resumed.status == "FINISHED" and resumed.resumed_from == failed.run_id
    assert resumed.statuses == {
        "make_numbers": "CACHED",
        "doubled": "CACHED",
        "fail_if": "DONE",
        "total": "DONE",
    }
    assert resumed.step("doubled").cached_from == failed.step("doubled").id
    with pstore.connect() as conn:
        run = runs_repo.get_run(conn, resumed.run_id)
    assert run.tags["triops.resumed_from"] == failed.run_id
    with pytest.raises(ConflictError, match="FINISHED"):
        resume_run(pstore, artifacts, resumed.run_id)


def test_ctrl_c_kills_the_run_keeps_finished_outputs_and_can_resume(
    lite: Store, artifacts: ArtifactStore, tmp_path: Path
) -> None:
    marker = tmp_path / "go"
    seen: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        run_pipeline(
            lite, artifacts, ex.interrupted, {"marker": str(marker)}, listener=lambda r: seen.append(r.run_id)
        )
    run_id = seen[0]
    with lite.connect() as conn:
        run = runs_repo.get_run(conn, run_id)
    assert run.status.value == "KILLED" and "Ctrl-C" in (run.error or "")
    from triops.mlops.pipelines.runner import step_runs

    statuses = {r.step: r.status for r in step_runs(lite, run_id)}
    assert statuses == {"make_numbers": "DONE", "doubled": "DONE", "interrupt": "KILLED", "total": "SKIPPED"}
    assert {a.name for a in run.artifacts} == {"make_numbers/output", "doubled/output"}
    marker.touch()
    resumed = resume_run(lite, artifacts, run_id)
    assert resumed.statuses == {
        "make_numbers": "CACHED",
        "doubled": "CACHED",
        "interrupt": "DONE",
        "total": "DONE",
    }


def test_on_failure_must_be_stop_or_continue(lite: Store, artifacts: ArtifactStore) -> None:
    from triops.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="continue"):
        run_pipeline(lite, artifacts, ex.numbers, on_failure="ignore")  # type: ignore[arg-type]
