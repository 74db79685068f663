"""``triops import mlflow`` brings the model registry across: registered models, versions (of flavour
``mlflow``: recorded, never loaded) and aliases, from an MLflow SQL store written by the real client and
from a tracking server; idempotent, audited, and what cannot come is counted with its reason."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pytest
from tests.workspace.test_mlflow_import import target  # noqa: F401  (the fixture)

from triops import Workspace
from triops.errors import InvalidInputError
from triops.settings import Settings
from triops.workspace.mlflow_import import import_mlflow

# one worker runs the module, so its MLflow registry source (~20 s, module-scoped) is written once, not once a worker
pytestmark = pytest.mark.xdist_group("mlflow-import-registry")


@pytest.fixture(scope="module")
def registry_source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """An MLflow SQL store with model ``churn`` (v1 in Staging, v2 aliased champion, files as run
    artifacts) and model ``logged`` (an MLflow 3 logged model, whose files are not run artifacts)."""
    from mlflow.tracking import MlflowClient
    from sklearn.linear_model import LogisticRegression

    root = tmp_path_factory.mktemp("mlflow-reg")
    old = Path.cwd()
    os.chdir(root)
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    uri = f"sqlite:///{root / 'mlflow.db'}"
    try:
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment("reg")
        x = np.random.default_rng(0).normal(size=(40, 2))
        fitted = LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))
        with mlflow.start_run() as run:
            mlflow.sklearn.save_model(fitted, root / "saved")
            mlflow.log_artifacts(str(root / "saved"), "model")
            mlflow.sklearn.log_model(fitted, name="lm")
        client = MlflowClient()
        mlflow.register_model(f"runs:/{run.info.run_id}/model", "churn")
        mlflow.register_model(f"runs:/{run.info.run_id}/model", "churn")
        client.transition_model_version_stage("churn", "1", "Staging")
        client.set_registered_model_alias("churn", "champion", "2")
        client.set_registered_model_tag("churn", "team", "risk")
        client.set_model_version_tag("churn", "2", "validated", "yes")
        mlflow.register_model(f"runs:/{run.info.run_id}/lm", "logged")
        yield uri, run.info.run_id
    finally:
        mlflow.set_tracking_uri(None)
        os.environ.pop("MLFLOW_EXPERIMENT_ID", None)
        mlflow.tracking.fluent._active_experiment_id = None
        os.chdir(old)


def test_import_brings_models_versions_and_aliases_once(
    target: Workspace,  # noqa: F811
    registry_source: tuple[str, str],
) -> None:
    uri, run_id = registry_source
    report = import_mlflow(target, uri)
    reg = report.registry
    assert (reg.models, reg.versions, reg.aliases) == (1, 2, 1)
    assert reg.stages_left == {"Staging": 1}
    assert reg.skipped == {"its files are not run artifacts (e.g. an MLflow 3 logged model, models:/m-…)": 1}
    champion = target.models.get("churn@champion")
    assert (champion.version, champion.model_type, champion.stage, champion.run_id) == (
        2,
        "mlflow",
        "development",
        run_id,
    )
    assert "churn" in {m["name"] for m in target.models.list_models()}
    from triops.mlops.registry.external import tags_of

    assert tags_of(target.models, "churn") == {0: {"team": "risk"}, 2: {"validated": "yes"}}
    with pytest.raises(InvalidInputError, match="flavour 'mlflow'"):
        target.models.load("churn/2")
    with pytest.raises(InvalidInputError, match="flavour 'mlflow'"):  # serving refuses it too
        target.serving.predict("churn@champion", {"a": 1.0, "b": 2.0})
    events = [e for e in target.governance.audit_events(limit=200) if e["action"] == "mlflow.import"]
    imported = sorted(
        (e["after"]["mlflow_model"], e["after"]["mlflow_version"])
        for e in events
        if e["object_type"] == "model_version"
    )
    assert imported == [("churn", 1), ("churn", 2)]
    again = import_mlflow(target, uri).registry
    assert (again.models, again.versions, again.aliases) == (0, 0, 0)
    assert again.skipped["already imported"] == 2
    assert len(target.models.versions("churn")) == 2
    assert target.governance.verify_audit().chain.ok


def test_import_registry_from_a_tracking_server(tmp_path: Path, registry_source: tuple[str, str]) -> None:
    """Over http: the source is a triops server serving the imported registry through its MLflow endpoint."""
    from tests.server.conftest import start_server

    settings = Settings(home=tmp_path)
    source_ws = Workspace.open(
        f"sqlite:///{tmp_path / 'src.db'}", artifact_root=tmp_path / "a1", settings=settings
    )
    target_ws = Workspace.open(
        f"sqlite:///{tmp_path / 'dst.db'}", artifact_root=tmp_path / "a2", settings=settings
    )
    import_mlflow(source_ws, registry_source[0])
    server, thread, url = start_server(source_ws, dev=True)
    try:
        reg = import_mlflow(target_ws, url).registry
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert (reg.models, reg.versions, reg.aliases) == (1, 2, 1)
    assert target_ws.models.get("churn@champion").version == 2
    assert target_ws.runs.get(registry_source[1]).artifacts
    source_ws.close()
    target_ws.close()
