"""The local executor: worker processes, the same outputs and records as inline, OS kills reported."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.mlops.pipelines import pipeline_support as support
from tests.mlops.pipelines import pipelines_example as ex

from triops.artifacts import ArtifactStore
from triops.errors import InvalidInputError, PipelineError
from triops.mlops.pipelines import materializers
from triops.mlops.pipelines.authoring import pipeline, step
from triops.mlops.pipelines.executors import make_executor
from triops.mlops.pipelines.executors.local import LocalExecutor
from triops.mlops.pipelines.runner import run_pipeline
from triops.store.engine import Store

# fixtures shared by the pipeline tests (the store fixtures come from tests/conftest.py)
artifacts, lite = support.artifacts, support.lite

pytestmark = pytest.mark.xdist_group("pipelines-local")

RECORD_FIELDS = (
    "step",
    "status",
    "attempt",
    "cache_key",
    "bytes_read",
    "bytes_written",
    "resources",
    "upstream",
)


@pytest.fixture(scope="module")
def local() -> Iterator[LocalExecutor]:
    executor = LocalExecutor(max_workers=2)
    yield executor
    executor.close()


def test_local_gives_the_same_outputs_hashes_and_records_as_inline(
    lite: Store, artifacts: ArtifactStore, local: LocalExecutor
) -> None:
    inline = run_pipeline(lite, artifacts, ex.diamond, {"n": 6}, use_cache=False)
    remote = run_pipeline(lite, artifacts, ex.diamond, {"n": 6}, use_cache=False, executor=local)
    assert remote.status == "FINISHED" and remote.executor == "local"
    assert remote.outputs == inline.outputs
    for a, b in zip(inline.steps, remote.steps, strict=True):
        assert {f: getattr(a, f) for f in RECORD_FIELDS} == {f: getattr(b, f) for f in RECORD_FIELDS}
        assert b.executor == "local" and b.peak_rss_bytes and b.wall_s is not None


def test_independent_branches_run_at_the_same_time(
    lite: Store, artifacts: ArtifactStore, local: LocalExecutor, tmp_path: Path
) -> None:
    result = run_pipeline(lite, artifacts, ex.meet, {"directory": str(tmp_path)}, executor=local)
    assert result.status == "FINISHED"
    assert materializers.load(result.outputs["rendezvous/output"], artifacts) is True
    assert materializers.load(result.outputs["rendezvous_2/output"], artifacts) is True


def test_metering_happens_in_the_worker(lite: Store, artifacts: ArtifactStore, local: LocalExecutor) -> None:
    result = run_pipeline(lite, artifacts, ex.fan_out, {"width": 1, "seconds": 0.3}, executor=local)
    row = result.steps[0]
    assert row.cpu_s is not None and 0.25 <= row.cpu_s < 5
    assert row.wall_s is not None and row.wall_s >= row.cpu_s * 0.9


def test_a_step_killed_by_the_os_is_reported_with_its_peak_memory(
    lite: Store, artifacts: ArtifactStore, local: LocalExecutor
) -> None:
    result = run_pipeline(lite, artifacts, ex.oom, {"megabytes": 300}, executor=local, on_failure="continue")
    killed = result.step("allocate_and_die")
    assert killed.status == "KILLED", killed
    # a SIGKILL under the step's memory_gb (1 GB) and without the kernel's OOM killer is not called OOM
    assert killed.error is not None and "killed by the OS (SIGKILL)" in killed.error
    assert "memory" not in killed.error.split("peak memory")[0]
    assert "its peak memory" in killed.error
    assert killed.peak_rss_bytes is not None and killed.peak_rss_bytes > 300 * 2**20
    assert result.step("slow_square").status == "DONE"  # the bystander was resubmitted to a new pool
    assert result.status == "FAILED"


def test_out_of_memory_is_reported_only_with_evidence_an_rss_over_the_steps_limit(
    lite: Store, artifacts: ArtifactStore, local: LocalExecutor
) -> None:
    result = run_pipeline(lite, artifacts, ex.over_limit, {"megabytes": 300}, executor=local)
    killed = result.step("allocate_over_limit")
    assert killed.status == "KILLED", killed
    assert killed.error is not None
    assert "(SIGKILL; out of memory: over the step's memory_gb=0.1)" in killed.error
    assert killed.peak_rss_bytes is not None and killed.peak_rss_bytes > 300 * 2**20


def test_on_failure_stop_cancels_running_siblings(
    lite: Store, artifacts: ArtifactStore, local: LocalExecutor
) -> None:
    result = run_pipeline(lite, artifacts, ex.branches, {"marker": "/missing", "seconds": 30}, executor=local)
    assert result.statuses["fail_if"] == "FAILED"
    assert result.statuses["slow_square"] == "KILLED"
    assert "cancelled: step 'fail_if' failed" in (result.step("slow_square").error or "")
    # the executor recovers for the next run
    assert (
        run_pipeline(lite, artifacts, ex.numbers, {"n": 2}, executor=local, use_cache=False).status
        == "FINISHED"
    )


def test_steps_that_are_not_module_level_are_refused_before_running(
    lite: Store, artifacts: ArtifactStore
) -> None:
    @step
    def inner() -> int:
        return 1

    @pipeline
    def nested() -> None:
        inner()

    with pytest.raises(PipelineError, match="module-level") as info:
        run_pipeline(lite, artifacts, nested, executor="local")
    assert "inline" in str(info.value)


def test_unknown_executor_lists_the_choices() -> None:
    with pytest.raises(InvalidInputError, match="inline, local, ray"):
        make_executor("threads")
