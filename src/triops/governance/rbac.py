"""Roles and permissions: the five project roles as documented permission sets, and ``require``.

A principal (a user or service account) holds roles per project through role bindings; a binding without
a project holds everywhere. ``require`` is pure: the caller resolves the principal's bindings from the
store (``triops.governance.roles.load_principal``) and asks before it writes, in every service, so the
SDK, the CLI and the REST API obey the same rules.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from triops.errors import InvalidInputError, PermissionDeniedError


class Permission(enum.StrEnum):
    PROJECT_READ = "project.read"
    RUN_WRITE = "run.write"
    DATASET_WRITE = "dataset.write"
    DATASET_PUBLISH = "dataset.publish"
    DATASET_READ_RESTRICTED = "dataset.read_restricted"  # clear values of restricted/personal columns
    MODEL_REGISTER = "model.register"
    MODEL_STAGE = "model.stage"
    MODEL_ALIAS = "model.alias"
    MODEL_PREDICT = "model.predict"  # call a served model (each prediction is logged and priced)
    MONITOR_RUN = "monitor.run"  # create a monitor and evaluate its windows (stores results, sends alerts)
    LABEL_WRITE = "label.write"  # log delayed labels of predictions
    ALERT_READ = "alert.read"  # read monitoring results and alerts
    DEPLOYMENT_WRITE = "deployment.write"
    APPROVAL_REQUEST = "approval.request"
    APPROVAL_DECIDE = "approval.decide"
    COST_READ = "cost.read"
    BUDGET_WRITE = "budget.write"
    BUDGET_OVERRIDE = "budget.override"
    POLICY_WRITE = "policy.write"
    INVENTORY_WRITE = "inventory.write"
    AUDIT_READ = "audit.read"
    ROLE_WRITE = "role.write"
    USER_WRITE = "user.write"
    TOKEN_WRITE = "token.write"
    PROJECT_ADMIN = "project.admin"
    PRICE_WRITE = "price.write"  # change the price catalog (defined for FinOps)
    WORKSHOP_RUN = "workshop.run"  # open, close, export and delete live strategy workshops


class Role(enum.StrEnum):
    VIEWER = "viewer"
    CONTRIBUTOR = "contributor"
    APPROVER = "approver"
    FINOPS = "finops"
    ADMIN = "admin"
    SERVICE = "service"  # a machine principal: runs pipelines, predicts, runs monitors; decides nothing


_P = Permission
_VIEWER = frozenset({_P.PROJECT_READ, _P.COST_READ, _P.ALERT_READ})
ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    # Reads runs, datasets, models, costs, the inventory and gate results; changes nothing.
    Role.VIEWER: _VIEWER,
    # Does the work: runs pipelines, registers datasets and models, asks for stage changes and deployments.
    # Every change a gate guards still needs the gate's rules and approvals to pass.
    Role.CONTRIBUTOR: _VIEWER
    | {
        _P.RUN_WRITE,
        _P.DATASET_WRITE,
        _P.DATASET_PUBLISH,
        _P.MODEL_REGISTER,
        _P.MODEL_STAGE,
        _P.MODEL_ALIAS,
        _P.MODEL_PREDICT,
        _P.MONITOR_RUN,
        _P.LABEL_WRITE,
        _P.DEPLOYMENT_WRITE,
        _P.APPROVAL_REQUEST,
        _P.INVENTORY_WRITE,
        _P.WORKSHOP_RUN,
    },
    # Reviews: approves or rejects requests at gates (never their own), reads the audit log.
    Role.APPROVER: _VIEWER | {_P.APPROVAL_DECIDE, _P.AUDIT_READ},
    # Owns money: budgets, and approves budget overrides.
    Role.FINOPS: _VIEWER | {_P.BUDGET_WRITE, _P.BUDGET_OVERRIDE, _P.APPROVAL_DECIDE, _P.PRICE_WRITE},
    # Everything, including roles, users, tokens and policies.
    Role.ADMIN: frozenset(Permission),
    # A service account (a scheduler, a serving process): runs, predictions and monitors, nothing else.
    Role.SERVICE: frozenset(
        {_P.PROJECT_READ, _P.RUN_WRITE, _P.MODEL_PREDICT, _P.MONITOR_RUN, _P.LABEL_WRITE, _P.ALERT_READ}
    ),
}

ROLE_DESCRIPTIONS: Mapping[Role, str] = {
    Role.VIEWER: "reads runs, datasets, models, costs, the inventory and gate results",
    Role.CONTRIBUTOR: "runs pipelines, registers datasets and models, requests stage changes and deployments",
    Role.APPROVER: "approves or rejects gated changes it did not request or author; reads the audit log",
    Role.FINOPS: "manages budgets and approves budget overrides",
    Role.ADMIN: "every permission, including roles, users, tokens and policies",
    Role.SERVICE: "a machine principal: runs pipelines, serves predictions and runs monitors",
}

# What each permission covers: the one table of actions the services check (docs/security.md shows it).
PERMISSION_ACTIONS: Mapping[Permission, str] = {
    _P.PROJECT_READ: "read runs, pipelines, datasets, models, cards, policies, approvals, inventory, scorecard",
    _P.RUN_WRITE: "start tracked runs, run, submit and resume pipelines, save strategy assessments",
    _P.DATASET_WRITE: "register and check dataset versions",
    _P.DATASET_PUBLISH: "publish a dataset version (the dataset.publish gate)",
    _P.DATASET_READ_RESTRICTED: "see restricted or personal columns in clear",
    _P.MODEL_REGISTER: "register model versions, regenerate model cards",
    _P.MODEL_STAGE: "move a model version between stages (gated)",
    _P.MODEL_ALIAS: "set or remove a model alias (champion and aliases a policy names are gated)",
    _P.DEPLOYMENT_WRITE: "serve a model version now (the deployment gate)",
    _P.APPROVAL_REQUEST: "ask for an approval at a gate",
    _P.APPROVAL_DECIDE: "approve or reject a request you did not make, register or author",
    _P.COST_READ: "read costs, usage, budgets, forecasts, FOCUS exports",
    _P.BUDGET_WRITE: "set budgets, import FOCUS cost data",
    _P.BUDGET_OVERRIDE: "run past a budget hard stop (still needs the budget.override gate's approval)",
    _P.POLICY_WRITE: "add or remove policies",
    _P.INVENTORY_WRITE: "add or replace AI use cases in the inventory; record compliance statements",
    _P.AUDIT_READ: "read, export and verify the audit log; compliance reports; users and tokens lists",
    _P.ROLE_WRITE: "grant and revoke roles",
    _P.USER_WRITE: "create and disable users and service accounts",
    _P.TOKEN_WRITE: "create and revoke API tokens",
    _P.PROJECT_ADMIN: "seal the audit log, witness its head",
    _P.MODEL_PREDICT: "call a served model (each prediction is logged and priced)",
    _P.MONITOR_RUN: "create a monitor and evaluate its windows",
    _P.LABEL_WRITE: "log delayed labels of predictions",
    _P.ALERT_READ: "read monitoring results and alerts",
    _P.PRICE_WRITE: "change the price catalog",
    _P.WORKSHOP_RUN: "open, close, export and delete live strategy workshops",
}

GLOBAL = "*"  # the project key of a binding that holds in every project


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise InvalidInputError(
            f"unknown role {value!r}", hint=f"roles are {', '.join(r.value for r in Role)}"
        ) from None


def parse_permission(value: str) -> Permission:
    try:
        return Permission(value)
    except ValueError:
        raise InvalidInputError(
            f"unknown permission {value!r}", hint=f"permissions are {', '.join(p.value for p in Permission)}"
        ) from None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is acting, with roles per project (``GLOBAL`` for bindings that hold everywhere)."""

    name: str
    roles: Mapping[str, frozenset[Role]] = field(default_factory=dict)
    kind: str = "user"  # user | service

    @classmethod
    def from_bindings(
        cls, name: str, bindings: Iterable[tuple[str | None, str]], kind: str = "user"
    ) -> Principal:
        """Build from ``(project or None, role)`` pairs."""
        roles: dict[str, set[Role]] = {}
        for project, role in bindings:
            roles.setdefault(project or GLOBAL, set()).add(parse_role(role))
        return cls(name=name, roles={k: frozenset(v) for k, v in roles.items()}, kind=kind)

    @classmethod
    def owner(cls, name: str) -> Principal:
        """Admin everywhere: the server's ``--dev`` mode and tests; a workspace's owner holds a stored binding."""
        return cls(name=name, roles={GLOBAL: frozenset({Role.ADMIN})})

    def roles_in(self, project: str | None) -> frozenset[Role]:
        held = set(self.roles.get(GLOBAL, frozenset()))
        if project is not None:
            held |= self.roles.get(project, frozenset())
        return frozenset(held)

    def permissions_in(self, project: str | None) -> frozenset[Permission]:
        perms: set[Permission] = set()
        for role in self.roles_in(project):
            perms |= ROLE_PERMISSIONS[role]
        return frozenset(perms)

    def can(self, permission: Permission | str, project: str | None) -> bool:
        return Permission(permission) in self.permissions_in(project)

    def projects_with(self, permission: Permission | str) -> frozenset[str] | None:
        """The projects in which the principal holds ``permission``; ``None`` when it holds everywhere.
        Listings put this into their SQL query, so a page never counts a row the principal cannot see."""
        perm = Permission(permission)
        if any(perm in ROLE_PERMISSIONS[role] for role in self.roles.get(GLOBAL, frozenset())):
            return None
        return frozenset(
            project
            for project, held in self.roles.items()
            if project != GLOBAL and any(perm in ROLE_PERMISSIONS[role] for role in held)
        )

    def has_role(self, role: Role | str, project: str | None) -> bool:
        """Holds ``role`` (or ``admin``, which stands in for every role) in ``project``."""
        held = self.roles_in(project)
        return Role(role) in held or Role.ADMIN in held


def roles_granting(permission: Permission) -> list[Role]:
    return [role for role in Role if permission in ROLE_PERMISSIONS[role]]


def require(permission: Permission | str, principal: Principal, project: str | None) -> None:
    """Raise ``PermissionDeniedError`` naming the missing permission unless ``principal`` holds it."""
    perm = parse_permission(str(permission))
    if principal.can(perm, project):
        return
    where = f"project {project!r}" if project is not None else "this workspace"
    granting = ", ".join(r.value for r in roles_granting(perm))
    raise PermissionDeniedError(
        f"{principal.name!r} lacks permission {perm.value!r} in {where}",
        hint=f"an admin can grant a role that has it ({granting}): triops role grant USER ROLE --project P",
        detail={"permission": perm.value, "principal": principal.name, "project": project},
    )
