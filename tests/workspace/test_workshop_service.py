"""The workshop service without HTTP (the SDK path): who may facilitate, whose sessions are whose, and the
learner rules (idempotent join and answers, closed sessions) on real SQLite and PostgreSQL stores."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from triops import Workspace
from triops.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from triops.governance.rbac import GLOBAL, Principal, Role
from triops.workspace.workshop import WorkshopService, normalise_code


@pytest.fixture
def ws(store_url: str, tmp_path: Path) -> Iterator[Workspace]:
    """A workspace on SQLite and on PostgreSQL."""
    workspace = Workspace.open(store_url, artifact_root=tmp_path / "artifacts")
    yield workspace
    workspace.close()


def as_(ws: Workspace, name: str, role: Role, project: str = "alpha") -> WorkshopService:
    return WorkshopService(ws.acting_as(Principal(name, {project: frozenset({role})})))


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.VIEWER, False),
        (Role.APPROVER, False),
        (Role.FINOPS, False),
        (Role.SERVICE, False),
        (Role.CONTRIBUTOR, True),
        (Role.ADMIN, True),
    ],
)
def test_facilitating_needs_workshop_run(ws: Workspace, role: Role, allowed: bool) -> None:
    service = as_(ws, "someone", role)
    if allowed:
        assert service.open("Kick-off", "novice", ["scenarios"], 2)["facilitator"] == "someone"
        assert len(service.sessions()) == 1
    else:
        with pytest.raises(PermissionDeniedError, match=r"workshop\.run"):
            service.open("Kick-off", "novice", ["scenarios"], 2)
        with pytest.raises(PermissionDeniedError):
            service.sessions()


def test_sessions_belong_to_their_facilitator_and_admins(ws: Workspace) -> None:
    carol, dan = as_(ws, "carol", Role.CONTRIBUTOR), as_(ws, "dan", Role.CONTRIBUTOR)
    code = carol.open("Carol's", "manager", ["simulation"], 1)["code"]
    with pytest.raises(NotFoundError):
        dan.facilitated(code)
    with pytest.raises(NotFoundError):
        dan.delete(code)
    admin = WorkshopService(ws.acting_as(Principal("root", {GLOBAL: frozenset({Role.ADMIN})})))
    assert admin.facilitated(code.lower())["title"] == "Carol's"
    assert [s["code"] for s in admin.sessions()] == [code] and dan.sessions() == []


def test_bad_settings_name_the_field(ws: Workspace) -> None:
    carol = as_(ws, "carol", Role.CONTRIBUTOR)
    for args, field in [
        (("", "novice", ["scenarios"]), "title"),
        (("x", "wizard", ["scenarios"]), "level"),
        (("x", "novice", ["poll"]), "tools"),
        (("x", "novice", []), "tools"),
    ]:
        with pytest.raises(InvalidInputError, match=field):
            carol.open(*args)
    with pytest.raises(InvalidInputError, match="questions"):
        carol.open("x", "novice", ["scenarios"], 10_000)


def test_learners_join_once_answer_once_and_stop_when_closed(ws: Workspace) -> None:
    carol = as_(ws, "carol", Role.CONTRIBUTOR)
    code = carol.open("Quiz", "experienced", ["scenarios"], 2)["code"]
    key = secrets.token_urlsafe(32)
    ada = carol.join(f" {code.lower()} ", "Ada", key)
    assert carol.join(code, "Ada", key)["id"] == ada["id"]  # the same join twice is the same learner
    with pytest.raises(ConflictError, match="taken"):
        carol.join(code, "Ada", secrets.token_urlsafe(32))
    session = carol.facilitated(code)
    question = carol.quiz(session).questions[0]
    first = carol.answer(code, ada, question.scenario_id, question.letters[0])
    again = carol.answer(code, ada, question.scenario_id, question.letters[1])
    assert again.letter == first.letter == question.letters[0]  # the first answer stands
    assert carol.answers_of(ada) == {question.scenario_id: question.letters[0]}
    carol.close(code)
    with pytest.raises(ConflictError, match="closed"):
        carol.join(code, "Bea", secrets.token_urlsafe(32))
    with pytest.raises(ConflictError, match="closed"):
        carol.answer(code, ada, carol.quiz(session).questions[1].scenario_id, "a")
    with pytest.raises(NotFoundError):
        carol.join("NOPE42", "Cy", secrets.token_urlsafe(32))


def test_codes_are_read_forgivingly() -> None:
    assert normalise_code(" ab c12 ") == "ABC12"


def test_a_group_run_that_finishes_after_the_workshop_closed_or_went_is_not_stored(ws: Workspace) -> None:
    from dataclasses import replace

    from triops.strategy.group_run import run_group_simulation

    carol = as_(ws, "carol", Role.CONTRIBUTOR)
    code = carol.open("Sim", "experienced", ["simulation"])["code"]
    ada = carol.join(code, "Ada", secrets.token_urlsafe(32))
    plan = replace(carol.plan_simulation(code, ada, "group 1", ["data_contracts"]), runs=50)
    outcome = run_group_simulation(plan)
    assert carol.save_simulation(plan, outcome)["choices"] == ["data_contracts"]
    carol.close(code)
    with pytest.raises(ConflictError, match="closed"):
        carol.save_simulation(plan, outcome)
    carol.delete(code)
    with pytest.raises(NotFoundError, match="deleted"):
        carol.save_simulation(plan, outcome)
    with ws.store.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM workshop_group_runs").scalar() == 0
