"""The MLflow model registry through the real ``mlflow`` client: versions of flavour ``mlflow`` in triops'
registry, with its stages, aliases, audit, permissions and gates — and never loaded by triops."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from tests.server.conftest import LiveServer

from triops.errors import InvalidInputError


def _logged_model(name: str = "model") -> tuple[str, np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    x = rng.normal(size=(80, 3))
    y = (x[:, 0] > 0).astype(int)
    fitted = LogisticRegression().fit(x, y)
    mlflow.set_experiment("registry")
    with mlflow.start_run() as run:
        mlflow.sklearn.log_model(fitted, name=name)
    return run.info.run_id, x, fitted.predict(x)


@pytest.fixture
def store_url(sqlite_store_url: str) -> str:
    """SQLite only: these tests exercise the MLflow client against the server's registry routes (~12 s each);
    the registry's store layer runs on PostgreSQL in the models contract and registry tests."""
    return sqlite_store_url


def test_register_alias_load_and_stage_through_the_client(mlflow_client: LiveServer) -> None:
    run_id, x, expected = _logged_model()
    version = mlflow.register_model(f"runs:/{run_id}/model", "churn")
    assert (version.name, version.version, version.run_id) == ("churn", "1", run_id)
    client = MlflowClient()
    client.set_registered_model_alias("churn", "champion", "1")
    loaded = mlflow.pyfunc.load_model("models:/churn@champion")
    assert (loaded.predict(x) == expected).all()
    assert (mlflow.sklearn.load_model("models:/churn/1").predict(x) == expected).all()
    assert client.get_model_version_by_alias("churn", "champion").version == "1"
    moved = client.transition_model_version_stage("churn", "1", "Staging")
    assert moved.current_stage == "Staging"
    assert [v.version for v in client.get_latest_versions("churn", stages=["Staging"])] == ["1"]
    model = client.get_registered_model("churn")
    assert model.aliases == {"champion": "1"}
    assert [m.name for m in client.search_registered_models(filter_string="name LIKE 'ch%'")] == ["churn"]
    assert [v.version for v in client.search_model_versions(f"run_id = '{run_id}'")] == ["1"]
    client.update_model_version("churn", "1", description="first cut")
    assert client.get_model_version("churn", "1").description == "first cut"
    # the same version in triops: flavour mlflow, in the run's project, audited; never loaded
    ws = mlflow_client.workspace
    triops_version = ws.models.get("churn@champion")
    assert (triops_version.model_type, triops_version.stage, triops_version.run_id) == (
        "mlflow",
        "staging",
        run_id,
    )
    assert ws.models.list_models()[0]["aliases"] == {"champion": 1}
    actions = {e["action"] for e in ws.governance.audit_events(object_id="churn/1")}
    assert {"model.register", "model.stage"} <= actions
    with pytest.raises(InvalidInputError, match="flavour 'mlflow'"):
        ws.models.load("churn/1")
    client.delete_registered_model_alias("churn", "champion")
    with pytest.raises(MlflowException) as gone:
        client.get_model_version_by_alias("churn", "champion")
    assert gone.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_a_gate_blocks_a_stage_change_through_the_client(mlflow_client: LiveServer) -> None:
    from triops.governance import gates
    from triops.governance.rbac import Principal

    run_id, _, _ = _logged_model()
    mlflow.register_model(f"runs:/{run_id}/model", "gated")
    policy = """
name: card-before-production
gate: model.stage
when: change.to_stage == "production"
rules:
  - name: card-complete
    expr: card_completeness >= 0.5
    reason: a model card is at least half complete
"""
    ws = mlflow_client.workspace
    gates.add_policies(ws.store, Principal.owner("admin"), policy, source="test")
    client = MlflowClient()
    client.transition_model_version_stage("gated", "1", "Staging")
    with pytest.raises(MlflowException) as blocked:
        client.transition_model_version_stage("gated", "1", "Production")
    assert blocked.value.error_code == "INVALID_STATE"
    assert "card" in blocked.value.message
    assert client.get_model_version("gated", "1").current_stage == "Staging"
    with pytest.raises(MlflowException) as skipped:  # triops' stage rules: None cannot jump to Production
        client.transition_model_version_stage("gated", "1", "None")
        client.transition_model_version_stage("gated", "1", "Production")
    assert skipped.value.error_code == "INVALID_STATE"


def test_a_viewer_reads_but_cannot_register_stage_or_alias(
    mlflow_client: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from triops.domain.clock import utc_ms
    from triops.governance import roles
    from triops.governance.rbac import Principal
    from triops.store.repositories.tokens import create_token

    run_id, _, _ = _logged_model()
    mlflow.register_model(f"runs:/{run_id}/model", "watched")
    ws = mlflow_client.workspace
    roles.grant(ws.store, Principal.owner("admin"), "val", "viewer", "registry")
    _, token = ws.store.write(lambda conn: create_token(conn, "val", "t", utc_ms(ws.clock.now())))
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
    viewer = MlflowClient()
    assert viewer.get_model_version("watched", "1").run_id == run_id
    for attempt, permission in (
        (lambda: viewer.set_registered_model_alias("watched", "champion", "1"), "model.alias"),
        (lambda: viewer.transition_model_version_stage("watched", "1", "Staging"), "model.stage"),
        (lambda: viewer.create_model_version("watched", f"runs:/{run_id}/model", run_id), "model.register"),
    ):
        with pytest.raises(MlflowException) as denied:
            attempt()
        assert denied.value.error_code == "PERMISSION_DENIED"
        assert permission in denied.value.message
    assert ws.models.get("watched").version == 1


def test_registry_tags_are_kept_searched_and_audited(mlflow_client: LiveServer) -> None:
    run_id, _, _ = _logged_model()
    client = MlflowClient()
    client.create_registered_model("tagged", tags={"team": "risk"})
    mlflow.register_model(f"runs:/{run_id}/model", "tagged", tags={"validated": "no"})
    client.set_model_version_tag("tagged", "1", "validated", "yes")
    client.set_registered_model_tag("tagged", "owner", "ana")
    assert client.get_registered_model("tagged").tags == {"team": "risk", "owner": "ana"}
    assert client.get_model_version("tagged", "1").tags == {"validated": "yes"}
    assert [m.name for m in client.search_registered_models("tags.team = 'risk'")] == ["tagged"]
    assert [v.version for v in client.search_model_versions("tags.validated = 'yes'")] == ["1"]
    client.delete_registered_model_tag("tagged", "owner")
    client.delete_model_version_tag("tagged", "1", "validated")
    assert client.get_registered_model("tagged").tags == {"team": "risk"}
    assert client.get_model_version("tagged", "1").tags == {}
    with pytest.raises(MlflowException) as missing:
        client.delete_model_version_tag("tagged", "1", "validated")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    events = mlflow_client.workspace.governance.audit_events(object_id="tagged/1")
    assert {"model.tag.set", "model.tag.delete"} <= {e["action"] for e in events}


def test_bad_registry_input_is_an_mlflow_error_naming_it(mlflow_client: LiveServer) -> None:
    run_id, _, _ = _logged_model()
    client = MlflowClient()
    client.create_registered_model("named")
    with pytest.raises(MlflowException) as exists:
        client.create_registered_model("named")
    assert exists.value.error_code == "RESOURCE_ALREADY_EXISTS"
    with pytest.raises(MlflowException) as foreign:
        client.create_model_version("named", "s3://bucket/model", None)
    assert foreign.value.error_code == "INVALID_PARAMETER_VALUE" and "source" in foreign.value.message
    with pytest.raises(MlflowException) as empty:
        client.create_model_version("named", f"runs:/{run_id}/nothing-here", run_id)
    assert "no artifacts" in empty.value.message
    client.create_model_version("named", f"runs:/{run_id}/model", run_id)
    # an MLflow 3 logged model as the source: the same files, the same download URI
    logged = client.search_logged_models(experiment_ids=[client.get_run(run_id).info.experiment_id])
    by_id = client.create_model_version("named", f"models:/{logged[0].model_id}", run_id)
    assert (by_id.version, by_id.run_id) == ("2", run_id)
    uris = {client.get_model_version_download_uri("named", n) for n in ("1", "2")}
    assert len(uris) == 1 and next(iter(uris)).endswith(f"/{run_id}/artifacts/model")
    newest_first = client.search_model_versions("name = 'named'", order_by=["version_number DESC"])
    assert [v.version for v in newest_first] == ["2", "1"]
    with pytest.raises(MlflowException) as order:
        client.search_model_versions("name = 'named'", order_by=["size"])
    assert order.value.error_code == "INVALID_PARAMETER_VALUE" and "order_by" in order.value.message
    with pytest.raises(MlflowException) as stage:
        client.transition_model_version_stage("named", "1", "Shipped")
    assert stage.value.error_code == "INVALID_PARAMETER_VALUE" and "stage" in stage.value.message
    with pytest.raises(MlflowException) as unsupported:
        client.delete_model_version("named", "1")
    assert unsupported.value.error_code == "NOT_IMPLEMENTED"
    with pytest.raises(MlflowException) as missing:
        client.get_registered_model("nope")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    client.create_registered_model("other")
    with pytest.raises(MlflowException) as taken:
        client.rename_registered_model("named", "other")
    assert taken.value.error_code == "RESOURCE_ALREADY_EXISTS"
    client.rename_registered_model("named", "renamed")
    assert client.get_registered_model("renamed").name == "renamed"
    assert [v.version for v in client.search_model_versions("name = 'renamed'")] == ["1", "2"]
    assert mlflow_client.workspace.models.get("renamed/2").model_type == "mlflow"
