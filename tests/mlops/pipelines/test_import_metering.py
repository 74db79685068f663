"""Importing a step's module in a fresh worker is metered apart from the step: the step's CPU and wall time
(what FinOps bills) hold only its own work, and the import time is recorded on the step run as import_s."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from tests.mlops.pipelines import pipeline_support as support

from triops.artifacts import ArtifactStore
from triops.mlops.pipelines.executors.local import LocalExecutor
from triops.mlops.pipelines.runner import run_pipeline
from triops.mlops.pipelines.targets import import_location
from triops.store.engine import Store

artifacts, lite = support.artifacts, support.lite

pytestmark = pytest.mark.xdist_group("pipelines-local")

HEAVY_IMPORT = """
import time

from triops.mlops.pipelines.authoring import pipeline, step

_start = time.process_time()
while time.process_time() - _start < 0.6:  # a module as slow to import as a big library
    pass


@step
def load() -> int:
    return 42


@pipeline
def flow():
    load()
"""


@pytest.mark.slow
def test_a_fresh_worker_bills_the_import_apart_from_the_step(
    lite: Store, artifacts: ArtifactStore, tmp_path: Path
) -> None:
    path = tmp_path / "heavy_import_module.py"
    path.write_text(HEAVY_IMPORT)
    module = import_location(str(path))
    executor = LocalExecutor(max_workers=1)
    try:
        result = run_pipeline(lite, artifacts, module.flow, executor=executor, use_cache=False)
        again = run_pipeline(lite, artifacts, module.flow, executor=executor, use_cache=False)
    finally:
        executor.close()
        sys.modules.pop("heavy_import_module", None)
    assert result.status == "FINISHED", result.error
    [first] = result.steps
    assert first.import_s is not None and first.import_s >= 0.6
    assert first.cpu_s is not None and first.cpu_s < 0.3  # the 0.6 CPU-s of the import are not the step's
    assert first.wall_s is not None and first.wall_s < first.import_s
    [second] = again.steps  # the same worker: the module is imported already
    assert second.import_s is not None and second.import_s < 0.3
