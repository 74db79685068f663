"""A stage change is one write transaction: the stage, the gate's evaluation and both audit events
(``gate.evaluate`` then ``model.stage``) commit together, in a bounded number of SQL statements. A version
moved by another writer meanwhile is a conflict, and the gate's evaluation is still kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from sklearn.linear_model import LogisticRegression

from triops import Workspace
from triops.errors import ConflictError
from triops.governance.rbac import Principal
from triops.mlops.registry.records import ChangeRequest
from triops.settings import Settings
from triops.store import audit
from triops.store.repositories import governance as governance_repo
from triops.store.repositories import registry as registry_repo

# the version's model and project (1), the version with its aliases (1), the gate's facts (2), policies and
# approval request (2), then BEGIN (SQLite), the stage, the evaluation row and the audit head, events and hash
STAGE_STATEMENTS = 12


@pytest.fixture
def ws(store_url: str, tmp_path: Path) -> Iterator[Workspace]:
    root = Workspace.open(store_url, artifact_root=tmp_path / "a", settings=Settings(home=tmp_path))
    owner = root.acting_as(Principal.owner("olivia"))
    x = pd.DataFrame({"a": [0.0, 1.0, 0.2, 0.9], "b": [1.0, 0.0, 0.8, 0.1]})
    owner.models.register("m", LogisticRegression().fit(x, [0, 1, 0, 1]), git_commit=None, onnx=False)
    yield owner
    root.close()


def _evaluations(ws: Workspace) -> list[dict[str, Any]]:
    with ws.store.connect() as conn:
        return governance_repo.list_gate_evaluations(conn, subject_type="model_version", subject_id="m/1")


def test_a_stage_change_commits_with_its_gate_evaluation_in_one_transaction(ws: Workspace) -> None:
    statements: list[str] = []
    commits: list[object] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    def committed(conn: Any) -> None:
        commits.append(conn)

    sa.event.listen(ws.store.engine, "before_cursor_execute", seen)
    sa.event.listen(ws.store.engine, "commit", committed)
    try:
        moved = ws.models.transition("m/1", "staging")
    finally:
        sa.event.remove(ws.store.engine, "before_cursor_execute", seen)
        sa.event.remove(ws.store.engine, "commit", committed)
    assert moved.stage == "staging"
    assert len(commits) == 1, statements
    assert len(statements) <= STAGE_STATEMENTS, "\n".join(statements)
    [evaluation] = _evaluations(ws)
    assert evaluation["passed"] and evaluation["gate"] == "model.stage"
    with ws.store.connect() as conn:
        events = audit.list_events(conn, limit=2)
    assert [(e.action, e.object_id) for e in reversed(events)] == [
        ("gate.evaluate", "m/1"),
        ("model.stage", "m/1"),
    ]
    assert events[1].after_json is not None and evaluation["id"] in events[1].after_json
    assert events[0].prev_hash == events[1].hash  # chained in that order


def test_a_version_moved_meanwhile_is_a_conflict_and_the_gate_evaluation_is_kept(ws: Workspace) -> None:
    def other_writer(change: ChangeRequest) -> None:
        # after the gate let the change through, another writer moves the version
        ws.store.write(
            lambda conn: registry_repo.set_stage(conn, change.version.id, "archived", expected="development")
        )

    ws.models.guards.append(other_writer)
    with pytest.raises(ConflictError, match="moved meanwhile"):
        ws.models.transition("m/1", "staging")
    assert ws.models.get("m/1").stage == "archived"
    assert [e["passed"] for e in _evaluations(ws)] == [True]
    with ws.store.connect() as conn:
        [last] = audit.list_events(conn, limit=1)
    assert last.action == "gate.evaluate"
