"""The feedback loop: an ``on_breach: retrain`` alert → retraining run → paired comparison → gate → alias.

It crosses every pillar, so it lives here, in the composition layer:

1. the pipeline that produced the alerting version (its run's import target and parameters) runs again as a
   normal run: contract gates, metering, budgets (a retraining that would break a budget stops like any run)
   and the audit all apply. A parameter named ``dataset_version`` is set to the newest *passing* version of
   the training dataset; other parameters are the original run's. The model the run outputs (its first
   output with ``predict``) is registered as the next version, trained on that dataset version;
2. the version the retraining run registered is compared with the alerting version (the champion) on the
   labelled production rows of the prediction log, with the paired test (McNemar and paired bootstrap);
3. the new version is proposed as ``champion``: the alias moves through the registry, so the policy gate
   and its approvals (separation of duties) apply; a blocked gate leaves the alert ``awaiting_approval``;
4. the loop's elapsed time and the retraining run's cost are recorded with the alert.

A version that no pipeline run produced, or whose pipeline cannot be imported, is a clear error kept with the
alert (the alert itself is stored before any of this starts).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from triops.errors import GateBlockedError, NotFoundError, PipelineError, TriopsError

if TYPE_CHECKING:
    import polars as pl

    from triops.mlops.registry.records import ModelVersion
    from triops.workspace.local import Workspace

LABEL = "__label__"
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
    if run.status != "FINISHED":
        out |= {"status": "failed", "error": run.error or f"the retraining run ended {run.status}"}
        return _timed(out, started)
    challenger = _register_output(ws, version, run, newest)
    if challenger is None:
        out |= {"status": "failed", "error": f"the retraining run {run.run_id} produced no model"}
        return _timed(out, started)
    out["new_version"] = challenger.ref
    rows = labelled_rows(ws, version)
    if rows.height < MIN_COMPARE_ROWS:
        why = f"{rows.height} labelled production rows; the paired comparison needs {MIN_COMPARE_ROWS}"
        out["comparison"] = {"verdict": None, "error": why, "n_rows": rows.height}
    else:
        try:
            frame = rows.drop("id")
            comparison, _ = compare_versions(ws.models, version.ref, challenger.ref, frame, target=LABEL)
            out["comparison"] = {"verdict": comparison.verdict, "n_rows": rows.height}
        except (TriopsError, ValueError) as exc:  # e.g. one class only among the labels
            out["comparison"] = {"verdict": None, "error": str(exc)[:300], "n_rows": rows.height}
    try:
        ws.models.set_alias(version.model, "champion", challenger.version)
        out["status"] = "promoted"
    except GateBlockedError as exc:
        out |= {"status": "awaiting_approval", "gate": str(exc)}
    return _timed(out, started)


def _register_output(ws: Workspace, version: ModelVersion, run: Any, newest: Any) -> ModelVersion | None:
    """Register the model the retraining run produced (its first output with ``predict``) as the next
    version, with the alerting version's signature and the newest passing dataset as its training data."""
    from triops.dataops.datasets import version_frame
    from triops.workspace.services import load_artifact

    for ref in run.outputs.values():
        model = load_artifact(ws.artifacts, ref.sha256, ref.media_type)
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
