"""The runner keeps the heap it found out of full collections while a run goes, and gives it back after."""

from __future__ import annotations

import gc
from pathlib import Path

from tests.mlops.pipelines import pipeline_support as support
from tests.mlops.pipelines import pipelines_example as ex

from triops.artifacts import ArtifactStore
from triops.mlops.pipelines.authoring import pipeline, step
from triops.mlops.pipelines.runner import run_pipeline
from triops.store.engine import Store

artifacts, lite = support.artifacts, support.lite

_SEEN: list[int] = []


@step(cache=False)
def freeze_count() -> int:
    _SEEN.append(gc.get_freeze_count())
    return 1


@pipeline
def watch_gc() -> None:
    freeze_count()


def test_the_heap_is_frozen_while_a_run_goes_and_unfrozen_after(
    lite: Store, artifacts: ArtifactStore
) -> None:
    gc.unfreeze()
    _SEEN.clear()
    assert run_pipeline(lite, artifacts, watch_gc).status == "FINISHED"
    assert _SEEN and _SEEN[0] > 0, "the step ran with the earlier heap frozen"
    assert gc.get_freeze_count() == 0, "given back to the collector when the run ended"


def test_a_failed_run_unfreezes_too(lite: Store, artifacts: ArtifactStore, tmp_path: Path) -> None:
    gc.unfreeze()
    result = run_pipeline(lite, artifacts, ex.fails_unless_marker, {"marker": str(tmp_path / "absent")})
    assert result.status == "FAILED"
    assert gc.get_freeze_count() == 0


def test_a_process_that_froze_objects_itself_keeps_them_frozen(lite: Store, artifacts: ArtifactStore) -> None:
    gc.freeze()
    try:
        assert gc.get_freeze_count() > 0
        assert run_pipeline(lite, artifacts, watch_gc).status == "FINISHED"
        # some frozen objects may have been freed meanwhile (their count drops), none was unfrozen
        assert gc.get_freeze_count() > 0, "the runner never unfreezes what it did not freeze"
    finally:
        gc.unfreeze()
