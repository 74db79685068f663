"""Reading what the store can show about practice, for the maturity assessment and the store's Wardley map.

Every figure of :class:`~triops.strategy.maturity.StoreEvidence` is a count of real records: dataset
versions and their quality scores, pipelines and the runs whose data a contract gate checked (a run tag
``triops.gate.<step>``), priced runs, tracked runs with parameters and metrics, model versions and what
they link to (run, training data, code version, evaluations, fairness slices, cards, stage, approvals,
policy gates), budgets per project, FOCUS bill imports, policies, audit events and the inventory; pipeline
runs that reused a cached step or that a monitoring alert triggered, monitor runs their schedule started
(audited ``monitor.run``), and model versions whose logged predictions have a metered serving cost.
:func:`gather_evidence` also verifies the audit chain, so "audit trail" rests on a check, not a count.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from triops.store.engine import Store
from triops.store.schema import metadata
from triops.strategy.maturity import StoreEvidence

if TYPE_CHECKING:
    from triops.strategy.wardley_store import StoreInventory
    from triops.workspace import Workspace


def table_of(name: str) -> sa.Table | None:
    return metadata.tables.get(name)


def _batch_rows(conn: Connection) -> int:
    """Predictions logged as rows of batch records (``prediction_batches``)."""
    table = table_of("prediction_batches")
    if table is None:
        return 0
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.sum(table.c.rows), 0))).scalar_one())


def _count(conn: Connection, table_name: str, *where: Any) -> int:
    table = table_of(table_name)
    if table is None:
        return 0
    query = sa.select(sa.func.count()).select_from(table)
    for clause in where:
        query = query.where(clause(table))
    return int(conn.execute(query).scalar_one())


def json_value(raw: Any) -> Any:
    """A JSON column's value (some drivers return the text)."""
    return json.loads(raw) if isinstance(raw, str) else raw


def _listed(raw: Any) -> bool:
    """A JSON list column that names at least one thing."""
    value = json_value(raw)
    return isinstance(value, list) and len(value) > 0


def has_fairness(raw: Any) -> bool:
    value = json_value(raw)
    return isinstance(value, dict) and bool(value.get("fairness"))


@dataclass(frozen=True)
class _Version:
    id: str
    stage: str
    run: bool
    trained_on: bool
    commit: bool


def _versions(conn: Connection) -> list[_Version]:
    mv = table_of("model_versions")
    if mv is None:
        return []
    rows = conn.execute(sa.select(mv.c.id, mv.c.stage, mv.c.run_id, mv.c.training_datasets, mv.c.git_commit))
    return [
        _Version(
            row.id, row.stage, row.run_id is not None, _listed(row.training_datasets), bool(row.git_commit)
        )
        for row in rows
    ]


def version_facts(conn: Connection) -> dict[str, set[str]]:
    """Model version ids that were evaluated, evaluated by group, carded, carded from records, approved
    and passed a policy gate (approvals and gates name a version ``model/number``)."""
    facts: dict[str, set[str]] = defaultdict(set)
    ev = table_of("evaluations")
    if ev is not None:
        rows = conn.execute(sa.select(ev.c.model_version_id, ev.c.result).where(ev.c.kind == "evaluation"))
        for version_id, result in rows:
            facts["evaluated"].add(version_id)
            if has_fairness(result):
                facts["sliced"].add(version_id)
    cards = table_of("model_cards")
    if cards is not None:
        for version_id, content in conn.execute(sa.select(cards.c.model_version_id, cards.c.content)):
            facts["carded"].add(version_id)
            if content is not None:
                facts["generated"].add(version_id)
    mv, models = table_of("model_versions"), table_of("models")
    if mv is None or models is None:
        return facts
    ref_to_id = {
        f"{name}/{number}": vid
        for vid, name, number in conn.execute(
            sa.select(mv.c.id, models.c.name, mv.c.version).join(models, models.c.id == mv.c.model_id)
        )
    }
    requests, gates = table_of("approval_requests"), table_of("gate_evaluations")
    if requests is not None:
        approved = conn.execute(
            sa.select(requests.c.subject_id).where(
                requests.c.subject_type == "model_version", requests.c.status == "approved"
            )
        ).scalars()
        facts["approved"] = {ref_to_id[r] for r in approved if r in ref_to_id}
    if gates is not None:
        passed = conn.execute(
            sa.select(gates.c.subject_id).where(gates.c.subject_type == "model_version", gates.c.passed)
        ).scalars()
        facts["gated"] = {ref_to_id[r] for r in passed if r in ref_to_id}
    return facts


def _models(conn: Connection) -> dict[str, int]:
    versions = _versions(conn)
    facts = version_facts(conn)
    production = [v for v in versions if v.stage == "production"]
    return {
        "model_versions": len(versions),
        "model_versions_with_run": sum(v.run for v in versions),
        "model_versions_with_training_data": sum(v.trained_on for v in versions),
        "model_versions_reproducible": sum(v.run and v.trained_on and v.commit for v in versions),
        "model_versions_evaluated": sum(v.id in facts["evaluated"] for v in versions),
        "model_versions_sliced": sum(v.id in facts["sliced"] for v in versions),
        "model_versions_promoted": sum(v.stage in ("staging", "production") for v in versions),
        "model_versions_generated_card": sum(v.id in facts["generated"] for v in versions),
        "model_cards": len(facts["carded"]),
        "production_versions": len(production),
        **{
            f"production_versions_{name}": sum(v.id in facts[fact] for v in production)
            for name, fact in (
                ("with_card", "carded"),
                ("approved", "approved"),
                ("gated", "gated"),
                ("sliced", "sliced"),
            )
        },
    }


def _gated_runs(conn: Connection) -> set[str]:
    """Runs whose data a contract gate checked (a run tag ``triops.gate.<step>``)."""
    tags = metadata.tables["tags"]
    return set(
        conn.execute(sa.select(tags.c.run_id).where(tags.c.key.like("triops.gate.%")).distinct()).scalars()
    )


def _pipelines(conn: Connection, gated: set[str]) -> dict[str, int]:
    runs, pr, steps = metadata.tables["runs"], table_of("pipeline_runs"), table_of("step_runs")
    pipeline_runs = list(conn.execute(sa.select(runs.c.id).where(runs.c.kind == "pipeline")).scalars())
    by_pipeline: dict[str, list[str]] = defaultdict(list)
    if pr is not None:
        for run_id, name in conn.execute(sa.select(pr.c.run_id, pr.c.pipeline)):
            by_pipeline[name].append(run_id)
    costs = table_of("finops_costs")
    costed: set[str] = set()
    if costs is not None:
        costed = set(conn.execute(sa.select(costs.c.run_id).distinct()).scalars())
    cached = 0
    if steps is not None:
        has_cached = sa.select(sa.func.count(sa.distinct(steps.c.run_id))).where(
            steps.c.cached_from.is_not(None)
        )
        cached = int(conn.execute(has_cached).scalar_one())
    return {
        "pipelines": len(by_pipeline),
        "pipelines_always_gated": sum(all(r in gated for r in ids) for ids in by_pipeline.values()),
        "pipeline_runs": len(pipeline_runs),
        "pipeline_runs_gated": sum(r in gated for r in pipeline_runs),
        "pipeline_runs_costed": sum(r in costed for r in pipeline_runs),
        "pipeline_runs_cached": cached,
    }


def _tracked(conn: Connection) -> dict[str, int]:
    runs, params, metrics = (metadata.tables[n] for n in ("runs", "params", "latest_metrics"))
    finished = sa.select(runs.c.id).where(runs.c.kind == "tracked", runs.c.status == "FINISHED")
    ids = set(conn.execute(finished).scalars())
    with_params = set(conn.execute(sa.select(params.c.run_id).distinct()).scalars())
    with_metrics = set(conn.execute(sa.select(metrics.c.run_id).distinct()).scalars())
    return {"runs_tracked": len(ids), "runs_tracked_logged": len(ids & with_params & with_metrics)}


def _budgets(conn: Connection) -> dict[str, int]:
    projects = set(conn.execute(sa.select(metadata.tables["projects"].c.name)).scalars())
    budgets = table_of("finops_budgets")
    budgeted: set[str] = set()
    if budgets is not None:
        budgeted = set(conn.execute(sa.select(budgets.c.name).where(budgets.c.scope == "project")).scalars())
    return {"projects": len(projects), "projects_with_budget": len(projects & budgeted)}


def _monitoring(conn: Connection, gated: set[str]) -> dict[str, int]:
    """Prediction log, monitors and their scheduled runs, labelled windows, alerts, and the feedback loop's
    retrainings (pipeline runs an alert triggered: tag ``triggered_by``)."""
    tags, runs = metadata.tables["tags"], metadata.tables["runs"]
    triggered = dict(
        conn.execute(
            sa.select(runs.c.id, runs.c.status)
            .join(tags, tags.c.run_id == runs.c.id)
            .where(tags.c.key == "triggered_by", tags.c.value == "monitor.alert", runs.c.kind == "pipeline")
        ).all()
    )
    finished = {run_id for run_id, status in triggered.items() if status == "FINISHED"}
    alerts = table_of("monitor_alerts")
    promoted = 0
    if alerts is not None:
        actions = conn.execute(sa.select(alerts.c.action).where(alerts.c.action.is_not(None))).scalars()
        promoted = sum(1 for a in actions if (json_value(a) or {}).get("status") == "promoted")
    return {
        "predictions_logged": _count(conn, "predictions") + _batch_rows(conn),
        "monitors": _count(conn, "monitors"),
        "monitors_with_alert_policies": _count(conn, "monitors", lambda t: t.c.policies.is_not(None)),
        "monitor_runs_scheduled": _scheduled_monitor_runs(conn),
        "monitor_windows": _count(conn, "monitor_windows"),
        "monitor_windows_labelled": _count(conn, "monitor_windows", lambda t: t.c.labelled > 0),
        "monitor_alerts": _count(conn, "monitor_alerts"),
        "pipeline_runs_triggered": len(triggered),
        "retrain_runs_gated": len(finished & gated),
        "feedback_promotions": promoted,
    }


def _scheduled_monitor_runs(conn: Connection) -> int:
    """Monitor runs their schedule (``every``) started and that completed: ``monitor.run`` audit records
    whose outcome says ``"status":"ok"`` and the trigger ``schedule`` (the server's scheduler) or ``due``
    (``triops monitor run --due`` from cron); the records are canonical JSON, so the text is exact."""
    events = metadata.tables["audit_events"]
    after = events.c.after_json
    query = sa.select(sa.func.count()).where(
        events.c.action == "monitor.run",
        sa.or_(after.like('%"trigger":"schedule"%'), after.like('%"trigger":"due"%')),
        after.like('%"status":"ok"%'),
    )
    return int(conn.execute(query).scalar_one())


def _unit_costs(conn: Connection) -> dict[str, int]:
    """Model versions that logged predictions, and those whose metered serving cost divides by them (cost
    per 1,000 predictions in one currency, as the gate's ``cost_per_1k_predictions``: no rate is assumed; a
    cost that rounds to zero is still a priced cost), as ``model/version`` references."""
    from triops.mlops.serving.metering import SERVING_PIPELINE

    served: set[str] = set()
    logs = [table_of(n) for n in ("predictions", "prediction_batches")]
    selects = [sa.select(t.c.model, t.c.version) for t in logs if t is not None]
    if selects:
        rows = conn.execute(sa.union(*selects) if len(selects) > 1 else selects[0])
        served = {f"{model}/{version}" for model, version in rows}
    costs = table_of("finops_costs")
    costed: set[str] = set()
    if costs is not None:
        c = costs.c
        costed = set(
            conn.execute(
                sa.select(c.model_version)
                .where(c.pipeline == SERVING_PIPELINE, c.model_version.is_not(None))
                .group_by(c.model_version)
                .having(
                    sa.func.count(sa.distinct(c.currency)) == 1,
                    sa.func.sum(sa.func.coalesce(c.predictions, 0)) > 0,
                )
            ).scalars()
        )
    return {"serving_versions": len(served), "serving_versions_costed": len(served & costed)}


def collect_evidence(store: Store, audit_verified: bool | None = None) -> StoreEvidence:
    """Every figure the maturity model reads, counted from the store; ``audit_verified`` as checked."""
    with store.connect() as conn:
        gated = _gated_runs(conn)
        figures: dict[str, Any] = {
            "dataset_versions": _count(conn, "dataset_versions"),
            "dataset_versions_scored": _count(conn, "dataset_versions", lambda t: t.c.score.is_not(None)),
            "costs_metered": _count(conn, "finops_costs"),
            "focus_imports": _count(conn, "finops_focus_imports"),
            "approval_requests": _count(conn, "approval_requests"),
            "policies_active": _count(conn, "policies", lambda t: t.c.active.is_(True)),
            "audit_events": _count(conn, "audit_events"),
            "use_cases": _count(conn, "use_cases"),
            "model_aliases": _count(conn, "model_aliases"),
            **_pipelines(conn, gated),
            **_tracked(conn),
            **_models(conn),
            **_budgets(conn),
            **_monitoring(conn, gated),
            **_unit_costs(conn),
        }
    return StoreEvidence(**figures, audit_verified=audit_verified)


def verify_audit(ws: Workspace) -> bool:
    """Whether the workspace's audit chain verifies (with its checkpoint key when one exists)."""
    from pathlib import Path

    from triops.governance.audit import AuditKey, default_key_path, verify

    path = default_key_path(Path(ws.settings.home), ws.settings.audit_key_path)
    public = path.with_name(path.name + ".pub")
    key = AuditKey.load(path) if path.exists() else AuditKey.load(public) if public.exists() else None
    return verify(ws.store, key).ok


def gather_evidence(ws: Workspace) -> StoreEvidence:
    """The workspace's evidence, with the audit chain verified as part of it (an empty log is not checked)."""
    with ws.store.connect() as conn:
        events = _count(conn, "audit_events")
    return collect_evidence(ws.store, audit_verified=verify_audit(ws) if events else None)


def collect_inventory(store: Store, as_of: str = "") -> StoreInventory:
    """What exists in the store, newest first, for the Wardley map of the records."""
    from triops.strategy.wardley_store import ModelRecord, StoreInventory

    order = {"development": 0, "staging": 1, "production": 2}
    with store.connect() as conn:
        projects = metadata.tables["projects"]
        names = {pid: name for pid, name in conn.execute(sa.select(projects.c.id, projects.c.name))}
        runs, pr = metadata.tables["runs"], table_of("pipeline_runs")
        pipeline_of: dict[str, str] = {}
        pipelines: dict[str, str] = {}
        if pr is not None:
            rows = conn.execute(
                sa.select(pr.c.run_id, pr.c.pipeline, runs.c.project_id)
                .join(runs, runs.c.id == pr.c.run_id)
                .order_by(pr.c.created_ms.desc())
            )
            for run_id, pipeline, project_id in rows:
                pipeline_of[run_id] = pipeline
                pipelines.setdefault(pipeline, names.get(project_id, ""))
        models: dict[str, ModelRecord] = {}
        mv, mt = table_of("model_versions"), table_of("models")
        if mv is not None and mt is not None:
            facts = version_facts(conn)
            versions = conn.execute(
                sa.select(mt.c.name, mt.c.project_id, mv.c.id, mv.c.stage, mv.c.run_id, runs.c.project_id)
                .join(mt, mt.c.id == mv.c.model_id)
                .outerjoin(runs, runs.c.id == mv.c.run_id)
                .order_by(mv.c.created_ms.desc())
            )
            for name, model_project, version_id, stage, run_id, run_project in versions:
                project_id = model_project or run_project
                seen = models.get(name)
                furthest = (
                    stage if seen is None or order.get(stage, 0) > order.get(seen.stage, 0) else seen.stage
                )
                models[name] = ModelRecord(
                    name,
                    names.get(project_id),
                    furthest,
                    (seen.evaluated if seen else False) or version_id in facts["evaluated"],
                    (seen.carded if seen else False) or version_id in facts["carded"],
                    (seen.approved if seen else False) or version_id in facts["approved"],
                    (seen.pipeline if seen else None) or pipeline_of.get(run_id or ""),
                )
        datasets: dict[str, tuple[str, str, bool]] = {}
        dv = table_of("dataset_versions")
        if dv is not None:
            for name, project_id, contract in conn.execute(
                sa.select(dv.c.name, dv.c.project_id, dv.c.contract_id).order_by(dv.c.created_ms.desc())
            ):
                old = datasets.get(name)
                datasets[name] = (name, names.get(project_id, ""), bool(contract) or bool(old and old[2]))
        steps = table_of("step_runs")
        executors: tuple[str, ...] = ()
        if steps is not None:
            executors = tuple(sorted(conn.execute(sa.select(steps.c.executor).distinct()).scalars()))
    return StoreInventory(
        tuple(names.values()),
        tuple(models.values()),
        tuple(pipelines.items()),
        tuple(datasets.values()),
        executors,
        as_of,
    )
