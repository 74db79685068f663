"""The ``deployment`` gate runs when a version is served, the ``dataset.publish`` gate when a dataset version
is registered, and removing an alias passes the alias gate like setting one, on the SDK, the CLI and the
REST API: a blocked change is ``GateBlockedError`` / 409 / exit 1 naming the policy and the reason, and
nothing is served, stored or removed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sklearn.linear_model import LogisticRegression
from tests.mlops.serving.helpers import CONTRACT, FEATURES, FEW_ROWS, claimants, register_served, row

from triops import Workspace
from triops.errors import GateBlockedError
from triops.governance.rbac import Principal
from triops.settings import Settings

DEPLOY = """\
name: serve-checked-data
gate: deployment
rules:
  - name: contract
    expr: contract_status == "passed"
    reason: only a model trained on data that passed its contract is served
"""
PUBLISH = """\
name: publish-checked-data
gate: dataset.publish
rules:
  - {name: contract, expr: contract_status == "passed", reason: the data passed its contract}
  - {name: quality, expr: data_quality_score >= 0.95 && metrics.row_count >= 10}
"""
CHAMPION = """\
name: champion-needs-approver
gate: model.alias.champion
rules:
  - {name: reviewed, expr: approvals >= 0}
approvals: {role: approver, count: 1, expires_in_days: 7}
"""


@pytest.fixture
def ws(sqlite_store_url: str, tmp_path: Path) -> Iterator[Workspace]:
    root = Workspace.open(sqlite_store_url, artifact_root=tmp_path / "a", settings=Settings(home=tmp_path))
    owner = root.acting_as(Principal.owner("olivia"))
    register_served(owner, onnx=False)  # claims/1 trained on data that passed its contract, at @champion
    data = claimants()
    failed = owner.datasets.register("claimants-few", data, contract=FEW_ROWS).version
    model = LogisticRegression(C=0.5, max_iter=500).fit(data[FEATURES], data.ui)
    owner.models.register("claims", model, training_frame=data[FEATURES], datasets=[failed.id], onnx=False)
    owner.models.set_alias("claims", "challenger", 2)  # claims/2: trained on data that failed it
    owner.governance.add_policies(DEPLOY)
    yield owner
    owner.serving.close()
    root.close()


def _deployment_checks(ws: Workspace) -> list[tuple[str, bool]]:
    events = [e for e in ws.governance.audit_events() if e["action"] == "gate.evaluate"][::-1]
    return [(e["object_id"], e["after"]["passed"]) for e in events if e["after"]["gate"] == "deployment"]


def test_a_version_is_served_only_past_the_deployment_gate(ws: Workspace) -> None:
    assert ws.serving.serve("claims@champion").version == 1
    with pytest.raises(GateBlockedError, match="serve-checked-data/contract: not met: only a model trained"):
        ws.serving.serve("claims@challenger")
    with pytest.raises(GateBlockedError, match="serve-checked-data/contract"):
        ws.serving.predict("claims@challenger", row(0))
    # the champion alias moves to the blocked version: the endpoint keeps serving the one it has
    ws.models.set_alias("claims", "champion", 2)
    endpoint = ws.serving.session().endpoint("claims", "champion")
    assert not endpoint.refresh()
    assert not endpoint.refresh()
    assert endpoint.current().version.version == 1
    assert endpoint.last_error is not None and "serve-checked-data/contract" in endpoint.last_error
    assert ws.serving.predict("claims@champion", row(1)).version == 1
    # each decision is recorded once; repeats while still blocked for the same reasons are not
    assert _deployment_checks(ws) == [("claims/1", True), ("claims/2", False), ("claims/2", False)]


def test_a_dataset_version_is_stored_only_past_the_publish_gate(ws: Workspace) -> None:
    ws.governance.add_policies(PUBLISH)
    data = claimants()
    with pytest.raises(GateBlockedError, match="publish-checked-data/contract: not met") as blocked:
        ws.datasets.register("claimants-few", data, contract=FEW_ROWS)
    assert {r["rule"] for r in blocked.value.detail["rules"] if not r["passed"]} == {"contract", "quality"}
    assert [v.version for v in ws.datasets.versions("claimants-few")] == [1]  # nothing stored
    with pytest.raises(GateBlockedError, match="publish-checked-data/contract"):
        ws.datasets.register("unchecked", data)  # no contract: contract_status is "none"
    assert ws.datasets.register("claimants", data, contract=CONTRACT).version.version == 2


def test_removing_a_guarded_alias_needs_the_approval_for_that_removal(ws: Workspace) -> None:
    ws.governance.add_policies(CHAMPION)
    carl = ws.acting_as(Principal.from_bindings("carl", [(None, "contributor")]))
    ava = ws.acting_as(Principal.from_bindings("ava", [(None, "approver")]))
    with pytest.raises(GateBlockedError, match="approval"):
        carl.models.remove_alias("claims", "champion")
    moving = carl.governance.request_approval(
        gate="model.alias.champion",
        subject_id="claims/1",
        change={"alias": "champion", "action": "set"},
        justification="a move, not a removal",
    )
    ava.governance.approve(moving.id, "moves are fine")
    with pytest.raises(GateBlockedError, match="approval"):
        carl.models.remove_alias("claims", "champion")  # that approval is for setting it
    removal = carl.governance.request_approval(
        gate="model.alias.champion",
        subject_id="claims/1",
        change={"alias": "champion", "action": "remove", "from": "claims/1"},
        justification="retire the champion",
    )
    ava.governance.approve(removal.id, "retiring it is right")
    carl.models.remove_alias("claims", "champion")
    assert "champion" not in ws.models.get("claims/1").aliases
    carl.models.remove_alias("claims", "challenger")  # an alias no policy names goes freely


def test_blocked_deploy_publish_and_alias_removal_over_the_api_and_the_cli(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.server.conftest import start_server

    from triops.cli import context
    from triops.cli.main import run
    from triops.domain.clock import utc_ms
    from triops.governance import roles
    from triops.settings import os_user
    from triops.store.repositories.tokens import create_token

    ws.governance.add_policies(PUBLISH)
    ws.governance.add_policies(CHAMPION)
    now = utc_ms(ws.clock.now())
    _, token = ws.store.write(lambda conn: create_token(conn, "carl", "test", now))
    roles.grant(ws.store, Principal.owner("olivia"), "carl", "contributor", None)
    roles.grant(ws.store, Principal.owner("olivia"), os_user(), "admin", None)  # the OS user runs the CLI
    data = tmp_path / "few.csv"
    claimants(50).to_csv(data, index=False)
    contract = tmp_path / "few.yaml"
    contract.write_text(FEW_ROWS)

    server, thread, url = start_server(ws)
    try:
        with httpx.Client(base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {token}"}) as carl:
            deploy = carl.post("/serving/endpoints", json={"endpoint": "claims@challenger"})
            assert deploy.status_code == 409 and "serve-checked-data/contract" in deploy.text, deploy.text
            predict = carl.post("/models/claims@challenger/predict", json={"inputs": row(0)})
            assert predict.status_code == 409 and "serve-checked-data" in predict.text
            served = carl.post("/serving/endpoints", json={"endpoint": "claims@champion"})
            assert served.status_code == 201 and served.json()["version"] == 1, served.text
            upload = carl.post(
                "/datasets/claimants-few/versions",
                files={"file": ("few.csv", data.read_bytes()), "contract": ("few.yaml", FEW_ROWS.encode())},
            )
            assert upload.status_code == 409 and "publish-checked-data/contract" in upload.text, upload.text
            removed = carl.delete("/models/claims/aliases/champion")
            assert removed.status_code == 409 and "champion-needs-approver" in removed.text, removed.text
            mlflow = carl.request(  # the MLflow registry's delete-alias
                "DELETE",
                f"{url}/api/2.0/mlflow/registered-models/alias",
                json={"name": "claims", "alias": "champion"},
            )
            assert mlflow.is_error and "champion-needs-approver" in mlflow.json()["message"], mlflow.text
        remote = Workspace.open(url, token=token, settings=Settings(home=tmp_path / "b"))
        try:  # the remote SDK: the same gate, the same error
            with pytest.raises(GateBlockedError, match="serve-checked-data/contract"):
                remote.serving.serve("claims@challenger")
            assert remote.serving.serve("claims@champion").version == 1
        finally:
            remote.close()
    finally:
        server.should_exit = True
        thread.join(timeout=30)

    monkeypatch.setenv("TRIOPS_HOME", str(tmp_path))
    monkeypatch.setenv("TRIOPS_ARTIFACT_ROOT", str(tmp_path / "a"))
    monkeypatch.delenv("TRIOPS_USER", raising=False)
    store = ["--store", ws.url]  # the CLI on the store itself, as its OS user: gates hold for an admin too
    for args, policy in (
        (["serve", "claims@challenger"], "serve-checked-data/contract"),
        (
            ["datasets", "register", "claimants-few", str(data), "--contract", str(contract)],
            "publish-checked-data",
        ),
        (["models", "alias", "claims", "champion", "--delete"], "champion-needs-approver"),
    ):
        context.close_workspace()
        assert run([*store, *args]) == 1
        assert policy in capsys.readouterr().err
    context.close_workspace()
    assert ws.models.get("claims@champion").version == 1
    assert [v.version for v in ws.datasets.versions("claimants-few")] == [1]
