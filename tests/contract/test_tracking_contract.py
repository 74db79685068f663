"""Tracking behaviour through the public SDK, on SQLite and on PostgreSQL (the store contract suite)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from triops import Workspace
from triops.domain.records import RunStatus
from triops.errors import ConflictError, FilterSyntaxError, InvalidInputError, NotFoundError
from triops.governance import roles
from triops.settings import Settings


@pytest.fixture
def ws(store_url: str, tmp_path: Path) -> Iterator[Workspace]:
    workspace = Workspace.open(
        store_url,
        artifact_root=tmp_path / "artifacts",
        settings=Settings(home=tmp_path, flush_interval_s=0.05),
    )
    # on a shared (PostgreSQL) store searches list only runs of projects the user may read
    # (the workspace acts as its OS user: the owner of a fresh SQLite store; conftest made it PostgreSQL's admin)
    roles.bootstrap_owner(workspace.store, workspace.settings.acting_user)
    yield workspace
    workspace.close()


def test_a_run_records_params_metrics_tags_and_finishes(ws: Workspace) -> None:
    with ws.start_run("benefits", name="rf-1", tags={"team": "risk"}) as run:
        run.log_params({"model": "rf", "depth": 5})
        run.log_metric("auc", 0.81, step=0)
        run.log_metrics({"auc": 0.86, "loss": 0.3}, step=1)
        run.set_tag("stage", "dev")
    stored = ws.runs.get(run.id)
    assert stored.status is RunStatus.FINISHED
    assert stored.name == "rf-1" and stored.project == "benefits"
    assert stored.params == {"model": "rf", "depth": "5"}
    assert stored.metrics == {"auc": 0.86, "loss": 0.3}
    assert stored.tags == {"team": "risk", "stage": "dev"}
    assert stored.end_time is not None and stored.end_time >= stored.start_time


def test_metric_history_keeps_every_point_in_step_order(ws: Workspace) -> None:
    with ws.start_run("p") as run:
        for step in range(100):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        history = run.metric_history("loss")
    assert [m.step for m in history] == list(range(100))
    assert history[-1].value == pytest.approx(0.01)
    assert ws.runs.get(run.id).metrics["loss"] == pytest.approx(0.01)


def test_steps_default_to_the_next_step_per_key(ws: Workspace) -> None:
    with ws.start_run("p") as run:
        for value in (3.0, 2.0, 1.0):
            run.log_metric("loss", value)
    assert [m.step for m in ws.runs.metric_history(run.id, "loss")] == [0, 1, 2]


def test_latest_metric_is_the_highest_step_not_the_last_logged(ws: Workspace) -> None:
    with ws.start_run("p") as run:
        run.log_metric("acc", 0.9, step=10)
        run.flush()
        run.log_metric("acc", 0.1, step=2)
    assert ws.runs.get(run.id).metrics["acc"] == 0.9


def test_nan_and_infinities_are_stored_faithfully(ws: Workspace) -> None:
    with ws.start_run("p") as run:
        run.log_metric("a", math.nan)
        run.log_metric("b", math.inf)
        run.log_metric("c", -math.inf)
    metrics = ws.runs.get(run.id).metrics
    assert math.isnan(metrics["a"])
    assert metrics["b"] == math.inf and metrics["c"] == -math.inf
    assert math.isnan(ws.runs.metric_history(run.id, "a")[0].value)


@pytest.mark.parametrize("value", ["0.5", None, [1.0], {"x": 1}, True])
def test_a_non_numeric_metric_is_refused_naming_key_and_type(ws: Workspace, value: object) -> None:
    with ws.start_run("p") as run, pytest.raises(InvalidInputError) as info:
        run.log_metric("auc", value)  # type: ignore[arg-type]
    assert "'auc'" in str(info.value) and type(value).__name__ in str(info.value)


def test_params_are_immutable(ws: Workspace) -> None:
    with ws.start_run("p") as run:
        run.log_param("lr", 0.1)
        run.log_param("lr", 0.1)  # same value again is fine
        with pytest.raises(ConflictError, match="immutable"):
            run.log_param("lr", 0.2)
    assert ws.runs.get(run.id).params == {"lr": "0.1"}


@pytest.mark.parametrize("key", ["", "a" * 251, "bad\nkey", "semi;colon", "/lead", "trail/", "x" * 300])
def test_bad_keys_are_refused_with_the_rule(ws: Workspace, key: str) -> None:
    with ws.start_run("p") as run, pytest.raises(InvalidInputError, match="keys are 1-250 characters"):
        run.log_metric(key, 1.0)


def test_an_exception_marks_the_run_failed_with_the_error(ws: Workspace) -> None:
    with pytest.raises(ZeroDivisionError), ws.start_run("p") as run:
        run.log_metric("x", 1.0)
        _ = 1 / 0
    stored = ws.runs.get(run.id)
    assert stored.status is RunStatus.FAILED
    assert stored.error is not None and "ZeroDivisionError" in stored.error
    assert stored.metrics == {"x": 1.0}


def test_ctrl_c_marks_the_run_killed(ws: Workspace) -> None:
    with pytest.raises(KeyboardInterrupt), ws.start_run("p") as run:
        raise KeyboardInterrupt
    assert ws.runs.get(run.id).status is RunStatus.KILLED


def test_unknown_run_id_is_not_found(ws: Workspace) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        ws.runs.get("no-such-run")


def test_artifacts_are_content_addressed_and_deduplicated(ws: Workspace, tmp_path: Path) -> None:
    source = tmp_path / "model.bin"
    source.write_bytes(b"weights" * 1000)
    with ws.start_run("p") as run:
        first = run.log_artifact(source)
        second = run.log_artifact(b"weights" * 1000, name="copy.bin")
    assert first.sha256 == second.sha256
    stored = ws.runs.get(run.id)
    assert {a.name for a in stored.artifacts} == {"model.bin", "copy.bin"}
    assert ws.artifacts.get_bytes(first.sha256) == b"weights" * 1000
    blobs = [p for p in (tmp_path / "artifacts").rglob("*") if p.is_file()]
    assert len(blobs) == 1


def test_search_filters_and_orders_by_metric(ws: Workspace) -> None:
    for i, model in enumerate(["rf", "rf", "lr", "rf"]):
        with ws.start_run("search", tags={"team": "x" if i % 2 == 0 else "y"}) as run:
            run.log_param("model", model)
            run.log_metric("auc", 0.7 + i * 0.05)
    with ws.start_run("other") as run:
        run.log_metric("auc", 0.99)
    found = ws.runs.search(
        project="search",
        filter="metrics.auc > 0.72 and params.model = 'rf'",
        order_by=["metrics.auc desc"],
    )
    assert [r.metrics["auc"] for r in found] == pytest.approx([0.85, 0.75])
    assert [r.tags["team"] for r in found] == ["y", "y"]
    assert len(ws.runs.search(filter="metrics.auc >= 0.99")) == 1
    assert len(ws.runs.search(project="search", limit=2)) == 2


def test_search_missing_metrics_sort_last_in_both_directions(ws: Workspace) -> None:
    for value in (0.2, None, 0.9):
        with ws.start_run("order") as run:
            if value is not None:
                run.log_metric("auc", value)
    for direction in ("asc", "desc"):
        found = ws.runs.search(project="order", order_by=[f"metrics.auc {direction}"])
        assert "auc" not in found[-1].metrics


def test_injection_like_filter_text_matches_literally(ws: Workspace) -> None:
    nasty = "x'; DROP TABLE runs; --"
    with ws.start_run("inj") as run:
        run.log_param("name", nasty)
    found = ws.runs.search(filter="params.name = 'x''; DROP TABLE runs; --'")
    assert [r.id for r in found] == [run.id]
    with pytest.raises(FilterSyntaxError):
        ws.runs.search(filter="params.name = 'x'; DROP TABLE runs; --")
    assert ws.runs.get(run.id).params["name"] == nasty


def test_filter_syntax_error_names_its_column(ws: Workspace) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        ws.runs.search(filter="metrics.auc >> 0.8")
    assert info.value.column == 14
    assert "column 14" in str(info.value)


def test_runs_and_their_histories_are_read_together(ws: Workspace) -> None:
    import sqlalchemy as sa

    made = []
    for n in range(3):
        with ws.start_run("benefits", name=f"h-{n}") as run:
            for step in (2, 0, 1):
                run.log_metrics({"auc": 0.5 + n / 10 + step / 100, "loss": 1.0 - step / 10}, step=step)
            if n == 0:
                run.log_metric("only0", float("nan"), step=0)
        made.append(ws.runs.get(run.id))
    keys = ["auc", "loss", "only0"]
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    sa.event.listen(ws.store.engine, "before_cursor_execute", seen)
    try:
        found = ws.runs.histories_of(made, keys)
    finally:
        sa.event.remove(ws.store.engine, "before_cursor_execute", seen)
    assert len([s for s in statements if "FROM metrics" in s]) == 1, statements
    for r in made:
        for key in keys:
            expected = ws.runs.metric_history(r.id, key)
            got = found[r.id][key]
            assert [(m.step, m.timestamp_ms) for m in got] == [(m.step, m.timestamp_ms) for m in expected]
            assert [str(m.value) for m in got] == [str(m.value) for m in expected]
    assert [m.step for m in found[made[1].id]["auc"]] == [0, 1, 2]
    assert found[made[1].id]["only0"] == [] and math.isnan(found[made[0].id]["only0"][0].value)
    assert ws.runs.metric_histories(made[2].id, ["loss"]) == {"loss": found[made[2].id]["loss"]}
    ids = [made[2].id, made[0].id, made[2].id]
    assert [r.id for r in ws.runs.get_many(ids)] == [made[2].id, made[0].id]
    assert ws.runs.get_many(ids)[1] == ws.runs.get(made[0].id)
    with pytest.raises(NotFoundError, match="nope"):
        ws.runs.get_many([made[0].id, "nope"])
