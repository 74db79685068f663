"""Run liveness: the heartbeat a running run writes, and marking runs LOST when it stops.

A process killed with SIGKILL (or a machine that disappears) cannot record its own end: its run would stay
RUNNING forever. The process running a pipeline run or a tracked run (``ws.start_run``) updates
``runs.heartbeat_ms`` every few seconds; a RUNNING run whose heartbeat is older than the timeout is marked
LOST (a pipeline run's running steps KILLED). A LOST pipeline run can be resumed like a failed one. A LOST
tracked run whose process turns out to be alive (a laptop that slept past the timeout) is revived by its
next heartbeat and goes on logging; runs created without a heartbeat (the MLflow endpoint) are never marked.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from triops.domain.records import RunStatus
from triops.store.tables import runs
from triops.store.tables_pipelines import step_runs


def beat(conn: Connection, run_id: str, now_ms: int) -> bool:
    """Record a sign of life; False when the run is no longer RUNNING (it ended, or was marked LOST)."""
    result = conn.execute(
        runs.update()
        .where(runs.c.id == run_id, runs.c.status == RunStatus.RUNNING.value)
        .values(heartbeat_ms=now_ms)
    )
    return bool(result.rowcount)


def beat_tracked(conn: Connection, run_id: str, now_ms: int) -> bool:
    """A tracked run's sign of life. A tracked run marked LOST while its process was merely asleep becomes
    RUNNING again (the process is demonstrably alive). False when the run has ended for real."""
    if beat(conn, run_id, now_ms):
        return True
    revived = conn.execute(
        runs.update()
        .where(runs.c.id == run_id, runs.c.status == RunStatus.LOST.value, runs.c.kind == "tracked")
        .values(status=RunStatus.RUNNING.value, end_ms=None, error=None, heartbeat_ms=now_ms)
    )
    return bool(revived.rowcount)


def stale_runs(conn: Connection, now_ms: int, lost_after_ms: int) -> list[tuple[str, int, str]]:
    """(id, last heartbeat, kind) of RUNNING runs that have not beaten for ``lost_after_ms``."""
    rows = conn.execute(
        sa.select(runs.c.id, runs.c.heartbeat_ms, runs.c.kind).where(
            runs.c.status == RunStatus.RUNNING.value,
            runs.c.heartbeat_ms.is_not(None),
            runs.c.heartbeat_ms < now_ms - lost_after_ms,
        )
    )
    return [(str(run_id), int(last), str(kind)) for run_id, last, kind in rows]


def mark_lost(conn: Connection, now_ms: int, lost_after_ms: int) -> list[str]:
    """Mark stale RUNNING runs LOST (ended at their last heartbeat) and their running steps KILLED."""
    lost: list[str] = []
    for run_id, last, kind in stale_runs(conn, now_ms, lost_after_ms):
        seconds = (now_ms - last) / 1000
        then = (
            "if that process is still alive, its next heartbeat makes the run RUNNING again"
            if kind == "tracked"
            else f"resume it with `triops runs resume {run_id}`"
        )
        error = (
            f"lost: no heartbeat for {seconds:.0f} s (more than {lost_after_ms / 1000:g} s); the process "
            f"running it was killed or its machine was lost; {then}"
        )
        updated = conn.execute(
            runs.update()
            .where(runs.c.id == run_id, runs.c.status == RunStatus.RUNNING.value, runs.c.heartbeat_ms == last)
            .values(status=RunStatus.LOST.value, end_ms=last, error=error)
        )
        if not updated.rowcount:
            continue  # it beat or ended meanwhile
        conn.execute(
            step_runs.update()
            .where(step_runs.c.run_id == run_id, step_runs.c.status == "RUNNING")
            .values(status="KILLED", ended_ms=last, error="the run was lost while this step ran")
        )
        lost.append(run_id)
    return lost


__all__ = ["beat", "beat_tracked", "mark_lost", "stale_runs"]
