"""Dataset versions in the store (SQLite and PostgreSQL): register, get, list, diff, trend."""

from __future__ import annotations

import polars as pl
import pytest
import sqlalchemy as sa

from triops.dataops.contracts import parse_contract
from triops.dataops.datasets import content_hash, diff_versions, register_dataset
from triops.dataops.demo import benefits_contract, corrupt_batch, load_benefits
from triops.dataops.sources import open_source
from triops.domain.clock import FixedClock
from triops.errors import InvalidInputError, NotFoundError
from triops.store.engine import Store
from triops.store.repositories import dataops as repo
from triops.store.repositories.runs import ensure_project
from triops.store.tables_dataops import dataset_versions

from .helpers import PEOPLE, good_people


@pytest.fixture
def ds_store(store: Store) -> tuple[Store, str]:
    with store.begin() as conn:
        project_id = ensure_project(conn, "benefits", 0)
    return store, project_id


def test_register_and_get_versions(ds_store: tuple[Store, str]) -> None:
    store, project = ds_store
    clock = FixedClock()
    first = register_dataset(
        store,
        project_id=project,
        name="people",
        data=good_people(),
        contract=parse_contract(PEOPLE),
        clock=clock,
    )
    assert first.version.version == 1 and first.version.passed
    assert (
        first.score is not None and round(first.version.score, 2) == round(first.score.score, 2) == 97.79
    )  # one null email
    second = register_dataset(
        store, project_id=project, name="people", data=good_people().head(3), clock=clock
    )
    assert second.version.version == 2
    with store.connect() as conn:
        latest = repo.get_dataset_version(conn, project, "people")
        v1 = repo.get_dataset_version(conn, project, "people", 1)
        listed = repo.list_dataset_versions(conn, project)
    assert latest.version == 2 and latest.row_count == 3 and latest.contract_id is None
    assert v1.contract_id == "people" and v1.contract_version == "1.0.0"
    assert v1.schema == {"id": "Int64", "age": "Int64", "state": "String", "email": "String"}
    assert v1.content_hash == content_hash(open_source(good_people()))
    assert v1.profile is not None and v1.profile["row_count"] == 4
    assert v1.quality is not None and v1.quality["passed"] is True
    assert [v.version for v in listed] == [1, 2]


def test_failed_check_is_never_registered_as_passed(ds_store: tuple[Store, str]) -> None:
    store, project = ds_store
    bad = corrupt_batch(load_benefits(), seed=1)
    result = register_dataset(
        store, project_id=project, name="benefits", data=bad, contract=benefits_contract()
    )
    assert result.report is not None and not result.report.passed
    assert result.version.passed is False
    with store.connect() as conn:
        stored = repo.get_dataset_version(conn, project, "benefits")
    assert stored.passed is False
    assert stored.score is not None and stored.score < 100


def test_repository_refuses_passed_with_a_failing_quality_result(ds_store: tuple[Store, str]) -> None:
    store, project = ds_store
    with pytest.raises(InvalidInputError, match="cannot register a version as passed"), store.begin() as conn:
        repo.insert_dataset_version(
            conn,
            project_id=project,
            name="x",
            content_hash="0" * 64,
            row_count=1,
            schema={},
            passed=True,
            now_ms=1,
            quality={"passed": False, "errors": 2},
        )
    with store.connect() as conn:
        assert repo.list_dataset_versions(conn, project, "x") == []


def test_unknown_dataset_or_version_is_not_found(ds_store: tuple[Store, str]) -> None:
    store, project = ds_store
    register_dataset(store, project_id=project, name="people", data=good_people())
    with store.connect() as conn:
        with pytest.raises(NotFoundError, match="versions of 'people': 1"):
            repo.get_dataset_version(conn, project, "people", 7)
        with pytest.raises(NotFoundError, match="register it first"):
            repo.get_dataset_version(conn, project, "nobody")


def test_diff_versions_and_quality_trend(ds_store: tuple[Store, str]) -> None:
    store, project = ds_store
    benefits = load_benefits()
    register_dataset(store, project_id=project, name="b", data=benefits, contract=benefits_contract())
    shifted = benefits.with_columns((pl.col("age") + 15).alias("age")).drop("rr")
    register_dataset(store, project_id=project, name="b", data=shifted)
    diff = diff_versions(store, project, "b", 1, 2)
    assert diff.method == "estimated"  # no artifact store: the data was not kept
    assert diff.removed == ("rr",)
    levels = {s.column: s.level for s in diff.shifts}
    assert levels["age"] == "major"
    assert levels["state"] == "stable"
    assert levels["rownames"] == "identifier"
    assert levels["sex"] == "not compared"  # restricted: its profile holds no values
    with store.connect() as conn:
        trend = repo.quality_trend(conn, project, "b")
    assert [(v, s) for v, s, _ in trend] == [(1, 100.0), (2, None)]


def test_unknown_project_is_not_found(ds_store: tuple[Store, str]) -> None:
    store, _ = ds_store
    with pytest.raises(NotFoundError, match="project id"), store.begin() as conn:
        repo.insert_dataset_version(
            conn,
            project_id="nope",
            name="x",
            content_hash="0",
            row_count=0,
            schema={},
            passed=False,
            now_ms=1,
        )
    with store.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(dataset_versions)).scalar() == 0


def test_dataops_demo_registers_clean_data_and_stops_the_bad_batch(ds_store: tuple[Store, str]) -> None:
    from triops.dataops.demo import run_dataops_demo

    store, project = ds_store
    demo = run_dataops_demo(store, project)
    assert demo.registered.version.passed and demo.registered.version.version == 1
    assert not demo.gate.passed
    assert {r.rule for _, r in demo.gate.errors} == {
        "age.range",
        "state.known_state_code",
        "ui.required",
        "rr.required",
    }
