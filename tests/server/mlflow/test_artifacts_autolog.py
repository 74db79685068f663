"""Artifacts through MLflow's proxied artifact routes, and ``mlflow.sklearn.autolog()`` on a pipeline fit."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
from mlflow.tracking import MlflowClient
from tests.server.conftest import LiveServer


def test_log_artifacts_list_and_download(mlflow_client: LiveServer, tmp_path: Path) -> None:
    report = tmp_path / "report.txt"
    report.write_text("auc 0.91\n")
    plots = tmp_path / "plots"
    (plots / "roc").mkdir(parents=True)
    (plots / "roc" / "curve.csv").write_text("fpr,tpr\n0,0\n1,1\n")
    (plots / "summary.json").write_text('{"ok": true}')
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(report))
        mlflow.log_artifacts(str(plots), artifact_path="plots")
        mlflow.log_text("hello", "notes/hello.txt")
    client = MlflowClient()
    top = client.list_artifacts(run.info.run_id)
    assert [(f.path, f.is_dir) for f in top] == [("notes", True), ("plots", True), ("report.txt", False)]
    assert top[2].file_size == len("auc 0.91\n")
    inner = client.list_artifacts(run.info.run_id, "plots")
    assert [f.path for f in inner] == ["plots/roc", "plots/summary.json"]
    out = Path(client.download_artifacts(run.info.run_id, "plots", str(tmp_path / "dl")))
    assert (out / "roc" / "curve.csv").read_text() == "fpr,tpr\n0,0\n1,1\n"
    assert mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/notes/hello.txt") == "hello"
    # the same artifacts are triops run artifacts, content-addressed
    names = {a.name for a in mlflow_client.workspace.runs.get(run.info.run_id).artifacts}
    assert names == {"report.txt", "plots/roc/curve.csv", "plots/summary.json", "notes/hello.txt"}


def test_sklearn_autolog_on_a_pipeline(mlflow_client: LiveServer) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    mlflow.set_experiment("autolog")
    mlflow.sklearn.autolog(log_models=False, silent=True)
    try:
        with mlflow.start_run() as run:
            make_pipeline(StandardScaler(), LogisticRegression(C=0.5)).fit(x, y)
    finally:
        mlflow.sklearn.autolog(disable=True)
    got = MlflowClient().get_run(run.info.run_id)
    assert got.data.params["logisticregression__C"] == "0.5"
    assert got.data.metrics["training_accuracy_score"] > 0.9
    assert got.data.tags["estimator_name"] == "Pipeline"
    triops_run = mlflow_client.workspace.runs.get(run.info.run_id)
    assert triops_run.project == "autolog"
    assert triops_run.metrics["training_accuracy_score"] > 0.9


def test_autolog_with_models_logs_a_loadable_model(mlflow_client: LiveServer) -> None:
    """MLflow 3 logged models: autolog's default (log_models=True) logs the fitted pipeline; its files are
    the run's artifacts under model/, and it loads back through runs:/ and models:/<model id>."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(1)
    x = rng.normal(size=(120, 3))
    y = (x[:, 0] > 0).astype(int)
    mlflow.set_experiment("autolog-models")
    mlflow.sklearn.autolog(silent=True)
    try:
        with mlflow.start_run() as run:
            fitted = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    finally:
        mlflow.sklearn.autolog(disable=True)
    client = MlflowClient()
    got = client.get_run(run.info.run_id)
    assert got.data.metrics["training_accuracy_score"] > 0.9
    assert not any(k.startswith("triops.") for k in got.data.tags)
    models = client.search_logged_models(experiment_ids=[got.info.experiment_id])
    assert [(m.name, m.source_run_id, str(m.status)) for m in models] == [("model", run.info.run_id, "READY")]
    names = {a.name for a in mlflow_client.workspace.runs.get(run.info.run_id).artifacts}
    assert "model/MLmodel" in names
    # autolog logs the training data as a dataset input (log-inputs), kept with the run
    inputs = got.inputs.dataset_inputs
    assert [i.tags[0].value for i in inputs] == ["train"]
    assert inputs[0].dataset.digest
    loaded = mlflow.sklearn.load_model(f"runs:/{run.info.run_id}/model")
    assert (loaded.predict(x) == fitted.predict(x)).all()
    by_id = mlflow.pyfunc.load_model(f"models:/{models[0].model_id}")
    assert (by_id.predict(x) == fitted.predict(x)).all()


def test_artifact_uploads_stream_past_the_json_body_limit(mlflow_client: LiveServer, tmp_path: Path) -> None:
    """The server refuses JSON bodies over 2 MiB here; an artifact upload streams to disk under its own limit."""
    big = tmp_path / "weights.bin"
    big.write_bytes(np.random.default_rng(2).bytes(3 * 1024 * 1024))
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(big), artifact_path="blobs")
    out = MlflowClient().download_artifacts(run.info.run_id, "blobs/weights.bin", str(tmp_path / "dl"))
    assert Path(out).read_bytes() == big.read_bytes()
