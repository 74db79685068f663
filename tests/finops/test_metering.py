"""The FinOps hook inside a real pipeline run: steps are metered and priced, the cache's saving shows on
the second run, and a spent budget stops the next run before it starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.finops.conftest import usage
from tests.mlops.pipelines.pipelines_example import numbers

from triops.artifacts import ArtifactStore
from triops.domain.clock import utc_ms
from triops.errors import InvalidInputError
from triops.finops.budgets import new_budget
from triops.finops.demo import finops_demo
from triops.finops.metering import FinOpsHook
from triops.finops.prices import load_price_book
from triops.finops.service import FinOpsService
from triops.mlops.pipelines.runner import run_pipeline
from triops.store.engine import Store


def test_pipeline_steps_are_priced_and_budgets_stop_runs(sqlite_store: Store, tmp_path: Path) -> None:
    svc = FinOpsService(sqlite_store, load_price_book())
    hook = FinOpsHook(svc, environment="local", tags={"team": "ml"})
    artifacts = ArtifactStore(tmp_path / "artifacts")

    first = run_pipeline(sqlite_store, artifacts, numbers, {"n": 5}, project="demo", hooks=[hook])
    assert first.status == "FINISHED"
    costs = svc.costs(run_id=first.run_id)
    assert set(costs["step"]) == {"make_numbers", "doubled", "total"}
    # these steps take milliseconds: metered quantities are positive, costs may round to 0 micros
    assert (costs["cpu_core_hours"] > 0).all()
    assert (costs["memory_gib_hours"] > 0).all()
    assert (costs["cost_micros"] >= 0).all()
    assert set(costs["team"]) == {"ml"}

    second = run_pipeline(sqlite_store, artifacts, numbers, {"n": 5}, project="demo", hooks=[hook])
    cached = svc.costs(run_id=second.run_id)
    assert cached["cpu_core_hours"].sum() == 0  # every step came from the cache
    assert cached["cost_micros"].sum() == 0
    metered = svc.usage(project="demo")
    assert metered.filter(metered["tags"].str.contains('"cache_hit":"true"')).height == 3

    # an hour-long step of an earlier run spends the whole (small) budget
    svc.record_usage([usage(project="demo", environment="local", started_ms=utc_ms(svc.clock.now()) - 1000)])
    svc.set_budget(new_budget("project", "demo", "month", "0.01", "EUR"))
    third = run_pipeline(sqlite_store, artifacts, numbers, {"n": 6}, project="demo", hooks=[hook])
    assert third.status == "FAILED"
    assert "refused" in (third.error or "")
    assert svc.costs(run_id=third.run_id).height == 0  # no step started


def test_hook_refuses_an_environment_missing_from_the_catalog(sqlite_store: Store) -> None:
    svc = FinOpsService(sqlite_store, load_price_book())
    with pytest.raises(InvalidInputError, match="'moon'"):
        FinOpsHook(svc, environment="moon")


def test_demo_story_shows_cache_saving_alerts_and_a_refused_run(sqlite_store: Store) -> None:
    svc = FinOpsService(sqlite_store, load_price_book())
    now = utc_ms(svc.clock.now()) - 60_000
    svc.record_usage(
        [
            usage(project="demo", run_id="r1", step="prep", environment="local", started_ms=now),
            usage(project="demo", run_id="r1", step="fit", environment="local", started_ms=now),
            usage(
                project="demo",
                run_id="r2",
                step="prep",
                environment="local",
                started_ms=now,
                wall_s=0.0,
                cpu_s=0.0,
                tags={"cache_hit": "true"},
            ),
            usage(
                project="demo",
                run_id="r2",
                step="fit",
                environment="local",
                started_ms=now,
                wall_s=0.0,
                cpu_s=0.0,
                tags={"cache_hit": "true"},
            ),
        ]
    )
    demo = finops_demo(svc, project="demo", pipeline="train", first_run_id="r1", second_run_id="r2")
    assert demo.currency == "EUR"
    assert demo.first_run_micros > 0
    assert demo.second_run_micros == 0
    assert demo.cache_saving_micros == demo.first_run_micros
    assert {(s["run_id"], s["step"]) for s in demo.steps} == {
        ("r1", "fit"),
        ("r1", "prep"),
        ("r2", "fit"),
        ("r2", "prep"),
    }
    assert [a.threshold_pct for a in demo.alerts] == [50, 80]
    assert demo.refusal is not None
    assert "estimate" in demo.refusal
    assert demo.estimate_micros is not None
    assert demo.estimate_micros > 0
