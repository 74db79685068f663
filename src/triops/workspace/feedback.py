"""The feedback loop: an ``on_breach: retrain`` alert → retraining run → paired comparison → gate → alias.

It crosses every pillar, so it lives here, in the composition layer:

1. the pipeline that produced the alerting version (its run's import target and parameters) runs again as a
   normal run: contract gates, metering, budgets (a retraining that would break a budget stops like any run)
   and the audit all apply. A parameter named ``dataset_version`` is set to the newest *passing* version of
   the training dataset; other parameters are the original run's. The model the run outputs (its first
   output with ``predict``) is registered as the next version, trained on that dataset version;
2. the version the retraining run registered is compared with the alerting version (the champion) on the
   labelled production rows of the prediction log, with the paired test (McNemar and paired bootstrap).
   Where the log holds inputs masked (restricted columns), the rows are re-identified by prediction id in
   the monitor's evaluation dataset (the production rows in clear, governed as a dataset): its inputs, the
   log's late labels; without one the comparison is reported as not run, naming the masked columns;
3. the new version is proposed as ``champion``: the alias moves through the registry, so the policy gate
   and its approvals (separation of duties) apply. A gate that waits only for approvals gets an approval
   request for that very move (alias, from, to), asked by whoever ran the monitor, and leaves the alert
   ``awaiting_approval``; once a second person has approved, ``promote_after_approval`` (``ws.monitoring
   .promote``) moves the alias — serving follows the alias without failing a request;
4. the loop's elapsed time, the retraining run's cost and a timeline (what, when, who, cost) are recorded
   with the alert.

A version that no pipeline run produced, or whose pipeline cannot be imported, is a clear error kept with the
alert (the alert itself is stored before any of this starts).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from triops.domain.clock import utc_ms
from triops.errors import ConflictError, GateBlockedError, NotFoundError, PipelineError, TriopsError

if TYPE_CHECKING:
    import polars as pl

    from triops.mlops.registry.records import ModelVersion
    from triops.workspace.local import Workspace

LABEL = "__label__"
_DONE = {"approve": "approved", "reject": "rejected"}
MIN_COMPARE_ROWS = 30


def _newest_passing(ws: Workspace, version: ModelVersion) -> Any:
    from triops.store.repositories.dataops import _row
    from triops.store.tables_dataops import dataset_versions as dv

    if not version.training_datasets:
        return None
    with ws.store.connect() as conn:
        trained = conn.execute(sa.select(dv).where(dv.c.id == version.training_datasets[0])).first()
        if trained is None:
            return None
        newest = conn.execute(
            sa.select(dv)
            .where(dv.c.project_id == trained.project_id, dv.c.name == trained.name, dv.c.passed.is_(True))
            .order_by(dv.c.version.desc())
            .limit(1)
        ).first()
    return _row(newest) if newest is not None else None


def labelled_rows(ws: Workspace, version: ModelVersion) -> pl.DataFrame:
    """The version's logged predictions that have a label: their inputs and the label (column ``LABEL``)."""
    import polars as pl

    from triops.store.repositories import monitoring as repo

    frame = ws.serving.prediction_frame(version.model, version.version)
    with ws.store.connect() as conn:
        labels = repo.labels(conn, frame.get_column("id").to_list()) if frame.height else {}
    frame = frame.filter(pl.col("id").is_in(list(labels)))
    return frame.with_columns(pl.Series(LABEL, [labels[i] for i in frame.get_column("id").to_list()]))


def _run_cost(ws: Workspace, run_id: str) -> dict[str, Any]:
    """The retraining run's priced cost (micro-units of its currency), as FinOps recorded it."""
    costs = ws.finops.costs(run_id=run_id)
    if costs.height == 0:
        return {"cost_micros": 0, "currency": None}
    return {
        "cost_micros": int(costs.get_column("cost_micros").sum()),
        "currency": costs.get_column("currency")[0],
    }


def retrain_after_alert(ws: Workspace, version: ModelVersion, alert: dict[str, Any]) -> dict[str, Any]:
    """Run the loop for ``alert`` on ``version``; returns what happened (stored with the alert)."""
    from triops.mlops.evaluation.records import compare_versions
    from triops.mlops.pipelines.targets import load_target
    from triops.store.repositories import pipelines as pipeline_repo

    started = time.perf_counter()
    out: dict[str, Any] = {"action": "retrain", "alert": alert["id"], "from_version": version.ref}
    out["steps"] = [
        _step(ws, f"alert {alert['policy']} on {version.ref}", at_ms=alert.get("created_ms")),
    ]
    if version.run_id is None:
        raise NotFoundError(
            f"model version {version.ref} was not produced by a pipeline run; its pipeline is unknown",
            hint="register versions from a pipeline step, or retrain by hand",
        )
    try:
        with ws.store.connect() as conn:
            record = pipeline_repo.get_pipeline_run(conn, version.run_id)
    except NotFoundError:
        raise NotFoundError(
            f"model version {version.ref} came from run {version.run_id}, which is not a pipeline run; "
            "its pipeline is unknown",
            hint="register versions from a pipeline step, or retrain by hand",
        ) from None
    try:
        pipeline = load_target(record.target)
    except TriopsError as exc:
        raise PipelineError(
            f"the pipeline {record.target!r} of {version.ref} cannot be imported: {exc}"
        ) from None
    params = dict(record.params)
    newest = _newest_passing(ws, version)
    if newest is not None:
        out["dataset"] = f"{newest.name}/{newest.version}"
        if "dataset_version" in params:
            params["dataset_version"] = newest.version
    run = ws.run_pipeline(
        pipeline,
        params,
        project=ws.runs.get(version.run_id).project,
        use_cache=False,  # a retraining trains: a cache hit would hand back the model that breached
        tags={"triggered_by": "monitor.alert", "alert": alert["id"], "retrains": version.ref},
    )
    out |= {"run_id": run.run_id, "run_status": run.status} | _run_cost(ws, run.run_id)
    out["steps"].append(
        _step(ws, f"retraining run {run.run_id} {run.status.lower()}", cost_micros=out["cost_micros"])
    )
    if run.status != "FINISHED":
        out |= {"status": "failed", "error": run.error or f"the retraining run ended {run.status}"}
        return _timed(out, started)
    challenger = _register_output(ws, version, run, newest)
    if challenger is None:
        out |= {"status": "failed", "error": f"the retraining run {run.run_id} produced no model"}
        return _timed(out, started)
    out["new_version"] = challenger.ref
    out["steps"].append(_step(ws, f"registered {challenger.ref}"))
    rows = labelled_rows(ws, version)
    masked = _masked_columns(rows)
    if masked:
        rows, source = reidentified(ws, version, alert, rows)
        if source is not None:
            out["comparison_rows"] = source
    if masked and rows.height == 0:
        why = (
            f"the inputs {', '.join(masked)} are masked in the prediction log (restricted), so the paired "
            "comparison cannot score the logged rows; name the production rows in clear (a dataset with "
            "prediction_id) as the monitor's evaluation dataset"
        )
        out["comparison"] = {"verdict": None, "error": why, "n_rows": 0}
    elif rows.height < MIN_COMPARE_ROWS:
        why = f"{rows.height} labelled production rows; the paired comparison needs {MIN_COMPARE_ROWS}"
        out["comparison"] = {"verdict": None, "error": why, "n_rows": rows.height}
    else:
        try:
            frame = rows.drop("id")
            comparison, _ = compare_versions(ws.models, version.ref, challenger.ref, frame, target=LABEL)
            out["comparison"] = comparison.to_dict()  # verdict, n_rows, McNemar, paired bootstrap per metric
        except (TriopsError, ValueError) as exc:  # e.g. one class only among the labels
            out["comparison"] = {"verdict": None, "error": str(exc)[:300], "n_rows": rows.height}
    verdict = out["comparison"].get("verdict")
    done = verdict or f"not run ({str(out['comparison'].get('error', ''))[:120]})"
    out["steps"].append(_step(ws, f"paired comparison on {rows.height} labelled rows: {done}"))
    try:
        ws.models.set_alias(version.model, "champion", challenger.version)
        out["status"] = "promoted"
        out["steps"].append(_step(ws, f"gate passed; champion → {challenger.ref}"))
    except GateBlockedError as exc:
        out |= {"status": "awaiting_approval", "gate": str(exc)}
        out["steps"].append(_step(ws, f"gate blocked champion → {challenger.ref}"))
        _ask_approval(ws, version, challenger, alert, exc, out)
    return _timed(out, started)


def _step(ws: Workspace, what: str, *, at_ms: int | None = None, who: str | None = None,
          cost_micros: int = 0) -> dict[str, Any]:  # fmt: skip
    when = at_ms if at_ms is not None else utc_ms(ws.clock.now())
    return {"what": what, "at_ms": when, "who": who or ws.principal.name, "cost_micros": cost_micros}


def _ask_approval(
    ws: Workspace,
    version: ModelVersion,
    challenger: ModelVersion,
    alert: dict[str, Any],
    blocked: GateBlockedError,
    out: dict[str, Any],
) -> None:
    """A gate that only waits for approvals gets a request bound to this move; failing rules get none."""
    detail = blocked.detail if isinstance(blocked.detail, dict) else {}
    if not detail.get("approvals_needed") or any(not r.get("passed") for r in detail.get("rules", [])):
        return
    from triops.workspace.projects import model_project

    try:
        request = ws.governance.request_approval(
            project=model_project(ws.store, version.model),
            gate="model.alias.champion",
            subject_id=challenger.ref,
            change={"alias": "champion", "from": version.ref, "to": challenger.ref},
            justification=f"the feedback loop retrained {version.ref} after alert {alert['id']} "
            f"({alert['policy']}); {challenger.ref} is proposed as champion",
        )
    except TriopsError as exc:
        out["approval_error"] = str(exc)
        return
    out["approval_request"] = request.id
    out["steps"].append(_step(ws, f"approval requested ({request.id})"))


def promote_after_approval(ws: Workspace, alert: dict[str, Any]) -> dict[str, Any]:
    """Move ``champion`` to the version the loop retrained for ``alert`` once its gate passes (the approval
    of someone other than the requester is in); the alert's action records the approval and the move.
    Raises ``GateBlockedError`` (the alert stays ``awaiting_approval``) while approvals are missing."""
    from triops.store.repositories import governance as gov_repo
    from triops.store.repositories import monitoring as repo

    action = dict(alert.get("action") or {})
    if action.get("status") != "awaiting_approval" or not action.get("new_version"):
        raise ConflictError(
            f"alert {alert['id']} has no retrained version awaiting approval "
            f"(its action is {action.get('status') or 'none'})",
            hint="see triops alerts list",
        )
    ws.models.set_alias(alert["model"], "champion", action["new_version"])
    steps = list(action.get("steps") or [])
    if action.get("approval_request"):
        with ws.store.connect() as conn:
            decisions = gov_repo.list_decisions(conn, action["approval_request"])
        steps += [
            _step(
                ws,
                f"{_DONE.get(d['verdict'], d['verdict'])}: {d['justification']}",
                at_ms=d["at_ms"],
                who=d["approver"],
            )
            for d in decisions
        ]
    steps.append(_step(ws, f"gate passed; champion → {action['new_version']}"))
    now = utc_ms(ws.clock.now())
    first = min((s["at_ms"] for s in steps), default=now)
    action |= {
        "status": "promoted",
        "promoted_by": ws.principal.name,
        "promoted_ms": now,
        "steps": steps,
        "loop_elapsed_s": round((now - first) / 1000, 3),
    }
    ws.store.write(lambda conn: repo.update_alert(conn, alert["id"], action=action))
    return action


def reidentified(
    ws: Workspace, version: ModelVersion, alert: dict[str, Any], logged: pl.DataFrame
) -> tuple[pl.DataFrame, str | None]:
    """The labelled logged predictions whose inputs the log holds masked, re-identified in the monitor's
    evaluation dataset (its newest version: the production rows in clear, governed as a dataset, with a
    ``prediction_id`` column): the dataset's inputs, the log's late labels. Empty without one."""
    import polars as pl

    from triops.dataops.datasets import version_frame
    from triops.store.repositories import monitoring as repo
    from triops.workspace.projects import model_project

    empty = logged.clear()
    with ws.store.connect() as conn:
        mon = repo.monitor_by_id(conn, alert["monitor_id"]) if alert.get("monitor_id") else None
    name = (mon or {}).get("evaluation_dataset")
    if not name or version.signature is None:
        return empty, None
    found = ws.datasets.get(name, project=model_project(ws.store, version.model) or "default")
    frame = version_frame(ws.artifacts, found)
    names = version.signature.names()
    if frame is None or "prediction_id" not in frame.columns or not set(names) <= set(frame.columns):
        return empty, None
    labels = logged.select(pl.col("id"), pl.col(LABEL))
    joined = frame.select([pl.col("prediction_id").cast(pl.String).alias("id"), *names]).join(
        labels, on="id", how="inner"
    )
    return joined, f"{found.name}/{found.version}"


def _masked_columns(frame: pl.DataFrame) -> list[str]:
    """Input columns the prediction log holds hashed (``[masked:…]``), not in clear."""
    import polars as pl

    return [
        name
        for name, dtype in frame.schema.items()
        if dtype == pl.String
        and name not in ("id", "request_id", LABEL)
        and frame.get_column(name).str.starts_with("[masked:").any()
    ]


def _register_output(ws: Workspace, version: ModelVersion, run: Any, newest: Any) -> ModelVersion | None:
    """Register the model the retraining run produced (its first output with ``predict``) as the next
    version, with the alerting version's signature and the newest passing dataset as its training data."""
    from triops.dataops.datasets import version_frame
    from triops.workspace.services import load_artifact

    for ref in run.outputs.values():
        model = load_artifact(ws.artifacts, ref.sha256, ref.media_type, ws.settings.trusted_model_types)
        if not hasattr(model, "predict"):
            continue
        frame = version_frame(ws.artifacts, newest) if newest is not None else None
        names = version.signature.names() if version.signature else None
        training = (
            frame.select(names) if frame is not None and names and set(names) <= set(frame.columns) else None
        )
        return ws.models.register(
            version.model,
            model,
            training_frame=training,
            signature=version.signature if training is None else None,
            run_id=run.run_id,
            datasets=[newest.id] if newest is not None else list(version.training_datasets),
            description=f"retrained by the feedback loop after an alert on {version.ref}",
            onnx=training is not None,
        )
    return None


def _timed(out: dict[str, Any], started: float) -> dict[str, Any]:
    out["elapsed_s"] = round(time.perf_counter() - started, 3)
    return out
