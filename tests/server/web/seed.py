"""A small workspace with something on every page: tracked runs, a pipeline run (metered and priced), two
dataset versions (the second breaks its contract), a registered and evaluated model, a pending approval, a
project nobody but the owner can read, a budget, a monitored model with drift and an alert (in the default
project), and users with tokens (alice: approver in alpha, bob: viewer)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from sklearn.linear_model import LogisticRegression
from tests.mlops.pipelines.pipelines_example import fails_unless_marker, numbers
from tests.mlops.serving.helpers import claimants, register_served

from triops import Workspace
from triops.cli.demo_pipeline import FEATURES, TARGET, encode
from triops.dataops.demo import benefits_contract, corrupt_batch, load_benefits
from triops.domain.clock import utc_ms
from triops.finops.budgets import new_budget
from triops.governance import roles
from triops.governance.demo import DEMO_POLICY
from triops.governance.rbac import Principal
from triops.settings import Settings
from triops.store.repositories.tokens import create_token


@dataclass
class Seeded:
    ws: Workspace
    alice: str
    bob: str
    alice_token_id: str
    run_ids: list[str]
    pipeline_run: str
    failed_run: str
    marker: Path
    secret_run: str
    approval_id: str


def seed(store_url: str, home: Path) -> Seeded:
    # the key and witness pinned to this workspace: the seeded store outlives the per-test XDG folders
    settings = Settings(
        home=home,
        server_pipeline_modules=["tests.mlops.pipelines"],
        audit_key_path=home.parent / f"{home.name}-keys" / "audit_ed25519",
        audit_witness_dir=home.parent / f"{home.name}-witness",
    )
    ws = Workspace.open(store_url, artifact_root=home / "artifacts", settings=settings)
    run_ids = []
    for i, (c, penalty) in enumerate([(0.1, "l2"), (1.0, "l2"), (10.0, "none")]):
        with ws.start_run("alpha", name=f"logreg-{i}") as run:
            run.log_params({"C": str(c), "penalty": penalty})
            for step in range(5):
                run.log_metric("loss", 1.0 / (step + 1 + i), step=step)
            run.log_metric("auc", 0.6 + 0.05 * i)
            run_ids.append(run.id)
    pipeline = ws.run_pipeline(numbers, {"n": 20}, project="alpha")
    marker = home / "marker"
    failed = ws.run_pipeline(fails_unless_marker, {"marker": str(marker)}, project="alpha")
    with ws.start_run("secret", name="classified-run") as hidden:
        hidden.log_metric("auc", 0.99)
    data = load_benefits().head(600)
    ws.datasets.register("benefits", data, contract=benefits_contract(), project="alpha")
    ws.datasets.register(
        "benefits",
        corrupt_batch(data, rows=100),
        contract=benefits_contract(),
        project="alpha",
        skip_unsupported=True,
    )
    encoded = encode(data)
    x = encoded.select(FEATURES).to_pandas()
    model = LogisticRegression(max_iter=500).fit(x, encoded[TARGET].to_numpy())
    version = ws.models.register("ui-model", model, training_frame=x, project_id=_project_id(ws, "alpha"))
    ws.evaluate(
        version.ref,
        encoded.select([*FEATURES, TARGET, "sex"]),
        target=TARGET,
        sensitive=["sex"],
        resamples=50,
    )
    ws.governance.add_policies(DEMO_POLICY.format(max_gap=0.5))
    request = ws.governance.request_approval(
        gate="model.stage",
        subject_id=version.ref,
        justification="promote after review",
        project="alpha",
        change={"from_stage": "development", "to_stage": "production"},
    )
    for project in ("alpha", "secret"):  # recorded gate decisions: one alice may read, one she may not
        ws.governance.check_gate(
            {
                "gate": "model.stage",
                "subject_type": "model_version",
                "subject_id": version.ref if project == "alpha" else "hidden-model/1",
                "project": project,
                "change": {"from_stage": "development", "to_stage": "production"},
                "metrics": {"roc_auc": 0.81},
            }
        )
    now = utc_ms(ws.clock.now())
    alice_id, alice = ws.store.write(lambda conn: create_token(conn, "alice", "web", now))
    _, bob = ws.store.write(lambda conn: create_token(conn, "bob", "web", now))
    owner = Principal.owner("admin")
    roles.grant(ws.store, owner, "alice", "approver", "alpha")
    roles.grant(ws.store, owner, "alice", "contributor", "alpha")
    roles.grant(ws.store, owner, "bob", "viewer", "alpha")
    ws.finops.set_budget(new_budget("project", "alpha", "month", "0.05", "EUR", clock=ws.clock))
    seed_monitor(ws)
    return Seeded(
        ws, alice, bob, alice_id, run_ids, pipeline.run_id, failed.run_id, marker, hidden.id, request.id
    )


def seed_monitor(ws: Workspace) -> None:
    """A monitored model in the default project (which alice and bob cannot read): one window like the
    training data, one with ages moved (drift and an alert), labels for the first (performance)."""
    register_served(ws, onnx=False)
    policy = "alerts:\n  - name: drifted\n    expr: drift.psi.max > 0.2\n    severity: critical\n"
    ws.monitoring.create("claims@champion", window="200", policies=policy)
    normal = claimants(200, seed=1)
    shifted = claimants(200, seed=2)
    shifted["age"] = shifted["age"] + 25
    first = ws.serving.predict("claims@champion", normal[["age", "tenure", "income"]])
    time.sleep(0.005)  # two requests in one millisecond have no order in the log
    ws.serving.predict("claims@champion", shifted[["age", "tenure", "income"]])
    ws.serving.flush()
    ws.monitoring.log_labels([f"{first.request_id}/{i}" for i in range(200)], normal["ui"].tolist())
    ws.monitoring.run("claims@champion")


def _project_id(ws: Workspace, name: str) -> str:
    from triops.workspace.projects import project_id

    return project_id(ws.store, name, ws.clock)
