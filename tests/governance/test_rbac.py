"""Roles are documented permission sets; ``require`` names the missing permission."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triops.errors import InvalidInputError, PermissionDeniedError
from triops.governance.rbac import (
    ROLE_DESCRIPTIONS,
    ROLE_PERMISSIONS,
    Permission,
    Principal,
    Role,
    parse_role,
    require,
)


def test_every_role_is_documented_and_admin_holds_every_permission() -> None:
    assert set(ROLE_DESCRIPTIONS) == set(Role) == set(ROLE_PERMISSIONS)
    assert ROLE_PERMISSIONS[Role.ADMIN] == frozenset(Permission)


def test_viewer_reads_but_cannot_write() -> None:
    viewer = Principal.from_bindings("vera", [("benefits", "viewer")])
    require(Permission.PROJECT_READ, viewer, "benefits")
    with pytest.raises(PermissionDeniedError) as info:
        require(Permission.RUN_WRITE, viewer, "benefits")
    assert "'run.write'" in str(info.value)
    assert info.value.detail["permission"] == "run.write"
    assert info.value.status == 403


def test_roles_hold_only_in_their_project() -> None:
    carla = Principal.from_bindings("carla", [("benefits", "contributor")])
    require(Permission.MODEL_REGISTER, carla, "benefits")
    with pytest.raises(PermissionDeniedError, match="project 'other'"):
        require(Permission.MODEL_REGISTER, carla, "other")


def test_workspace_wide_binding_holds_in_every_project() -> None:
    root = Principal.from_bindings("root", [(None, "admin")])
    for perm in Permission:
        require(perm, root, "any-project")
    assert Principal.owner("me").can(Permission.ROLE_WRITE, None)


def test_contributor_cannot_approve_and_approver_cannot_register() -> None:
    carla = Principal.from_bindings("carla", [("p", "contributor")])
    abe = Principal.from_bindings("abe", [("p", "approver")])
    assert not carla.can(Permission.APPROVAL_DECIDE, "p")
    assert abe.can(Permission.APPROVAL_DECIDE, "p")
    assert not abe.can(Permission.MODEL_REGISTER, "p")


def test_finops_manages_budgets_and_overrides() -> None:
    fin = Principal.from_bindings("fin", [("p", "finops")])
    assert fin.can(Permission.BUDGET_OVERRIDE, "p")
    assert fin.can(Permission.BUDGET_WRITE, "p")
    assert not fin.can(Permission.POLICY_WRITE, "p")


def test_unknown_role_or_permission_is_refused_with_the_allowed_values() -> None:
    with pytest.raises(InvalidInputError, match="unknown role") as info:
        parse_role("superuser")
    assert "viewer" in str(info.value)
    with pytest.raises(InvalidInputError, match="unknown permission"):
        require("launch.missiles", Principal.owner("me"), None)


def test_names_with_metacharacters_are_kept_literally_in_the_error() -> None:
    name = "<b>x'; DROP TABLE users;--</b>"
    with pytest.raises(PermissionDeniedError) as info:
        require(Permission.RUN_WRITE, Principal(name), "p")
    assert info.value.detail["principal"] == name


@given(roles=st.sets(st.sampled_from(list(Role))), perm=st.sampled_from(list(Permission)))
def test_a_principal_can_exactly_what_its_roles_grant(roles: set[Role], perm: Permission) -> None:
    principal = Principal.from_bindings("p", [("proj", r.value) for r in roles])
    expected = any(perm in ROLE_PERMISSIONS[r] for r in roles)
    assert principal.can(perm, "proj") is expected
    assert principal.can(perm, "elsewhere") is False
