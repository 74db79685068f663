"""The Ray executor on a local 2-CPU cluster (started and shut down once for this module). Few and fast."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.mlops.pipelines import pipeline_support as support
from tests.mlops.pipelines import pipelines_example as ex

from triops.artifacts import ArtifactStore
from triops.errors import ConfigError
from triops.mlops.pipelines import materializers
from triops.mlops.pipelines.runner import run_pipeline
from triops.store.engine import Store

# fixtures shared by the pipeline tests (the store fixtures come from tests/conftest.py)
artifacts, lite = support.artifacts, support.lite

pytestmark = pytest.mark.xdist_group("pipelines-ray")

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


def test_without_ray_the_error_says_how_to_install_it(
    lite: Store, artifacts: ArtifactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` fail as if it were not installed
    with pytest.raises(ConfigError) as info:
        run_pipeline(lite, artifacts, ex.numbers, executor="ray")
    assert "pip install 'triops[ray]'" in str(info.value)


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[object]:
    ray = pytest.importorskip("ray")
    from triops.mlops.pipelines.executors.ray import RayExecutor

    # a loaded 2-core test machine can take longer than Ray's default 30 s to bring up its agents
    slow_start = {"RAY_agent_register_timeout_ms": "180000", "RAY_raylet_start_wait_time_s": "180"}
    saved = {k: os.environ.get(k) for k in slow_start}
    os.environ.update(slow_start)
    try:
        RayExecutor(num_cpus=2)  # starts the local cluster with the import path the workers need
        yield ray
    finally:
        ray.shutdown()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.mark.slow
def test_ray_gives_the_same_outputs_hashes_and_records_as_inline(
    lite: Store, artifacts: ArtifactStore, ray_cluster: object
) -> None:
    inline = run_pipeline(lite, artifacts, ex.diamond, {"n": 5}, use_cache=False)
    on_ray = run_pipeline(lite, artifacts, ex.diamond, {"n": 5}, use_cache=False, executor="ray")
    assert on_ray.status == "FINISHED" and on_ray.executor == "ray"
    assert on_ray.outputs == inline.outputs
    for a, b in zip(inline.steps, on_ray.steps, strict=True):
        assert {f: getattr(a, f) for f in RECORD_FIELDS} == {f: getattr(b, f) for f in RECORD_FIELDS}
        assert b.executor == "ray" and b.peak_rss_bytes and b.wall_s is not None


@pytest.mark.slow
def test_ray_runs_branches_concurrently_and_reports_failures(
    lite: Store, artifacts: ArtifactStore, ray_cluster: object, tmp_path: Path
) -> None:
    met = run_pipeline(lite, artifacts, ex.meet, {"directory": str(tmp_path)}, executor="ray")
    assert met.status == "FINISHED"
    assert materializers.load(met.outputs["rendezvous_2/output"], artifacts) is True
    failed = run_pipeline(lite, artifacts, ex.fails_unless_marker, {"marker": "/missing"}, executor="ray")
    assert failed.statuses["fail_if"] == "FAILED" and "marker /missing is missing" in (failed.error or "")
