"""Running pipelines inline: records, cache hits, parameters, metering, artifacts (on SQLite and PostgreSQL)."""

from __future__ import annotations

import numpy as np
import sqlalchemy as sa
from tests.mlops.pipelines import pipeline_support as support
from tests.mlops.pipelines import pipelines_example as ex

from triops.artifacts import ArtifactStore
from triops.mlops.pipelines import materializers
from triops.mlops.pipelines.authoring import pipeline, step
from triops.mlops.pipelines.runner import run_pipeline, step_runs
from triops.store.engine import Store
from triops.store.repositories import runs as runs_repo
from triops.store.tables_pipelines import cache_entries, lineage_edges

# fixtures shared by the pipeline tests (the store fixtures come from tests/conftest.py)
artifacts, lite, pstore = support.artifacts, support.lite, support.pstore


def test_a_run_records_the_run_its_steps_and_their_outputs(pstore: Store, artifacts: ArtifactStore) -> None:
    result = run_pipeline(pstore, artifacts, ex.numbers, {"n": "4", "offset": 1}, project="bench")
    assert result.status == "FINISHED" and result.error is None
    assert result.statuses == {"make_numbers": "DONE", "doubled": "DONE", "total": "DONE"}
    with pstore.connect() as conn:
        run = runs_repo.get_run(conn, result.run_id)
    assert run.kind == "pipeline" and run.project == "bench" and run.status.value == "FINISHED"
    assert run.params == {"n": "4", "offset": "1"}
    assert run.tags["triops.pipeline"] == "numbers"
    assert {a.name for a in run.artifacts} == {"make_numbers/output", "doubled/output", "total/output"}
    total = result.outputs["total/output"]
    assert materializers.load(total, artifacts) == 2 * (0 + 1 + 2 + 3) + 1
    rows = step_runs(pstore, result.run_id)
    assert [r.step for r in rows] == ["make_numbers", "doubled", "total"]
    for row in rows:
        assert row.status == "DONE" and row.attempt == 1 and row.executor == "inline"
        assert row.wall_s is not None and row.wall_s >= 0 and row.cpu_s is not None and row.cpu_s >= 0
        assert row.peak_rss_bytes and row.peak_rss_bytes > 1_000_000
        assert row.started_ms is not None and row.ended_ms is not None and row.ended_ms >= row.started_ms
        assert row.resources == {"cpu": 1.0, "memory_gb": 1.0, "gpu": 0.0}
    assert rows[0].bytes_read == 0 and rows[0].bytes_written == rows[1].bytes_read
    assert rows[2].upstream == ["doubled"]


def test_a_second_run_hits_the_cache_and_records_the_hits(pstore: Store, artifacts: ArtifactStore) -> None:
    first = run_pipeline(pstore, artifacts, ex.numbers, {"n": 3})
    second = run_pipeline(pstore, artifacts, ex.numbers, {"n": 3})
    assert set(second.statuses.values()) == {"CACHED"}
    for old, new in zip(first.steps, second.steps, strict=True):
        assert new.cached_from == old.id and new.cache_key == old.cache_key
        assert new.wall_s == 0.0 and new.cpu_s == 0.0
    assert second.outputs == first.outputs
    with pstore.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(cache_entries)).scalar() == 3
        # cached step runs are linked in the lineage too
        linked = conn.execute(
            sa.select(sa.func.count())
            .select_from(lineage_edges)
            .where(lineage_edges.c.step_run_id == second.steps[2].id)
        ).scalar()
    assert linked == 2


def test_changing_a_param_reruns_only_the_steps_it_reaches(lite: Store, artifacts: ArtifactStore) -> None:
    run_pipeline(lite, artifacts, ex.numbers, {"n": 3, "offset": 0})
    again = run_pipeline(lite, artifacts, ex.numbers, {"n": 3, "offset": 5})
    assert again.statuses == {"make_numbers": "CACHED", "doubled": "CACHED", "total": "DONE"}
    assert materializers.load(again.outputs["total/output"], artifacts) == 11


def test_no_cache_and_cache_false_opt_out(lite: Store, artifacts: ArtifactStore) -> None:
    run_pipeline(lite, artifacts, ex.numbers, {"n": 2})
    fresh = run_pipeline(lite, artifacts, ex.numbers, {"n": 2}, use_cache=False)
    assert set(fresh.statuses.values()) == {"DONE"}

    @step(cache=False)
    def always() -> int:
        return 1

    @pipeline
    def uncached() -> None:
        always()

    run_pipeline(lite, artifacts, uncached)
    assert run_pipeline(lite, artifacts, uncached).statuses == {"always": "DONE"}


def test_a_removed_artifact_is_recomputed_instead_of_reused(lite: Store, artifacts: ArtifactStore) -> None:
    first = run_pipeline(lite, artifacts, ex.numbers, {"n": 2})
    path = artifacts.local_path(first.outputs["total/output"].sha256)
    assert path is not None
    path.unlink()
    again = run_pipeline(lite, artifacts, ex.numbers, {"n": 2})
    assert again.statuses["total"] == "DONE" and again.statuses["doubled"] == "CACHED"
    assert artifacts.exists(first.outputs["total/output"].sha256)


def test_tuple_outputs_and_numpy_flow_between_steps(lite: Store, artifacts: ArtifactStore) -> None:
    result = run_pipeline(lite, artifacts, ex.diamond, {"n": 4})
    assert result.status == "FINISHED"
    assert materializers.load(result.outputs["summary/output"], artifacts) == {"a": 12.0, "b": 18.0}
    assert result.outputs["vector/output"].materializer == "numpy"


def test_a_non_json_literal_argument_becomes_an_input_artifact(lite: Store, artifacts: ArtifactStore) -> None:
    @pipeline
    def from_array(values: np.ndarray) -> None:
        ex.scaled(values, 2.0)

    result = run_pipeline(lite, artifacts, from_array, {"values": np.arange(3.0)})
    assert result.status == "FINISHED"
    np.testing.assert_array_equal(
        materializers.load(result.outputs["scaled/output"], artifacts), [0.0, 2.0, 4.0]
    )
    from triops.store.repositories import pipelines as repo

    with lite.connect() as conn:
        edges = repo.edges_of(conn, [result.steps[0].id])
    assert {(e.direction, e.name, e.materializer) for e in edges} == {
        ("in", "values", "numpy"),
        ("out", "output", "numpy"),
    }


def test_the_listener_sees_every_state_change(lite: Store, artifacts: ArtifactStore) -> None:
    seen: list[tuple[str, str]] = []
    run_pipeline(
        lite, artifacts, ex.numbers, {"n": 2}, listener=lambda row: seen.append((row.step, row.status))
    )
    assert seen[:3] == [("make_numbers", "PENDING"), ("doubled", "PENDING"), ("total", "PENDING")]
    assert ("make_numbers", "RUNNING") in seen and seen[-1] == ("total", "DONE")


def test_the_ml_example_runs_and_its_second_run_is_all_cache_hits(
    lite: Store, artifacts: ArtifactStore
) -> None:
    from tests.mlops.pipelines import pipelines_ml

    first = run_pipeline(lite, artifacts, pipelines_ml.train_models, {"rows": 120})
    assert first.status == "FINISHED", first.error
    materializer_of = {name: ref.materializer for name, ref in first.outputs.items()}
    assert materializer_of == {
        "load/output": "polars",
        "split/train": "polars",
        "split/test": "polars",
        "train_logistic/output": "sklearn",
        "train_tree/output": "sklearn",
        "evaluate/output": "json",
        "predictions/output": "numpy",
    }
    scores = materializers.load(first.outputs["evaluate/output"], artifacts)
    assert 0.5 < scores["logistic"] <= 1.0
    second = run_pipeline(lite, artifacts, pipelines_ml.train_models, {"rows": 120})
    assert set(second.statuses.values()) == {"CACHED"} and second.outputs == first.outputs
