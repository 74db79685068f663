"""The maturity evidence read from a real store (SQLite and PostgreSQL): what each figure counts, the audit
log verified as part of it, and the inventory behind the Wardley map of the records."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
import sqlalchemy as sa
from sklearn.linear_model import LogisticRegression
from tests.mlops.pipelines.pipelines_example import numbers
from tests.mlops.serving.helpers import CONTRACT, claimants, register_served

from triops import Workspace
from triops.dataops.demo import benefits_contract_path, load_benefits
from triops.mlops.pipelines.authoring import pipeline, step
from triops.settings import Settings
from triops.store.tables_governance import audit_events
from triops.store.tables_monitoring import monitors
from triops.strategy.maturity import assess
from triops.workspace.evidence import collect_evidence, collect_inventory, gather_evidence


@step
def benefits() -> pl.DataFrame:
    return load_benefits().head(200)


@step(contracts={"raw": str(benefits_contract_path())})
def checked(raw: pl.DataFrame) -> int:
    return raw.height


@pipeline
def gated() -> None:
    checked(benefits())


@step
def claimant_rows() -> pl.DataFrame:
    return pl.from_pandas(claimants())


@step(contracts={"raw": CONTRACT})
def checked_claims(raw: pl.DataFrame) -> int:
    return raw.height


@pipeline
def clean() -> None:
    """A pipeline whose contract gate passes."""
    checked_claims(claimant_rows())


@pytest.fixture
def ws(store_url: str, tmp_path: Path) -> Iterator[Workspace]:
    workspace = Workspace.open(
        store_url, artifact_root=tmp_path / "artifacts", settings=Settings(home=tmp_path)
    )
    yield workspace
    workspace.close()


def _register(ws: Workspace, *, datasets: tuple[str, ...], commit: str | None, run_id: str | None) -> object:
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"age": rng.integers(18, 65, 120), "rr": rng.random(120)})
    y = np.where(x.rr > 0.5, "yes", "no")
    model = LogisticRegression().fit(x, y)
    return ws.models.register(
        "eligibility", model, training_frame=x, datasets=datasets, git_commit=commit, run_id=run_id
    )


def test_figures_count_what_the_store_holds(ws: Workspace) -> None:
    ws.run_pipeline(gated, project="benefits")
    ws.run_pipeline(gated, project="benefits")
    ws.run_pipeline(numbers, project="benefits")  # a second pipeline, without a contract gate
    with ws.start_run("benefits") as logged:
        logged.log_param("c", 1.0)
        logged.log_metric("auc", 0.7)
    with ws.start_run("benefits") as bare:
        bare.log_param("c", 2.0)
    version = ws.datasets.register(
        "claims", load_benefits().head(100), contract=benefits_contract_path(), project="benefits"
    )
    _register(ws, datasets=(version.version.id,), commit="a" * 40, run_id=logged.id)
    _register(ws, datasets=(), commit=None, run_id=None)

    ev = collect_evidence(ws.store)
    assert (ev.dataset_versions, ev.dataset_versions_scored) == (1, 1)
    assert (ev.pipelines, ev.pipelines_always_gated) == (2, 1)
    assert (ev.pipeline_runs, ev.pipeline_runs_gated, ev.pipeline_runs_costed) == (3, 2, 3)
    assert (ev.runs_tracked, ev.runs_tracked_logged) == (2, 1)
    assert (ev.model_versions, ev.model_versions_with_run, ev.model_versions_with_training_data) == (2, 1, 1)
    assert ev.model_versions_reproducible == 1
    assert ev.audit_events > 0 and ev.audit_verified is None

    result = assess(None, ev)
    assert result.dimension("data_contracts").level == 2  # one of two pipelines always gated: not "every"
    assert result.dimension("experiment_tracking").level == 1  # one tracked run logged no metric
    assert result.dimension("data_versioning").level == 2  # one of two versions links its training data
    assert result.dimension("pipeline_automation").level == 2
    assert result.dimension("cost_visibility").level == 2


def test_gather_evidence_verifies_the_audit_log_and_a_tampered_log_fails(ws: Workspace) -> None:
    assert ws.principal.can("role.write", None)  # the owner (bootstrapped, or `init --admin` on PostgreSQL)
    first = gather_evidence(ws)  # the owner's bootstrap is the log's first event
    assert first.audit_events == 1 and first.audit_verified is True
    _register(ws, datasets=(), commit=None, run_id=None)
    ev = gather_evidence(ws)
    assert ev.audit_verified is True
    assert assess(None, ev).dimension("audit_trail").level == 3
    with ws.store.begin() as conn:
        conn.execute(sa.update(audit_events).where(audit_events.c.seq == 1).values(actor="mallory"))
    tampered = gather_evidence(ws)
    assert tampered.audit_verified is False
    assert assess(None, tampered).dimension("audit_trail").level == 2


def test_inventory_lists_projects_models_pipelines_and_datasets(ws: Workspace) -> None:
    ws.run_pipeline(gated, project="benefits")
    with ws.start_run("benefits") as run:
        run.log_metric("auc", 0.7)
    _register(ws, datasets=("ds-1",), commit=None, run_id=run.id)
    ws.datasets.register(
        "claims", load_benefits().head(50), contract=benefits_contract_path(), project="benefits"
    )
    inventory = collect_inventory(ws.store, "2025-01-01")
    assert "benefits" in inventory.projects
    assert ("claims", "benefits", True) in inventory.datasets
    assert [(m.name, m.project, m.stage) for m in inventory.models] == [
        ("eligibility", "benefits", "development")
    ]
    assert ("gated", "benefits") in inventory.pipelines
    assert inventory.executors == ("inline",)


def test_scheduled_monitor_runs_triggered_runs_cached_steps_and_serving_unit_costs(ws: Workspace) -> None:
    ws.run_pipeline(clean, project="benefits")
    ws.run_pipeline(clean, project="benefits")  # the same inputs: its steps come from the cache
    # as the feedback loop runs a retraining: tagged with its trigger, no cache, so its gate checks the data
    ws.run_pipeline(clean, project="benefits", use_cache=False, tags={"triggered_by": "monitor.alert"})
    register_served(ws, onnx=False)
    ws.monitoring.create("claims@champion", window="50", every="1h")
    ws.serving.predict("claims@champion", claimants(60, seed=1)[["age", "tenure", "income"]])
    ws.monitoring.run("claims@champion")  # by hand: not a scheduled run
    ev = collect_evidence(ws.store)
    assert (ev.pipeline_runs_cached, ev.pipeline_runs_triggered, ev.retrain_runs_gated) == (1, 1, 1)
    assert (ev.monitor_runs_scheduled, ev.serving_versions) == (0, 1)
    assert assess(None, ev).dimension("pipeline_automation").level == 3

    ws.store.write(lambda conn: conn.execute(sa.update(monitors).values(next_due_ms=1)))
    ws.serving.predict("claims@champion", claimants(60, seed=2)[["age", "tenure", "income"]])
    [outcome] = ws.monitoring.run_due()  # what cron or the server's scheduler runs
    assert outcome["status"] == "ok"
    ws.serving.close()  # the serving window is metered and priced
    ev = collect_evidence(ws.store)
    assert (ev.monitor_runs_scheduled, ev.serving_versions, ev.serving_versions_costed) == (1, 1, 1)
    result = assess(None, ev)
    assert result.dimension("pipeline_automation").level == 4
    assert result.dimension("unit_economics").level == 2
