"""One table of operations, each with the permission it needs and how to do it on every path (SDK call, CLI
arguments, REST request). ``test_permission_matrix.py`` walks roles × operations × paths from this table;
the expected answer comes from ``ROLE_PERMISSIONS``, the one table the services enforce, so the walk cannot
drift from the model it checks. An operation without a route or a command yet has ``None`` there and joins
that walk when it lands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl
from sklearn.linear_model import LogisticRegression

from triops import Workspace
from triops.finops.budgets import new_budget
from triops.governance.rbac import ROLE_PERMISSIONS, Permission, Role
from triops.mlops.pipelines.authoring import pipeline, step

PROJECT = "benefits"
ROLES: tuple[str, ...] = (*(r.value for r in Role), "none")  # "none": a user with no binding at all
USE_CASE = {"name": "UI outreach", "purpose": "rank workers for outreach", "project": PROJECT}
STAGE_POLICY = """\
name: approver-before-production
gate: model.stage
when: change.to_stage == "production"
rules:
  - name: always
    expr: "true"
approvals: {role: approver, count: 1}
"""
EXTRA_POLICY = STAGE_POLICY.replace("approver-before-production", "second-look")


def user_of(role: str) -> str:
    return f"r-{role}"


def allowed(role: str, permission: Permission) -> bool:
    return role != "none" and permission in ROLE_PERMISSIONS[Role(role)]


def tiny_model() -> Any:
    x = pl.DataFrame({"a": [0.0, 1.0, 2.0, 3.0] * 5, "b": [1.0, 0.0, 1.0, 0.0] * 5})
    return LogisticRegression().fit(x.to_numpy(), [0, 1, 0, 1] * 5)


@dataclass
class Seeded:
    """What the admin set up before the walk: the ids the operations refer to."""

    request_id: str = ""
    extra: dict[str, str] = field(default_factory=dict)


@step
def _numbers() -> list[int]:
    return [1, 2, 3]


@step
def _total(values: list[int]) -> int:
    return sum(values)


@pipeline
def _tiny() -> None:
    _total(_numbers())


def seed(admin: Workspace) -> Seeded:
    """A model ``m`` in the project, a policy asking an approver before production, a pending request, a
    tracked run with a metric and a pipeline run in the project, and every role bound workspace-wide to its
    own user (``r-viewer`` …; ``r-none`` holds nothing)."""
    admin.governance.add_policies(STAGE_POLICY)
    admin.models.register("m", tiny_model(), git_commit=None, onnx=False, project=PROJECT)
    request = admin.governance.request_approval(
        gate="model.stage", subject_id="m/1", change={"to_stage": "production"}, justification="go live"
    )
    with admin.start_run(PROJECT, name="seeded") as run:
        run.log_metric("loss", 0.5)
    piped = admin.run_pipeline(_tiny, project=PROJECT, use_cache=False)
    for role in Role:
        admin.governance.grant(user_of(role.value), role.value)
    admin.governance.create_user(user_of("none"))
    output = next(iter(piped.outputs.values())).sha256
    return Seeded(request_id=request.id, extra={"run": run.id, "pipeline": piped.run_id, "output": output})


Sdk = Callable[[Workspace, Seeded], Any]
Rest = Callable[[Seeded], tuple[str, str, dict[str, Any] | None]]


@dataclass(frozen=True)
class Operation:
    name: str
    permission: Permission
    sdk: Sdk
    rest: Rest | None = None
    cli: tuple[str, ...] | None = None
    #: the roles the console-script sample runs it as (default: one that may, one that may not, unbound)
    cli_roles: tuple[str, ...] | None = None


def _run(ws: Workspace, _: Seeded) -> None:
    with ws.start_run(PROJECT):
        pass


P = Permission
OPERATIONS: tuple[Operation, ...] = (
    Operation("start a run", P.RUN_WRITE, _run, lambda s: ("POST", "/runs", {"project": PROJECT})),
    Operation(
        "read a run",
        P.PROJECT_READ,
        lambda ws, s: ws.runs.get(s.extra["run"]),
        lambda s: ("GET", f"/runs/{s.extra['run']}", None),
        ("runs", "show", "{run}"),
        ("none",),  # the unbound user must see nothing; the allowed path is in tests/cli
    ),
    Operation(
        "read a metric history",
        P.PROJECT_READ,
        lambda ws, s: ws.runs.metric_history(s.extra["run"], "loss"),
        lambda s: ("GET", f"/runs/{s.extra['run']}/metrics/loss", None),
    ),
    Operation(
        "read a pipeline run's lineage",
        P.PROJECT_READ,
        lambda ws, s: ws.lineage(s.extra["pipeline"]),
        lambda s: ("GET", f"/lineage/{s.extra['pipeline']}", None),
        ("lineage", "{pipeline}"),
        ("none",),
    ),
    Operation(
        "read an artifact's lineage",
        P.PROJECT_READ,
        lambda ws, s: ws.pipelines.lineage(s.extra["output"], direction="up"),
        lambda s: ("GET", f"/lineage/{s.extra['output']}", None),
    ),
    Operation(
        "read a model",
        P.PROJECT_READ,
        lambda ws, s: ws.models.get("m/1"),
        lambda s: ("GET", "/models/m/versions/1", None),
    ),
    Operation(
        "register a model version",
        P.MODEL_REGISTER,
        lambda ws, s: ws.models.register("m", tiny_model(), git_commit=None, onnx=False),
    ),
    Operation(
        "stage a model",
        P.MODEL_STAGE,
        lambda ws, s: ws.models.transition("m/1", "staging"),
        lambda s: ("PUT", "/models/m/versions/1/stage", {"stage": "staging"}),
        ("models", "promote", "m/1", "staging"),
    ),
    Operation(
        "move an alias",
        P.MODEL_ALIAS,
        lambda ws, s: ws.models.set_alias("m", "candidate", 1),
        lambda s: ("PUT", "/models/m/aliases/candidate", {"version": 1}),
    ),
    Operation(
        "pass the deployment gate",
        P.DEPLOYMENT_WRITE,
        lambda ws, s: ws.serving.check_deployment("m@candidate"),
        lambda s: ("POST", "/serving/endpoints", {"endpoint": "m@candidate"}),
    ),
    Operation(
        "remove an alias",
        P.MODEL_ALIAS,
        lambda ws, s: ws.models.remove_alias("m", "candidate"),
        lambda s: ("DELETE", "/models/m/aliases/candidate", None),
    ),
    Operation(
        "read costs",
        P.COST_READ,
        lambda ws, s: ws.finops.costs(project=PROJECT),
        lambda s: ("GET", f"/finops/costs?project={PROJECT}", None),
    ),
    Operation(
        "set a budget",
        P.BUDGET_WRITE,
        lambda ws, s: ws.finops.set_budget(
            new_budget("project", PROJECT, "month", Decimal("5"), "EUR", clock=ws.clock)
        ),
        lambda s: ("PUT", "/finops/budgets", {"scope": "project", "name": PROJECT, "amount": "5"}),
        ("budget", "set", "--amount", "5", "--project", PROJECT),
    ),
    Operation(
        "add a policy",
        P.POLICY_WRITE,
        lambda ws, s: ws.governance.add_policies(EXTRA_POLICY),
        lambda s: ("POST", "/governance/policies", {"text": EXTRA_POLICY}),
    ),
    Operation(
        "request an approval",
        P.APPROVAL_REQUEST,
        lambda ws, s: ws.governance.request_approval(
            gate="model.stage", subject_id="m/1", change={"to_stage": "production"}, justification="again"
        ),
        lambda s: (
            "POST",
            "/governance/approvals",
            {
                "gate": "model.stage",
                "subject_id": "m/1",
                "change": {"to_stage": "production"},
                "justification": "x",
            },
        ),
    ),
    Operation(
        "decide an approval",
        P.APPROVAL_DECIDE,
        lambda ws, s: ws.governance.approve(s.request_id, "reviewed"),
        lambda s: ("POST", f"/governance/approvals/{s.request_id}/approve", {"justification": "reviewed"}),
    ),
    Operation(
        "grant a role",
        P.ROLE_WRITE,
        lambda ws, s: ws.governance.grant("x", "viewer", PROJECT),
        lambda s: ("POST", "/governance/role-bindings", {"user": "x", "role": "viewer", "project": PROJECT}),
        ("role", "grant", "x", "viewer", "--project", PROJECT),
    ),
    Operation(
        "create a user",
        P.USER_WRITE,
        lambda ws, s: ws.governance.create_user("u-new"),
        lambda s: ("POST", "/governance/users", {"name": "u-new"}),
        ("user", "create", "u-cli"),
    ),
    Operation(
        "disable a user",
        P.USER_WRITE,
        lambda ws, s: ws.governance.disable_user("u-new"),
        lambda s: ("PUT", "/governance/users/u-new/disabled", {"disabled": True}),
    ),
    Operation(
        "create a token",
        P.TOKEN_WRITE,
        lambda ws, s: ws.governance.create_token(user_of("admin")),
        lambda s: ("POST", "/governance/tokens", {"user": user_of("admin")}),
        ("token", "create", "--user", user_of("admin")),
    ),
    Operation(
        "list users",
        P.AUDIT_READ,
        lambda ws, s: ws.governance.users(),
        lambda s: ("GET", "/governance/users", None),
    ),
    Operation(
        "verify the audit log",
        P.AUDIT_READ,
        lambda ws, s: ws.governance.verify_audit(),
        lambda s: ("GET", "/governance/audit/verify", None),
        ("audit", "verify"),
    ),
    Operation(
        "seal the audit log",
        P.PROJECT_ADMIN,
        lambda ws, s: ws.governance.seal_audit(),
        lambda s: ("POST", "/governance/audit/seal", {"every": 1000}),
    ),
    Operation(
        "add a use case",
        P.INVENTORY_WRITE,
        lambda ws, s: ws.governance.add_use_case(USE_CASE, replace=True),
        lambda s: ("POST", "/governance/inventory", {"use_case": USE_CASE, "replace": True}),
    ),
    Operation(
        "read the compliance report",
        P.AUDIT_READ,
        lambda ws, s: ws.governance.compliance_report("eu-ai-act"),
        lambda s: ("GET", "/governance/compliance/eu-ai-act", None),
    ),
    Operation(
        "record a compliance statement",
        P.INVENTORY_WRITE,
        lambda ws, s: ws.governance.record_statement("eu-ai-act", "Annex IV(7)", "EN ISO/IEC 42001 applied"),
        lambda s: (
            "POST",
            "/governance/compliance/eu-ai-act/statements",
            {"item": "Annex IV(7)", "text": "EN ISO/IEC 42001 applied"},
        ),
        (
            "compliance",
            "statement",
            "add",
            "--framework",
            "eu-ai-act",
            "--item",
            "Annex IV(7)",
            "--text",
            "x",
        ),
    ),
    Operation(
        "register a dataset",
        P.DATASET_WRITE,
        lambda ws, s: ws.datasets.register("d", pl.DataFrame({"x": [1, 2]}), project=PROJECT),
    ),
    Operation(
        "read the scorecard",
        P.PROJECT_READ,
        lambda ws, s: ws.scorecard(),
        lambda s: ("GET", "/kpis/scorecard", None),
    ),
)


def cli_sample() -> list[tuple[Operation, str]]:
    """For each operation with a command: one role that may, one that may not, and the unbound user."""
    picked = []
    for op in OPERATIONS:
        if op.cli is None:
            continue
        if op.cli_roles is not None:
            picked += [(op, role) for role in op.cli_roles]
            continue
        may = [r for r in ROLES if allowed(r, op.permission)]
        yes = next((r for r in may if r != "admin"), "admin")
        no = next((r for r in ROLES if r != "none" and not allowed(r, op.permission)), None)
        picked += [(op, role) for role in (yes, no, "none") if role is not None]
    return picked
