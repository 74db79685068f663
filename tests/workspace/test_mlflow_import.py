"""``triops import mlflow``: experiments, runs (params, metric history, tags), artifacts and nested runs
come over from MLflow SQL and file stores written by the real ``mlflow`` client; a re-import adds nothing;
every imported run is audited with its MLflow id. Targets: SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest

from triops import Workspace
from triops.errors import PermissionDeniedError
from triops.governance import roles
from triops.governance.rbac import Principal
from triops.governance.roles import load_principal
from triops.settings import Settings
from triops.workspace.mlflow_import import SOURCE_TAG, import_mlflow

TRIOPS = str(Path(sys.executable).parent / "triops")
# one worker runs the module, so its MLflow sources (~20 s, module-scoped) are written once, not once a worker
pytestmark = pytest.mark.xdist_group("mlflow-import")


def _write_source(uri: str, workdir: Path) -> dict[str, str]:
    """Log a small history with the real client into ``uri``; returns names → MLflow run ids."""
    from mlflow.tracking import MlflowClient

    old = Path.cwd()
    os.chdir(workdir)
    try:
        mlflow.set_tracking_uri(uri)
        ids: dict[str, str] = {}
        mlflow.set_experiment("Churn Model/v1")  # not a valid project name: imported renamed
        with mlflow.start_run(run_name="parent") as parent:
            mlflow.log_param("model", "rf")
            for step in range(10):
                mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
            mlflow.log_text("report", "reports/summary.txt")
            with mlflow.start_run(run_name="child", nested=True) as child:
                mlflow.log_metric("auc", 0.8)
            ids["parent"], ids["child"] = parent.info.run_id, child.info.run_id
        with mlflow.start_run(run_name="gone") as gone:
            mlflow.log_metric("auc", 0.1)
        MlflowClient().delete_run(gone.info.run_id)
        ids["gone"] = gone.info.run_id
        mlflow.set_experiment("Default")
        with mlflow.start_run(run_name="plain") as plain:
            mlflow.set_tag("team", "risk")
        ids["plain"] = plain.info.run_id
        return ids
    finally:
        mlflow.set_tracking_uri(None)
        os.environ.pop("MLFLOW_EXPERIMENT_ID", None)
        mlflow.tracking.fluent._active_experiment_id = None
        os.chdir(old)


@pytest.fixture(scope="module")
def mlflow_sources(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, str, dict[str, str], dict[str, str]]]:
    root = tmp_path_factory.mktemp("mlflow-src")
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    sql_uri = f"sqlite:///{root / 'mlflow.db'}"
    sql_ids = _write_source(sql_uri, root)
    file_dir = root / "files"
    file_dir.mkdir()
    file_ids = _write_source(f"file:{file_dir / 'mlruns'}", file_dir)
    yield sql_uri, f"file:{file_dir / 'mlruns'}", sql_ids, file_ids
    os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)


def load_principal_of(ws: Workspace) -> Principal:
    with ws.store.connect() as conn:
        return load_principal(conn, ws.principal.name, "user")


@pytest.fixture
def target(store_url: str, tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.open(store_url, artifact_root=tmp_path / "artifacts", settings=Settings(home=tmp_path))
    if store_url.startswith("postgresql"):  # a team store: the importing user needs run.write
        roles.grant(ws.store, Principal.owner("admin"), ws.principal.name, "contributor", None)
        ws = ws.acting_as(load_principal_of(ws))
    yield ws
    ws.close()


@pytest.mark.parametrize("kind", ["sql", "file"])
def test_import_brings_runs_over_once(
    target: Workspace, mlflow_sources: tuple[str, str, dict[str, str], dict[str, str]], kind: str
) -> None:
    sql_uri, file_uri, sql_ids, file_ids = mlflow_sources
    uri, ids = (sql_uri, sql_ids) if kind == "sql" else (file_uri, file_ids)
    report = import_mlflow(target, uri)
    assert report.runs_imported == 3
    assert report.projects == {"Churn Model/v1": "Churn-Model-v1", "Default": "default"}
    assert report.skipped == {"deleted in MLflow (--include-deleted imports it)": 1}
    parent = target.runs.get(ids["parent"])  # the MLflow run id is the triops run id
    assert parent.project == "Churn-Model-v1"
    assert parent.name == "parent"
    assert parent.params == {"model": "rf"}
    assert parent.tags[SOURCE_TAG] == ids["parent"]
    assert [m.step for m in target.runs.metric_history(ids["parent"], "loss")] == list(range(10))
    assert parent.metrics["loss"] == pytest.approx(0.1)
    assert {a.name for a in parent.artifacts} == {"reports/summary.txt"}
    assert target.artifacts.get_bytes(parent.artifacts[0].sha256) == b"report"
    child = target.runs.get(ids["child"])
    assert child.tags["mlflow.parentRunId"] == ids["parent"]
    assert child.parent_id == ids["parent"]  # the nested run is a child run of its imported parent
    assert report.parents_linked == 1 and not report.parents_not_linked
    assert [r.id for r in target.runs.children(ids["parent"])] == [ids["child"]]
    assert target.runs.get(ids["plain"]).project == "default"
    # a second import adds nothing and says why
    again = import_mlflow(target, uri)
    assert again.runs_imported == 0
    assert again.skipped["already imported"] == 3
    assert again.parents_linked == 0 and not again.parents_not_linked
    assert len(target.runs.search(project="Churn-Model-v1")) == 2
    assert len(target.runs.metric_history(ids["parent"], "loss")) == 10
    # every imported run is audited as imported, with its MLflow id
    events = [e for e in target.governance.audit_events(limit=100) if e["action"] == "mlflow.import"]
    assert sorted(e["object_id"] for e in events) == sorted([ids["parent"], ids["child"], ids["plain"]])
    assert all(e["after"]["source"] == uri and e["after"]["mlflow_run_id"] == e["object_id"] for e in events)
    # the bulk-appended events keep the hash chain intact
    assert target.governance.verify_audit().chain.ok


def test_include_deleted_imports_deleted_runs_marked(
    target: Workspace, mlflow_sources: tuple[str, str, dict[str, str], dict[str, str]]
) -> None:
    sql_uri, _, sql_ids, _ = mlflow_sources
    report = import_mlflow(target, sql_uri, include_deleted=True)
    assert report.runs_imported == 4
    assert target.runs.get(sql_ids["gone"]).tags["triops.lifecycle_stage"] == "deleted"


def test_cli_import_prints_summary_and_refuses_bad_source(
    sqlite_store_url: str, tmp_path: Path, mlflow_sources: tuple[str, str, dict[str, str], dict[str, str]]
) -> None:
    sql_uri = mlflow_sources[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIOPS_")}
    env["TRIOPS_HOME"] = str(tmp_path)
    args = [TRIOPS, "--store", sqlite_store_url, "import", "mlflow", "--from", sql_uri]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    assert "imported 3 runs" in done.stdout
    assert "Churn Model/v1 → project Churn-Model-v1" in done.stdout
    assert "skipped 1 runs: deleted in MLflow" in done.stdout
    again = subprocess.run(
        [*args, "--json"], env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert json.loads(again.stdout)["runs_skipped"] == {
        "already imported": 3,
        "deleted in MLflow (--include-deleted imports it)": 1,
    }
    bad = subprocess.run(
        [TRIOPS, "--store", sqlite_store_url, "import", "mlflow", "--from", "s3://bucket/mlruns"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr
    assert "--from" in bad.stderr


def test_import_needs_run_write_in_the_target_projects(
    store_url: str, tmp_path: Path, mlflow_sources: tuple[str, str, dict[str, str], dict[str, str]]
) -> None:
    ws = Workspace.open(store_url, artifact_root=tmp_path / "a", settings=Settings(home=tmp_path))
    try:
        roles.grant(ws.store, Principal.owner("admin"), "viv", "viewer", None)
        with ws.store.connect() as conn:
            viewer = ws.acting_as(load_principal(conn, "viv", "user"))
        with pytest.raises(PermissionDeniedError, match=r"run\.write"):
            import_mlflow(viewer, mlflow_sources[0])
        assert viewer.runs.search() == []
    finally:
        ws.close()


def test_import_from_a_tracking_server_over_http(
    target: Workspace, tmp_path: Path, mlflow_sources: tuple[str, str, dict[str, str], dict[str, str]]
) -> None:
    """``--from http://…``: the MLflow REST API of a tracking server (here a triops server, whose MLflow
    endpoint the real client tests cover) — runs, whole metric histories and proxied artifacts."""
    from tests.server.conftest import start_server

    source_ws = Workspace.open(
        f"sqlite:///{tmp_path / 'src.db'}", artifact_root=tmp_path / "src-a", settings=Settings(home=tmp_path)
    )
    assert import_mlflow(source_ws, mlflow_sources[0]).runs_imported == 3
    server, thread, url = start_server(source_ws, dev=True)
    try:
        report = import_mlflow(target, url)
        again = import_mlflow(target, url)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        source_ws.close()
    ids = mlflow_sources[2]
    assert report.runs_imported == 3
    parent = target.runs.get(ids["parent"])
    assert [m.step for m in target.runs.metric_history(ids["parent"], "loss")] == list(range(10))
    assert {a.name for a in parent.artifacts} == {"reports/summary.txt"}
    assert target.artifacts.get_bytes(parent.artifacts[0].sha256) == b"report"
    assert again.runs_imported == 0
    assert again.skipped["already imported"] == 3
    assert again.parents_linked == 0 and not again.parents_not_linked


def test_nested_runs_link_once_their_parent_is_imported(
    sqlite_store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A child whose parent is in a deleted experiment stays unlinked (counted, tag kept); importing the
    parent later links it."""
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    uri = f"file:{tmp_path / 'mlruns'}"
    source = MlflowClient(uri)
    gone, kept = source.create_experiment("gone"), source.create_experiment("kept")
    parent = source.create_run(gone).info.run_id
    child = source.create_run(kept, tags={"mlflow.parentRunId": parent}).info.run_id
    source.delete_experiment(gone)
    with Workspace.open(sqlite_store_url, settings=Settings(home=tmp_path)) as ws:
        first = import_mlflow(ws, uri)
        assert first.runs_imported == 1 and first.parents_linked == 0
        assert first.parents_not_linked == {"its parent run is not in the store": 1}
        assert ws.runs.get(child).parent_id is None
        assert ws.runs.get(child).tags["mlflow.parentRunId"] == parent
        second = import_mlflow(ws, uri, include_deleted=True)
        assert second.runs_imported == 1 and second.parents_linked == 1
        assert ws.runs.get(child).parent_id == parent
