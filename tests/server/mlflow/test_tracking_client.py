"""The unmodified ``mlflow`` client logs into triops: experiments, runs, params, metrics, tags, nested runs,
search with MLflow's filter syntax; the same runs read back through the triops SDK."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from tests.server.conftest import LiveServer

TRIOPS = str(Path(sys.executable).parent / "triops")


def test_fluent_logging_reaches_triops_runs(mlflow_client: LiveServer, tmp_path: Path) -> None:
    exp_id = mlflow.set_experiment("churn").experiment_id
    with mlflow.start_run(run_name="baseline") as run:
        mlflow.log_param("model", "rf")
        mlflow.log_params({"depth": 4, "seed": 7})
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metrics({"auc": 0.91, "odd": math.nan})
        mlflow.set_tag("team", "risk")
    got = mlflow.get_run(run.info.run_id)
    assert got.info.experiment_id == exp_id
    assert got.info.run_name == "baseline"
    assert got.info.status == "FINISHED"
    assert got.info.end_time is not None
    assert got.data.params == {"model": "rf", "depth": "4", "seed": "7"}
    assert got.data.metrics["loss"] == pytest.approx(0.2)
    assert math.isnan(got.data.metrics["odd"])
    assert got.data.tags["team"] == "risk"
    history = MlflowClient().get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in history] == [0, 1, 2, 3, 4]
    assert history[0].value == 1.0
    # the same run, read through triops: project = experiment, same id, user = the token's user
    triops_run = mlflow_client.workspace.runs.get(run.info.run_id)
    assert triops_run.project == "churn"
    assert triops_run.user == "alice"
    assert triops_run.params["model"] == "rf"
    assert triops_run.metrics["auc"] == pytest.approx(0.91)
    # and through the CLI (the console script, against the server as alice)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIOPS_", "MLFLOW_"))}
    env["TRIOPS_HOME"] = str(tmp_path)
    listed = subprocess.run(
        [
            TRIOPS,
            "--store",
            mlflow_client.url,
            "--token",
            mlflow_client.token,
            "runs",
            "list",
            "-p",
            "churn",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert [(r["id"], r["name"]) for r in json.loads(listed.stdout)] == [(run.info.run_id, "baseline")]


def test_experiments_create_get_search(mlflow_client: LiveServer) -> None:
    client = MlflowClient()
    exp_id = client.create_experiment("fraud")
    assert client.get_experiment(exp_id).name == "fraud"
    assert client.get_experiment_by_name("fraud").experiment_id == exp_id
    assert client.get_experiment_by_name("no-such") is None
    with pytest.raises(MlflowException, match="already exists") as info:
        client.create_experiment("fraud")
    assert info.value.error_code == "RESOURCE_ALREADY_EXISTS"
    names = [e.name for e in client.search_experiments(filter_string="name LIKE 'fr%'")]
    assert names == ["fraud"]
    quoted = client.search_experiments(filter_string="attributes.name = 'attributes.fraud'")
    assert quoted == []  # a value is never rewritten
    assert [
        e.name for e in client.search_experiments(filter_string="creation_time > 0 and name = 'fraud'")
    ] == ["fraud"]
    with pytest.raises(MlflowException, match="tags"):
        client.search_experiments(filter_string="tags.team = 'x'")
    with pytest.raises(MlflowException) as bad:
        client.create_experiment("has spaces/and slashes")
    assert bad.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "project name" in bad.value.message


def test_nested_runs_and_search_with_filters(mlflow_client: LiveServer) -> None:
    exp_id = mlflow.set_experiment("tuning").experiment_id
    with mlflow.start_run(run_name="parent") as parent:
        for depth in (2, 4, 8):
            with mlflow.start_run(run_name=f"d{depth}", nested=True):
                mlflow.log_param("depth", depth)
                mlflow.log_metric("rmse", 1.0 / depth)
    children = mlflow.search_runs(
        experiment_ids=[exp_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}' and metrics.rmse < 0.4",
        order_by=["metrics.rmse ASC"],
        output_format="list",
    )
    assert [r.info.run_name for r in children] == ["d4", "d8"][::-1]
    frame = mlflow.search_runs(experiment_ids=[exp_id], filter_string="params.depth = '2'")
    assert list(frame["tags.mlflow.runName"]) == ["d2"]
    by_name = mlflow.search_runs(
        experiment_ids=[exp_id], filter_string="attributes.run_name = 'parent'", output_format="list"
    )
    assert [r.info.run_id for r in by_name] == [parent.info.run_id]
    # an unsupported filter field is an error naming it, never ignored
    with pytest.raises(MlflowException, match="datasets"):
        mlflow.search_runs(experiment_ids=[exp_id], filter_string="datasets.name = 'x'")
    # the child runs are triops child runs of the parent (and keep MLflow's tag)
    ws = mlflow_client.workspace
    child = ws.runs.get(children[0].info.run_id)
    assert child.tags["mlflow.parentRunId"] == parent.info.run_id
    assert child.parent_id == parent.info.run_id
    assert sorted(r.name for r in ws.runs.children(parent.info.run_id)) == ["d2", "d4", "d8"]
    assert ws.runs.get(parent.info.run_id).parent_id is None
    client = MlflowClient()
    outer_id, middle_id, inner_id = parent.info.run_id, children[0].info.run_id, children[1].info.run_id
    # set-tag moves a run under another parent (two levels deep here); deleting the tag puts it at the top
    client.set_tag(inner_id, "mlflow.parentRunId", middle_id)
    assert [r.id for r in ws.runs.children(middle_id)] == [inner_id]
    client.set_tag(inner_id, "mlflow.parentRunId", outer_id)
    assert ws.runs.get(inner_id).parent_id == outer_id
    assert client.get_run(inner_id).data.tags["mlflow.parentRunId"] == outer_id
    client.delete_tag(inner_id, "mlflow.parentRunId")
    assert ws.runs.get(inner_id).parent_id is None
    # a run is never its own ancestor; the refused tag leaves the run as it was
    with pytest.raises(MlflowException, match="its own ancestor") as cycle:
        client.set_tag(outer_id, "mlflow.parentRunId", middle_id)
    assert cycle.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "mlflow.parentRunId" not in client.get_run(outer_id).data.tags
    # a parent that does not exist is refused by name, not stored as a dangling tag
    with pytest.raises(MlflowException, match=r"mlflow\.parentRunId") as missing:
        client.create_run(exp_id, tags={"mlflow.parentRunId": "0" * 32})
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    # a child started through the triops SDK shows under its parent in MLflow too
    with ws.start_run(parent=outer_id, name="sdk-child") as sdk_child:
        pass
    assert sdk_child.parent_id == outer_id
    assert client.get_run(sdk_child.id).data.tags["mlflow.parentRunId"] == outer_id
    assert {r.name for r in ws.runs.children(outer_id)} == {"d2", "d8", "sdk-child"}


def test_delete_and_restore_keep_the_run(mlflow_client: LiveServer) -> None:
    client = MlflowClient()
    exp_id = client.create_experiment("cleanup")
    run = client.create_run(exp_id)
    client.set_terminated(run.info.run_id)
    client.delete_run(run.info.run_id)
    assert client.search_runs([exp_id]) == []
    deleted = client.search_runs([exp_id], run_view_type=2)  # DELETED_ONLY
    assert [r.info.run_id for r in deleted] == [run.info.run_id]
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    client.restore_run(run.info.run_id)
    assert [r.info.run_id for r in client.search_runs([exp_id])] == [run.info.run_id]
    # the run was never destroyed; both changes are in the audit log, by the token's user
    events = mlflow_client.workspace.governance.audit_events(object_id=run.info.run_id)
    audited = sorted((e["action"], e["actor"]) for e in events if e["action"].startswith("mlflow.run."))
    assert audited == [("mlflow.run.delete", "alice"), ("mlflow.run.restore", "alice")]


def test_errors_are_mlflow_shaped(mlflow_client: LiveServer) -> None:
    client = MlflowClient()
    with pytest.raises(MlflowException) as missing:
        client.get_run("0190f0f0-0000-7000-8000-000000000000")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with mlflow.start_run() as run:
        mlflow.log_param("p", "1")
        with pytest.raises(MlflowException) as changed:
            mlflow.log_param("p", "2")
    assert "immutable" in changed.value.message
    client.create_registered_model("churn-model")
    with pytest.raises(MlflowException) as unsupported:
        client.delete_registered_model("churn-model")
    assert unsupported.value.error_code == "NOT_IMPLEMENTED"
    assert "deleting a registered model" in unsupported.value.message
    assert run.info.run_id


def test_permissions_hold_through_the_mlflow_client(
    mlflow_client: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A viewer reads but cannot log; a project the token's user cannot read does not exist for them; no
    token is UNAUTHENTICATED."""
    from triops.domain.clock import utc_ms
    from triops.governance import roles
    from triops.governance.rbac import Principal
    from triops.store.repositories.tokens import create_token

    ws = mlflow_client.workspace
    exp_id = MlflowClient().create_experiment("shared")
    run = MlflowClient().create_run(exp_id)
    roles.grant(ws.store, Principal.owner("admin"), "val", "viewer", "shared")
    _, viewer_token = ws.store.write(lambda conn: create_token(conn, "val", "t", utc_ms(ws.clock.now())))
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", viewer_token)
    viewer = MlflowClient()
    assert viewer.get_run(run.info.run_id).info.run_id == run.info.run_id
    with pytest.raises(MlflowException) as denied:
        viewer.log_param(run.info.run_id, "p", "1")
    assert denied.value.error_code == "PERMISSION_DENIED"
    assert "run.write" in denied.value.message
    hidden = MlflowClient().create_experiment  # alice's own projects: val has no role there
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", mlflow_client.token)
    other = hidden("private")
    other_run = MlflowClient().create_run(other)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", viewer_token)
    with pytest.raises(MlflowException) as unseen:
        viewer.get_run(other_run.info.run_id)
    assert unseen.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert [e.name for e in viewer.search_experiments()] == ["shared"]
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "tri_wrong")
    with pytest.raises(MlflowException) as anonymous:
        MlflowClient().get_run(run.info.run_id)
    assert anonymous.value.error_code == "UNAUTHENTICATED"


def test_log_batch_rejects_bad_metrics_naming_the_field(mlflow_client: LiveServer) -> None:
    import httpx

    run = MlflowClient().create_run("0")
    answer = httpx.post(
        f"{mlflow_client.url}/api/2.0/mlflow/runs/log-batch",
        headers={"Authorization": f"Bearer {mlflow_client.token}"},
        json={
            "run_id": run.info.run_id,
            "metrics": [{"key": "a", "value": "high", "timestamp": 1, "step": 0}],
        },
    )
    assert answer.status_code == 400
    assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "metrics[0].value" in answer.json()["message"]
    not_an_object = httpx.post(
        f"{mlflow_client.url}/api/2.0/mlflow/runs/log-batch",
        headers={"Authorization": f"Bearer {mlflow_client.token}"},
        json={"run_id": run.info.run_id, "metrics": [{"key": "a", "value": 1.0}, 5]},
    )
    assert not_an_object.status_code == 400
    assert not_an_object.json()["message"] == "metrics[1] must be a Metric object"
    good = {"key": "a", "value": 1.0, "timestamp": 1, "step": 0}
    for bad, field in (
        ({"value": 1.0, "timestamp": 1, "step": 0}, "metrics[1].key"),
        ({"key": 7, "value": 1.0, "timestamp": 1, "step": 0}, "metrics[1].key"),
        ({"key": "a", "timestamp": 1, "step": 0}, "metrics[1].value"),
        ({"key": "a", "value": 1.0, "timestamp": 1, "step": True}, "metrics[1].step"),
        ({"key": "a", "value": 1.0, "timestamp": 2**63, "step": 0}, "metrics[1].timestamp"),
    ):
        refused = httpx.post(
            f"{mlflow_client.url}/api/2.0/mlflow/runs/log-batch",
            headers={"Authorization": f"Bearer {mlflow_client.token}"},
            json={"run_id": run.info.run_id, "metrics": [good, bad]},
        )
        assert refused.status_code == 400, bad
        assert refused.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        assert field in refused.json()["message"], (bad, refused.json())
    unknown = httpx.get(
        f"{mlflow_client.url}/ajax-api/2.0/mlflow/no/such/thing",
        headers={"Authorization": f"Bearer {mlflow_client.token}"},
    )
    assert unknown.status_code == 404
    assert unknown.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    assert MlflowClient().get_metric_history(run.info.run_id, "a") == []
    # proto3 JSON may send an int64 as a string and a non-finite double as "NaN": both taken
    odd = httpx.post(
        f"{mlflow_client.url}/api/2.0/mlflow/runs/log-batch",
        headers={"Authorization": f"Bearer {mlflow_client.token}"},
        json={
            "run_id": run.info.run_id,
            "metrics": [good, {"key": "a", "value": "NaN", "timestamp": "2", "step": "1"}],
        },
    )
    assert odd.status_code == 200, odd.text
    history = MlflowClient().get_metric_history(run.info.run_id, "a")
    assert [(m.step, m.timestamp) for m in history] == [(0, 1), (1, 2)]
    assert math.isnan(history[1].value)


def test_mlflow_endpoint_reads_the_token_and_roles_as_the_rest_api_does(mlflow_client: LiveServer) -> None:
    """The MLflow routes parse ``Authorization`` themselves (no FastAPI dependency): the same headers are
    refused as by the REST API, and the roles come from the same read as the token, so a revoked binding
    holds from the next request."""
    import httpx

    from triops.governance import roles
    from triops.governance.rbac import Principal

    base, token = mlflow_client.url, mlflow_client.token
    search = f"{base}/api/2.0/mlflow/experiments/search"
    for headers in (
        {},
        {"Authorization": f"Basic {token}"},
        {"Authorization": "Bearer"},
        {"Authorization": token},
    ):
        answer = httpx.get(search, headers=headers)
        assert (answer.status_code, answer.json()["error_code"]) == (401, "UNAUTHENTICATED"), headers
        assert httpx.get(f"{base}/api/v1/projects", headers=headers).status_code == 401, headers
    assert httpx.get(search, headers={"Authorization": f"bearer {token}"}).status_code == 200
    create = f"{base}/api/2.0/mlflow/experiments/create"
    auth = {"Authorization": f"Bearer {token}"}
    assert httpx.post(create, headers=auth, json={"name": "before"}).status_code == 200
    roles.revoke(mlflow_client.workspace.store, Principal.owner("admin"), "alice", "contributor", None)
    denied = httpx.post(create, headers=auth, json={"name": "after"})
    assert (denied.status_code, denied.json()["error_code"]) == (403, "PERMISSION_DENIED")
