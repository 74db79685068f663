"""Run liveness on SQLite and PostgreSQL: a RUNNING run whose heartbeat is older than the timeout is marked
LOST (its running steps KILLED), a run that beats stays RUNNING, and a LOST run may still record its end."""

from __future__ import annotations

from pathlib import Path

from triops import Workspace
from triops.domain.records import RunStatus
from triops.mlops.pipelines.authoring import pipeline, step
from triops.settings import Settings
from triops.store.engine import Store
from triops.store.repositories import liveness
from triops.store.repositories import runs as runs_repo

T0 = 1_800_000_000_000


def _run(store: Store, run_id: str, beat_ms: int) -> None:
    def write(conn: object) -> None:
        project = runs_repo.ensure_project(conn, "live", T0)  # type: ignore[arg-type]
        runs_repo.create_run(
            conn,  # type: ignore[arg-type]
            run_id=run_id,
            project_id=project,
            name=run_id,
            kind="pipeline",
            start_ms=T0,
            user_name=None,
            tags={},
        )
        liveness.beat(conn, run_id, beat_ms)  # type: ignore[arg-type]

    store.write(write)


def _status(store: Store, run_id: str) -> str:
    with store.connect() as conn:
        return runs_repo.run_status(conn, run_id)


def test_only_runs_silent_past_the_timeout_are_marked_lost(store: Store) -> None:
    _run(store, "01a00000-0000-7000-8000-00000000000a", T0)
    _run(store, "01a00000-0000-7000-8000-00000000000b", T0 + 55_000)
    lost = store.write(lambda conn: liveness.mark_lost(conn, T0 + 60_000, 30_000))
    assert lost == ["01a00000-0000-7000-8000-00000000000a"]
    assert _status(store, "01a00000-0000-7000-8000-00000000000a") == "LOST"
    assert _status(store, "01a00000-0000-7000-8000-00000000000b") == "RUNNING"
    # a lost run cannot beat back to life, but its process may still record how it really ended
    assert (
        store.write(lambda conn: liveness.beat(conn, "01a00000-0000-7000-8000-00000000000a", T0 + 61_000))
        is False
    )
    store.write(
        lambda conn: runs_repo.finish_run(
            conn, "01a00000-0000-7000-8000-00000000000a", "FINISHED", T0 + 62_000, None
        )
    )
    assert _status(store, "01a00000-0000-7000-8000-00000000000a") == "FINISHED"
    assert store.write(lambda conn: liveness.mark_lost(conn, T0 + 60_000, 30_000)) == []


@step
def one() -> int:
    return 1


@pipeline
def tiny() -> None:
    one()


def test_the_pipelines_service_shows_a_dead_run_as_lost(store_url: str, tmp_path: Path) -> None:
    ws = Workspace.open(
        store_url, artifact_root=tmp_path / "a", settings=Settings(home=tmp_path, run_lost_after_s=5)
    )
    try:
        result = ws.run_pipeline(tiny)
        assert ws.pipelines.run(result.run_id).status == "FINISHED"
        # what a SIGKILL leaves behind: RUNNING, with a heartbeat that stopped a minute ago
        from triops.domain.clock import utc_ms
        from triops.store.tables import runs

        minute_ago = utc_ms(ws.clock.now()) - 60_000

        ws.store.write(
            lambda conn: conn.execute(
                runs.update()
                .where(runs.c.id == result.run_id)
                .values(status="RUNNING", heartbeat_ms=minute_ago)
            )
        )
        record = ws.pipelines.run(result.run_id)
        assert record.status == "LOST" and "no heartbeat" in (record.error or "")
        assert ws.runs.get(result.run_id).status is RunStatus.LOST
        resumed = ws.pipelines.resume(result.run_id)
        assert resumed.status == "FINISHED" and resumed.resumed_from == result.run_id
    finally:
        ws.close()
