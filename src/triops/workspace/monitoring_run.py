"""``ws.monitoring.run``: evaluate a monitor's windows, store them, raise, audit and deliver alerts.

A window is (re-)evaluated when it is complete and new, or when more of its predictions have labels than
when it was last evaluated (delayed labels). An alert is raised once per (window, policy): re-evaluating a
window with more labels can raise a policy that did not breach before, never the same one twice. Each alert
is stored and audited in one transaction, then POSTed to its policy's webhook (the delivery outcome is
stored with it); an ``on_breach: retrain`` alert is then handed to the feedback loop
(``triops.workspace.feedback``), whose outcome, success or a clear error, is stored with the alert too.
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING, Any

import numpy as np

from triops.domain.clock import utc_ms
from triops.domain.ids import new_id
from triops.errors import TriopsError
from triops.store.repositories import monitoring as repo

if TYPE_CHECKING:
    from collections.abc import Callable

    import polars as pl

    from triops.governance.alert_rules import AlertDecision
    from triops.mlops.registry.records import ModelVersion
    from triops.workspace.local import Workspace


def run_monitor(
    ws: Workspace, version: ModelVersion, mon: dict[str, Any], reference: Callable[[], pl.DataFrame]
) -> dict[str, Any]:
    """Evaluate what is due; returns ``{"windows": [...evaluated...], "alerts": [...raised...], "pending"}``."""
    from triops.governance.alert_rules import evaluate_alerts, parse_alert_policies
    from triops.mlops.monitoring.windows import WindowSpec, split
    from triops.workspace.monitoring_window import build_context, evaluate_window

    ws.serving.flush()  # this process's own predictions are in the log before it is read
    frame = _in_arrival_order(ws.serving.prediction_frame(version.model, version.version))
    now = ws.clock.now()
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    if frame.height == 0:
        return {
            "windows": [],
            "alerts": [],
            "pending": 0,
            "note": f"no predictions of {version.ref} logged yet",
        }
    spec = WindowSpec.parse(mon["window"])
    windows = split(spec, frame.get_column("time_ms").cast(int).to_numpy().astype(np.int64) * 1000, now)
    ctx = build_context(ws, version, mon, reference, frame.get_column("id").to_list())
    policies = parse_alert_policies(mon["policies"], source="monitor policies") if mon["policies"] else []
    with ws.store.connect() as conn:
        stored = {w["seq"]: w for w in repo.windows(conn, mon["id"])}
        raised = repo.alert_keys(conn, mon["id"])
    ids = frame.get_column("id").to_list()
    evaluated: list[dict[str, Any]] = []
    new_alerts: list[dict[str, Any]] = []
    pending = 0
    for window in windows:
        if not window.complete:
            pending += window.rows
            continue
        labelled = sum(1 for pid in ids[window.start_row : window.stop_row] if pid in ctx.labels)
        previous = stored.get(window.index)
        if previous is not None and previous["labelled"] >= labelled:
            continue
        facts, report = evaluate_window(ws, ctx, window, frame)
        decisions = evaluate_alerts(policies, facts)
        report["alerts"] = [
            {"policy": d.policy.name, "breached": d.breached, "error": d.error} for d in decisions
        ]
        now_ms = utc_ms(ws.clock.now())
        values = {
            "id": new_id(now_ms),
            "monitor_id": mon["id"],
            "seq": window.index,
            "start_ms": facts["window"]["start_ms"],
            "end_ms": facts["window"]["end_ms"],
            "first_id": ids[window.start_row],
            "last_id": ids[window.stop_row - 1],
            "rows": window.rows,
            "labelled": labelled,
            "facts": _json(facts),
            "report": _json(report),
            "evaluated_ms": now_ms,
        }
        window_id = ws.store.write(lambda conn, v=values: repo.save_window(conn, v))  # type: ignore[misc]
        evaluated.append(
            {"seq": window.index, "rows": window.rows, "labelled": labelled, "facts": values["facts"]}
        )
        for decision in decisions:
            if decision.breached and (window_id, decision.policy.name) not in raised:
                raised.add((window_id, decision.policy.name))
                new_alerts.append(_raise(ws, version, mon, window_id, decision, values["facts"]))
    return {"windows": evaluated, "alerts": new_alerts, "pending": pending}


def _in_arrival_order(frame: pl.DataFrame) -> pl.DataFrame:
    """By time, then request, then row of the request as a number (the log's own order is by id text, where
    row 10 of a batch sorts before row 2)."""
    import polars as pl

    if frame.height == 0:
        return frame
    row = pl.col("id").str.split("/").list.get(1, null_on_oob=True).cast(pl.Int64, strict=False).fill_null(0)
    return frame.with_columns(row.alias("__row")).sort(["time_ms", "request_id", "__row"]).drop("__row")


def _json(value: Any) -> Any:
    from triops.mlops.evaluation.evaluate import json_safe

    return json_safe(value)


def _raise(
    ws: Workspace,
    version: ModelVersion,
    mon: dict[str, Any],
    window_id: str,
    decision: AlertDecision,
    facts: dict[str, Any],
) -> dict[str, Any]:
    from triops.store import audit as audit_store
    from triops.workspace.monitoring_window import deliver

    policy = decision.policy
    now = utc_ms(ws.clock.now())
    alert = {
        "id": new_id(now),
        "monitor_id": mon["id"],
        "window_id": window_id,
        "model": version.model,
        "version": version.version,
        "policy": policy.name,
        "expr": policy.expr,
        "severity": policy.severity,
        "on_breach": policy.on_breach,
        "facts": facts,
        "webhook": policy.webhook,
        "delivery": None,
        "action": None,
        "created_ms": now,
    }

    def write(conn: Any) -> None:
        repo.insert_alert(conn, alert)
        audit_store.append_event(
            conn,
            actor=ws.principal.name,
            action="monitor.alert",
            object_type="model_version",
            object_id=version.ref,
            before=None,
            after={
                "alert": alert["id"],
                "policy": policy.name,
                "severity": policy.severity,
                "window": facts["window"],
            },
            project=mon["project"],
            at_ms=now,
        )

    ws.store.write(write)
    payload = {
        k: alert[k] for k in ("id", "model", "version", "policy", "expr", "severity", "on_breach", "facts")
    }
    if policy.webhook:
        alert["delivery"] = deliver(policy.webhook, {"type": "triops.alert", **payload})
        ws.store.write(lambda conn: repo.update_alert(conn, alert["id"], delivery=alert["delivery"]))
    if policy.on_breach == "retrain":
        alert["action"] = _feedback(ws, version, alert)
        ws.store.write(lambda conn: repo.update_alert(conn, alert["id"], action=alert["action"]))
    return alert


def _feedback(ws: Workspace, version: ModelVersion, alert: dict[str, Any]) -> dict[str, Any]:
    """Hand a retrain breach to the feedback loop; a failure is recorded with the alert, which is kept."""
    from triops.workspace.feedback import retrain_after_alert

    try:
        return retrain_after_alert(ws, version, alert)
    except TriopsError as exc:
        return {"action": "retrain", "status": "failed", "error": str(exc), "error_type": type(exc).__name__}
