"""Lineage: walk from an artifact or a run, up to where it came from or down to what was made from it."""

from __future__ import annotations

import pytest
from tests.mlops.pipelines import pipeline_support as support
from tests.mlops.pipelines import pipelines_example as ex

from triops.artifacts import ArtifactStore
from triops.errors import InvalidInputError, NotFoundError
from triops.mlops.pipelines.lineage import lineage
from triops.mlops.pipelines.runner import run_pipeline
from triops.store.engine import Store

# fixtures shared by the pipeline tests (the store fixtures come from tests/conftest.py)
artifacts, lite, pstore = support.artifacts, support.lite, support.pstore


def test_walking_up_from_an_output_reaches_the_first_step(pstore: Store, artifacts: ArtifactStore) -> None:
    result = run_pipeline(pstore, artifacts, ex.diamond, {"n": 3})
    summary = result.outputs["summary/output"].sha256
    tree = lineage(pstore, summary, direction="up", depth=5)
    assert tree.kind == "artifact" and tree.id == summary
    (producer,) = tree.children
    assert producer.kind == "step" and producer.label == "summary" and producer.run_id == result.run_id
    assert sorted(c.label for c in producer.children) == ["a", "b"]
    steps = [n.label for n in tree.walk() if n.kind == "step"]
    assert steps.count("vector") == 2 and "scaled" in steps and "scaled_2" in steps
    as_dict = tree.to_dict()
    assert as_dict["children"][0]["label"] == "summary"


def test_depth_limits_the_walk(lite: Store, artifacts: ArtifactStore) -> None:
    result = run_pipeline(lite, artifacts, ex.numbers, {"n": 2})
    tree = lineage(lite, result.outputs["total/output"].sha256, depth=1)
    (producer,) = tree.children
    assert producer.label == "total"
    assert all(not child.children for child in producer.children)


def test_walking_down_from_an_input_finds_every_consumer(lite: Store, artifacts: ArtifactStore) -> None:
    result = run_pipeline(lite, artifacts, ex.diamond, {"n": 3})
    vector = result.outputs["vector/output"].sha256
    tree = lineage(lite, vector[:12], direction="down", depth=3)
    assert sorted(c.label for c in tree.children) == ["scaled", "scaled_2"]
    assert {n.label for n in tree.walk() if n.kind == "step"} == {"scaled", "scaled_2", "summary"}


def test_a_run_id_starts_at_the_runs_final_outputs(lite: Store, artifacts: ArtifactStore) -> None:
    result = run_pipeline(lite, artifacts, ex.numbers, {"n": 2})
    tree = lineage(lite, result.run_id, direction="up", depth=5)
    assert tree.kind == "run" and [c.label for c in tree.children] == ["total/output"]
    assert [n.label for n in tree.walk() if n.kind == "step"] == ["total", "doubled", "make_numbers"]
    down = lineage(lite, result.run_id, direction="down", depth=1)
    assert len(down.children) == 3


def test_cache_hits_keep_their_own_lineage(lite: Store, artifacts: ArtifactStore) -> None:
    first = run_pipeline(lite, artifacts, ex.numbers, {"n": 2})
    second = run_pipeline(lite, artifacts, ex.numbers, {"n": 2})
    tree = lineage(lite, second.run_id, depth=5)
    assert {n.run_id for n in tree.walk() if n.kind == "step"} == {second.run_id}
    producers = lineage(lite, first.outputs["total/output"].sha256, depth=1).children
    assert {p.run_id for p in producers} == {first.run_id, second.run_id}


def test_bad_references_are_explained(lite: Store, artifacts: ArtifactStore) -> None:
    with pytest.raises(NotFoundError, match="neither a pipeline run id nor an artifact"):
        lineage(lite, "not-a-thing")
    with pytest.raises(NotFoundError, match="no step run"):
        lineage(lite, "ab" * 32)
    with pytest.raises(InvalidInputError, match="direction"):
        lineage(lite, "ab" * 32, direction="sideways")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="depth"):
        lineage(lite, "ab" * 32, depth=0)
