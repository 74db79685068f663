"""The cache key covers what docs/pipelines.md says it covers: a change to each kind re-runs the step, and
nothing else does. The issue's reproduction: a class method and a module constant changed, the step stayed
CACHED and returned 5 instead of 230."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.mlops.pipelines import pipeline_support as support

from triops.artifacts import ArtifactStore
from triops.mlops.pipelines import materializers
from triops.mlops.pipelines.cache import clear_version_cache, package_version
from triops.mlops.pipelines.runner import run_pipeline
from triops.mlops.pipelines.targets import import_location
from triops.store.engine import Store

artifacts, lite = support.artifacts, support.lite

MODULE = """
import enum

import fakestats
from triops.mlops.pipelines.authoring import pipeline, step

FACTOR = {factor}
SETTINGS = {{"offset": {offset}, "names": ("a", "b")}}


class Mode(enum.Enum):
    FAST = {mode}


class Scaler:
    def __init__(self, k):
        self.k = k

    def apply(self, x):
        return {apply}


def helper(x):
    return {helper}


@step
def compute() -> int:
    return helper(Scaler(FACTOR).apply(5)) + SETTINGS["offset"] + Mode.FAST.value + fakestats.BONUS


@pipeline
def flow():
    compute()
"""

BASE = {"factor": 1, "offset": 0, "mode": 0, "apply": "x * self.k", "helper": "x"}


def _dist(site: Path, version: str) -> None:
    for old in site.glob("fakestats-*.dist-info"):
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    info = site / f"fakestats-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: fakestats\nVersion: {version}\n")
    (info / "top_level.txt").write_text("fakestats\n")
    (info / "RECORD").write_text("fakestats/__init__.py,,\n")
    clear_version_cache()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Path]:
    """A directory on sys.path with an installed distribution ``fakestats`` whose version the test sets."""
    root = tmp_path / "site"
    (root / "fakestats").mkdir(parents=True)
    (root / "fakestats" / "__init__.py").write_text("BONUS = 0\n")
    _dist(root, "1.0")
    sys.path.insert(0, str(root))
    try:
        yield root
    finally:
        sys.path.remove(str(root))
        for name in ("fakestats", "cache_cover_module"):
            sys.modules.pop(name, None)
        clear_version_cache()


def _run(store: Store, arts: ArtifactStore, site: Path, **changes: object) -> tuple[str, int]:
    path = site / "cache_cover_module.py"
    path.write_text(MODULE.format(**{**BASE, **changes}))
    module = importlib.reload(import_location(str(path)))
    result = run_pipeline(store, arts, module.flow)
    assert result.status == "FINISHED", result.error
    value = materializers.load(result.outputs["compute/output"], arts)
    return result.statuses["compute"], value


@pytest.mark.parametrize(
    ("kind", "change", "expected"),
    [
        ("class method", {"apply": "x * self.k * 46"}, 230),
        ("module constant", {"factor": 46}, 230),
        ("constant inside a container", {"offset": 225}, 230),
        ("enum member value", {"mode": 225}, 230),
        ("same-module function", {"helper": "x * 46"}, 230),
    ],
)
def test_a_change_to_each_covered_kind_re_runs_the_step(
    lite: Store, artifacts: ArtifactStore, site: Path, kind: str, change: dict[str, object], expected: int
) -> None:
    assert _run(lite, artifacts, site) == ("DONE", 5)
    assert _run(lite, artifacts, site) == ("CACHED", 5)
    assert _run(lite, artifacts, site, **change) == ("DONE", expected), kind
    assert _run(lite, artifacts, site, **change) == ("CACHED", expected)
    assert _run(lite, artifacts, site) == ("CACHED", 5)  # back to the first code: its outputs again


def test_a_new_version_of_an_imported_package_re_runs_the_step(
    lite: Store, artifacts: ArtifactStore, site: Path
) -> None:
    assert package_version("fakestats") == "fakestats==1.0"
    assert _run(lite, artifacts, site) == ("DONE", 5)
    assert _run(lite, artifacts, site) == ("CACHED", 5)
    _dist(site, "1.1")
    assert package_version("fakestats.sub") == "fakestats==1.1"
    assert _run(lite, artifacts, site) == ("DONE", 5)


def test_a_change_that_the_step_does_not_reach_keeps_the_cache(
    lite: Store, artifacts: ArtifactStore, site: Path
) -> None:
    assert _run(lite, artifacts, site) == ("DONE", 5)
    path = site / "cache_cover_module.py"
    path.write_text(path.read_text() + "\nUNUSED = 1\n\ndef unrelated():\n    return 2\n")
    module = importlib.reload(import_location(str(path)))
    assert run_pipeline(lite, artifacts, module.flow).statuses["compute"] == "CACHED"


def test_standard_library_modules_count_by_the_python_version() -> None:
    assert package_version("json") == "python==" + ".".join(map(str, sys.version_info[:3]))
