"""Monitors on a schedule: leases that keep a monitor to one run at a time, ``run_due`` and the server's
background scheduler.

- A monitor created with ``every`` (``--every 15m``) has ``every_s`` and ``next_due_ms`` in the store, so a
  schedule survives restarts: whichever process looks next runs what is due.
- Every run, by hand (``ws.monitoring.run``) or scheduled, first takes the monitor's *lease* in the store (one
  conditional UPDATE: of two processes racing for it exactly one wins) and holds it, renewed every third of
  ``monitor_lease_s``, until the run ends. A run that finds the lease held is refused (by hand: a 409 naming
  the holder) or skipped (scheduled), so two servers, or a server and ``triops monitor run``, never evaluate
  the same window twice. A process that dies holding a lease stops renewing it; it expires after
  ``monitor_lease_s`` and the next process takes it.
- ``run_due`` runs every due monitor the caller may run (``monitor.run`` in its project), each *as the
  monitor's runner* (the user who set it up, with the roles they hold now): the alerts, the retraining and
  the audit record of the run (``monitor.run``, with the trigger and the process) carry the runner's name,
  whoever triggered it (the server's scheduler, or ``triops monitor run --due`` from cron). After each run
  ``next_due_ms`` moves to the next multiple of the interval after now (missed runs are not replayed).
- ``MonitorScheduler`` is the server's thread: every ``monitor_poll_s`` it marks runs whose heartbeat stopped
  LOST and calls ``run_due``; ``stop`` (the server's shutdown, on SIGTERM) lets the run in progress finish,
  releases its lease and returns.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from triops.domain.clock import utc_ms
from triops.errors import ConflictError
from triops.store.repositories import monitoring as repo

if TYPE_CHECKING:
    from triops.workspace.local import Workspace

SCHEDULER_PRINCIPAL = "triops-scheduler"
"""the machine principal a server's scheduler looks for due monitors as (each runs as its runner)"""


def process_owner(kind: str) -> str:
    """A lease owner naming this process (``kind:host:pid:nonce``): it says who holds a monitor."""
    return f"{kind}:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _now_ms(ws: Workspace) -> int:
    return utc_ms(ws.clock.now())


class Lease:
    """A held run lease; ``after`` is written with the release (the last run's outcome, the next due)."""

    def __init__(self, monitor_id: str, owner: str) -> None:
        self.monitor_id = monitor_id
        self.owner = owner
        self.after: dict[str, Any] = {}
        self.audit: Callable[[Any], None] | None = None


@contextmanager
def leased(ws: Workspace, mon: dict[str, Any], owner: str, *, due: bool = False) -> Iterator[Lease | None]:
    """Hold ``mon``'s lease for the block (renewed in the background), or yield ``None`` when another
    process holds it (or, with ``due``, when the monitor is no longer due: someone just ran it)."""
    lease_ms = int(ws.settings.monitor_lease_s * 1000)
    now = _now_ms(ws)

    def take(conn: Any) -> bool:
        if due:
            found = repo.monitor(conn, mon["model"], mon["version"])
            if found is None or found["next_due_ms"] is None or found["next_due_ms"] > now:
                return False
        return repo.take_lease(conn, mon["id"], owner, now, now + lease_ms)

    if not ws.store.write(take):
        yield None
        return
    lease = Lease(mon["id"], owner)
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(lease_ms / 3000):
            try:
                until = _now_ms(ws) + lease_ms
                ws.store.write(lambda conn, u=until: repo.renew_lease(conn, mon["id"], owner, u))  # type: ignore[misc]
            except Exception:  # noqa: S112 (the next renewal retries; an expired lease is only taken, never lost)
                continue

    renewer = threading.Thread(target=renew, name=f"triops-monitor-lease-{mon['id']}", daemon=True)
    renewer.start()
    try:
        yield lease
    finally:
        stop.set()
        renewer.join(timeout=5)

        def release(conn: Any) -> None:
            repo.release_lease(conn, mon["id"], owner, **lease.after)
            if lease.audit is not None:
                lease.audit(conn)

        ws.store.write(release)


def refuse_held(ws: Workspace, mon: dict[str, Any]) -> ConflictError:
    with ws.store.connect() as conn:
        found = repo.monitor(conn, mon["model"], mon["version"]) or mon
    return ConflictError(
        f"monitor of {mon['model']}/{mon['version']} is being run by {found.get('lease_owner')} "
        f"(lease until {found.get('lease_until_ms')} ms)",
        hint="wait for that run to finish, then run again: a window is evaluated once",
    )


def summary(result: dict[str, Any], *, trigger: str, by: str, at_ms: int) -> dict[str, Any]:
    """What the monitor keeps of a run (``last_run``) and the audit record says about it."""
    return {
        "status": "ok",
        "trigger": trigger,
        "by": by,
        "at_ms": at_ms,
        "windows": len(result.get("windows", [])),
        "alerts": len(result.get("alerts", [])),
        "pending": result.get("pending", 0),
    }


def audit_run(ws: Workspace, mon: dict[str, Any], outcome: dict[str, Any]) -> Callable[[Any], None]:
    """The ``monitor.run`` audit record, written with the lease's release, as the acting principal."""
    from triops.store import audit as audit_store

    def write(conn: Any) -> None:
        audit_store.append_event(
            conn,
            actor=ws.principal.name,
            action="monitor.run",
            object_type="model_version",
            object_id=f"{mon['model']}/{mon['version']}",
            before=None,
            after=outcome,
            project=mon["project"],
            at_ms=outcome["at_ms"],
        )

    return write


def next_due(due_ms: int, every_s: int, now_ms: int) -> int:
    """The first ``due_ms + k·every`` after ``now_ms`` (runs missed while nothing ran are not replayed)."""
    step = every_s * 1000
    if due_ms > now_ms:
        return due_ms
    return due_ms + ((now_ms - due_ms) // step + 1) * step


def run_due(
    ws: Workspace, *, owner: str, trigger: str, stop: threading.Event | None = None
) -> list[dict[str, Any]]:
    """Run every due monitor ``ws.principal`` may run, each as its runner; one outcome per monitor taken.
    A monitor whose run fails (its runner lost the role, its reference is gone …) records the error as its
    last run and is due again one interval later."""
    from triops.governance.rbac import Permission
    from triops.governance.roles import load_principal

    with ws.store.connect() as conn:
        due = repo.due_monitors(conn, _now_ms(ws))
    outcomes: list[dict[str, Any]] = []
    for mon in due:
        if stop is not None and stop.is_set():
            break
        if not ws.principal.can(Permission.MONITOR_RUN, mon["project"]):
            continue
        with leased(ws, mon, owner, due=True) as lease:
            if lease is None:
                continue
            with ws.store.connect() as conn:
                runner = load_principal(conn, mon["created_by"])
            as_runner = ws.acting_as(runner)
            at = _now_ms(ws)
            try:
                result = as_runner.monitoring.run_leased(f"{mon['model']}/{mon['version']}")
                outcome = summary(result, trigger=trigger, by=owner, at_ms=at)
            except Exception as exc:  # recorded as the last run: a schedule never stops on one monitor
                outcome = {"status": "failed", "trigger": trigger, "by": owner, "at_ms": at,
                           "error": str(exc)[:500], "error_type": type(exc).__name__}  # fmt: skip
            done = _now_ms(ws)
            lease.after = {
                "last_run_ms": at,
                "last_run": outcome,
                "next_due_ms": next_due(mon["next_due_ms"], mon["every_s"], done),
            }
            lease.audit = audit_run(as_runner, mon, outcome)
            outcomes.append(
                {"model": mon["model"], "version": mon["version"], "runner": runner.name, **outcome}
            )
    return outcomes


class MonitorScheduler:
    """The server's background thread: runs due monitors (see the module docstring) and marks runs whose
    heartbeat stopped LOST (store/repositories/liveness.py) every poll."""

    def __init__(self, ws: Workspace, *, poll_s: float | None = None) -> None:
        from triops.governance.rbac import GLOBAL, Principal, Role

        self.ws = ws.acting_as(Principal(SCHEDULER_PRINCIPAL, {GLOBAL: frozenset({Role.SERVICE})}))
        self.poll_s = poll_s if poll_s is not None else ws.settings.monitor_poll_s
        self.owner = process_owner("scheduler")
        self.last_error: str | None = None
        self.runs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="triops-monitor-scheduler", daemon=True)

    def start(self) -> MonitorScheduler:
        self._thread.start()
        return self

    def _loop(self) -> None:
        from triops.mlops.pipelines.runner import mark_lost_runs

        settings = self.ws.settings
        while not self._stop.is_set():
            try:  # runs whose process died show as LOST without anyone listing them (cheap: an index read)
                mark_lost_runs(self.ws.store, self.ws.clock, settings.run_lost_after_s)
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"[:500]
            try:
                self.runs += len(run_due(self.ws, owner=self.owner, trigger="schedule", stop=self._stop))
                self.last_error = None
            except Exception as exc:  # the store may be away for a moment: the next poll tries again
                self.last_error = f"{type(exc).__name__}: {exc}"[:500]
            self._stop.wait(self.poll_s)

    def stop(self, timeout: float = 60.0) -> None:
        """Let the run in progress finish (its lease is released), then stop."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=timeout)
