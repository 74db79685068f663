"""What a contract gate decided, kept with the run it stopped or let through.

For every gated step: the full gate report (failing rules, sample rows, digests of the inputs checked) as a
run artifact ``dataops/gate-<step>.json``, a run tag ``triops.gate.<step>`` with the verdict, and an audit
event (``dataops.gate.passed`` or ``dataops.gate.failed``) in the same transaction — so warnings that let a
run go on are recorded as surely as errors that stop it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from triops.domain.clock import Clock, utc_ms
from triops.store import audit as audit_store
from triops.store.engine import Store
from triops.store.repositories import runs as runs_repo

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from triops.artifacts import ArtifactStore
    from triops.dataops.gate import GateResult


def gate_verdict(result: GateResult) -> str:
    """``passed``, ``passed with 2 warnings`` or ``failed: 3 errors, 1 warning``."""

    def count(n: int, what: str) -> str:
        return f"{n} {what}{'' if n == 1 else 's'}"

    warnings = len(result.warnings)
    if result.passed:
        return "passed" if not warnings else f"passed with {count(warnings, 'warning')}"
    errors = len(result.errors) + len(result.problems)
    return f"failed: {count(errors, 'error')}" + (f", {count(warnings, 'warning')}" if warnings else "")


def record_gate_result(
    store: Store,
    artifacts: ArtifactStore,
    clock: Clock,
    actor: str,
    run_id: str,
    step: str,
    result: GateResult,
) -> None:
    report = artifacts.put_bytes(
        orjson.dumps(result.to_dict(), default=str, option=orjson.OPT_SORT_KEYS), "application/json"
    )
    verdict = gate_verdict(result)

    def write(conn: Connection) -> None:
        now = utc_ms(clock.now())
        project = runs_repo.run_project(conn, run_id)
        runs_repo.add_run_artifact(conn, run_id, f"dataops/gate-{step}.json", report, now)
        runs_repo.set_tags(conn, run_id, {f"triops.gate.{step}": verdict})
        audit_store.append_event(
            conn,
            actor=actor,
            action="dataops.gate.passed" if result.passed else "dataops.gate.failed",
            object_type="run",
            object_id=run_id,
            before=None,
            after={
                "step": step,
                "verdict": verdict,
                "summary": result.summary(),
                "inputs": dict(result.digests),
                "report_sha256": report.sha256,
            },
            project=project,
            at_ms=now,
        )

    store.write(write)
