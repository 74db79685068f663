"""Cache keys: source (with same-module callees), parameters and input hashes; nothing else."""

from __future__ import annotations

import importlib
import time
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from tests.mlops.pipelines import pipeline_support as support
from tests.mlops.pipelines import pipelines_example as ex

from triops.artifacts import ArtifactStore
from triops.mlops.pipelines.authoring import pipeline, step
from triops.mlops.pipelines.cache import cache_key, function_fingerprint
from triops.mlops.pipelines.runner import run_pipeline
from triops.mlops.pipelines.targets import import_location
from triops.store.engine import Store

# fixtures shared by the pipeline tests (the store fixtures come from tests/conftest.py)
artifacts, lite = support.artifacts, support.lite

SHA_A = "a" * 64
SHA_B = "b" * 64


def test_the_key_depends_on_params_and_input_hashes() -> None:
    base = cache_key("fp", {"k": 1}, {"x": SHA_A})
    assert base == cache_key("fp", {"k": 1}, {"x": SHA_A})
    assert base != cache_key("fp", {"k": 2}, {"x": SHA_A})
    assert base != cache_key("fp", {"k": 1}, {"x": SHA_B})
    assert base != cache_key("fp2", {"k": 1}, {"x": SHA_A})
    assert base != cache_key("fp", {"k": 1}, {"y": SHA_A})


@given(st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5) | st.none(), max_size=5))
def test_the_key_ignores_param_order(params: dict[str, object]) -> None:
    reordered = dict(reversed(list(params.items())))
    assert cache_key("fp", params, {}) == cache_key("fp", reordered, {})


def test_the_fingerprint_covers_same_module_helpers(tmp_path: Path) -> None:
    module_file = tmp_path / "fp_module_for_test.py"

    def fingerprint(helper_body: str) -> str:
        module_file.write_text(
            "from triops.mlops.pipelines.authoring import step\n"
            f"def helper(x):\n    return {helper_body}\n"
            "@step\ndef main(x: int) -> int:\n    return helper(x)\n"
        )
        module = import_location(str(module_file))
        return function_fingerprint(importlib.reload(module).main)

    one = fingerprint("x + 1")
    changed_helper = fingerprint("x + 100")  # the step's own source is unchanged
    same_again = fingerprint("x + 1")
    assert one != changed_helper
    assert one == same_again
    assert function_fingerprint(ex.doubled) == function_fingerprint(ex.doubled.fn)


def test_the_fingerprint_ignores_functions_of_other_modules() -> None:
    assert function_fingerprint(ex.vector)  # calls numpy, which is not part of its fingerprint


def test_a_cache_check_does_not_rehash_a_large_input(lite: Store, artifacts: ArtifactStore) -> None:
    @step
    def big() -> np.ndarray:
        return np.zeros(25_000_000 // 8)

    @step
    def first_value(values: np.ndarray) -> float:
        return float(values[0])

    @pipeline
    def large() -> None:
        first_value(big())

    run_pipeline(lite, artifacts, large)
    start = time.perf_counter()
    again = run_pipeline(lite, artifacts, large)
    elapsed = time.perf_counter() - start
    assert again.statuses == {"big": "CACHED", "first_value": "CACHED"}
    assert elapsed < 2.0  # no 25 MB load or hash: two key computations and two lookups
