"""The per-project scorecard through ``ws.kpis`` on SQLite and PostgreSQL: facts read off the store,
"no data yet" instead of zero, currencies never summed unconverted, snapshots and trends, and roles."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.finops.conftest import usage, write_catalog

from triops import Workspace
from triops.errors import NotFoundError, PermissionDeniedError
from triops.governance import roles
from triops.governance.rbac import Principal
from triops.settings import Settings


@pytest.fixture
def ws(store_url: str, tmp_path: Path) -> Iterator[Workspace]:
    settings = Settings(home=tmp_path, price_catalog=str(write_catalog(tmp_path)))
    workspace = Workspace.open(store_url, artifact_root=tmp_path / "artifacts", settings=settings)
    yield workspace.acting_as(Principal.owner("admin"))  # on PostgreSQL the OS user holds no role by itself
    workspace.close()


def _board(ws: Workspace, project: str) -> dict[str, object]:
    return {r.name: r for r in ws.kpis.scorecard(project)}


def test_a_project_without_records_shows_no_data_yet_never_zero(ws: Workspace) -> None:
    with ws.start_run("empty") as run:
        run.log_metric("auc", 0.7)
    board = _board(ws, "empty")
    for name in (
        "data quality score",
        "contract pass rate",
        "cost per run",
        "model performance",
        "open drift alerts",
        "cost per 1,000 predictions",
        "lead time data to production",
    ):
        row = board[name]
        assert row.value is None, name  # type: ignore[attr-defined]
        assert row.status == "no data"  # type: ignore[attr-defined]
        assert "no data yet" in row.note  # type: ignore[attr-defined]
    assert board["pending approvals"].value == 0  # type: ignore[attr-defined]
    assert board["pending approvals"].status == "met"  # type: ignore[attr-defined]


def test_cost_per_run_is_in_the_projects_one_currency(ws: Workspace) -> None:
    ws.finops.record_usage([usage(project="solo", run_id=f"r{i}", environment="lab") for i in range(4)])
    row = _board(ws, "solo")["cost per run"]
    total = ws.finops.costs(project="solo")["cost_micros"].sum() / 1e6
    assert row.unit == "USD"  # type: ignore[attr-defined]
    assert row.value == pytest.approx(total / 4)  # type: ignore[attr-defined]


def test_costs_in_two_currencies_are_never_summed_unconverted(ws: Workspace) -> None:
    ws.finops.record_usage(
        [
            usage(project="mixed", run_id="a", environment="lab"),
            usage(project="mixed", run_id="b", environment="eu"),
        ]
    )
    board = _board(ws, "mixed")
    for name in ("cost per run", "cost per quality point"):
        row = board[name]
        assert row.value is None  # type: ignore[attr-defined]
        assert "EUR, USD" in row.note and "not summed unconverted" in row.note  # type: ignore[attr-defined]


def test_snapshots_are_kept_and_the_trend_follows_the_kpis_direction(ws: Workspace) -> None:
    ws.finops.record_usage([usage(project="trend", run_id="a", environment="lab")])
    first = {r.name: r for r in ws.kpis.record("trend")}
    assert first["cost per run"].trend == ""
    ws.finops.record_usage(
        [
            usage(
                project="trend",
                run_id="b",
                environment="lab",
                cpu_s=1.0,
                wall_s=60.0,
                ended_ms=usage().started_ms + 60_000,
            )
        ]
    )
    second = {r.name: r for r in ws.kpis.record("trend")}
    assert second["cost per run"].value < first["cost per run"].value  # type: ignore[operator]
    assert second["cost per run"].trend == "better"  # lower is better for a cost
    assert second["cost per run"].history == (first["cost per run"].value,)
    again = _board(ws, "trend")["cost per run"]
    assert again.history == (first["cost per run"].value, second["cost per run"].value)  # type: ignore[attr-defined]
    assert again.trend == "same"  # type: ignore[attr-defined]


def test_a_project_the_principal_cannot_read_is_not_found(ws: Workspace) -> None:
    with ws.start_run("private") as run:
        run.log_metric("auc", 0.7)
    with ws.start_run("open") as run:
        run.log_metric("auc", 0.7)
    roles.grant(ws.store, Principal.owner("admin"), "vic", "viewer", "open")
    with ws.store.connect() as conn:
        vic = ws.acting_as(roles.load_principal(conn, "vic"))
    assert vic.kpis.projects() == ["open"]
    with pytest.raises(NotFoundError):
        vic.kpis.scorecard("private")
    with pytest.raises(PermissionDeniedError):
        vic.kpis.record("open")  # a viewer reads the scorecard but does not record snapshots
    board = {r.name: r for r in vic.kpis.scorecard("open")}
    assert board["audit verified"].value is None  # vic may not read the audit log
