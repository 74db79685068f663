"""Evidence from DataOps, MLOps and FinOps for the compliance report, each record with the API route and the
CLI command that show it.

The governance pillar reads its own tables (``triops.governance.compliance``) and never imports another
pillar, so the workspace gathers the rest here and passes it in: dataset versions, their contract checks
and quality results, contract gates of pipeline runs and lineage (DataOps); tracked runs, model versions,
evaluations, fairness reports, model cards, monitors, their windows and alerts, and the prediction log
(MLOps); priced costs, metered usage and budgets (FinOps). Which model versions were evaluated, sliced by
group or carded comes from ``triops.workspace.evidence`` (the maturity assessment reads the same facts).
Each kind lists its five most recent records.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from triops.governance.compliance import quote_arg
from triops.governance.frameworks import API_PREFIX, Evidence
from triops.store.engine import Store
from triops.store.schema import metadata
from triops.workspace.evidence import table_of, version_facts

LIMIT = 5
Found = dict[str, list[Evidence]]


def _api(path: str, **params: Any) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return API_PREFIX + path + (f"?{query}" if query else "")


def _seg(value: Any) -> str:
    return quote(str(value), safe="")


def _projects(conn: Connection) -> dict[str, str]:
    t = metadata.tables["projects"]
    return {str(i): str(n) for i, n in conn.execute(sa.select(t.c.id, t.c.name))}


# --------------------------------------------------------------------------------------------- DataOps


def _dataset(kind: str, name: str, version: int, project: str, label: str, suffix: str = "") -> Evidence:
    link = _api(f"/datasets/{_seg(name)}/versions/{version}{suffix}", project=project)
    command = f"triops datasets show {quote_arg(name)} -v {version} -p {quote_arg(project)}"
    return Evidence(kind, label, link, command)


def dataops(conn: Connection, projects: dict[str, str]) -> Found:
    found: Found = {}
    dv = table_of("dataset_versions")
    if dv is not None:
        cols = (dv.c.name, dv.c.version, dv.c.project_id, dv.c.contract_id, dv.c.contract_version)
        newest = dv.c.created_ms.desc()

        def rows(*where: Any) -> list[Any]:
            return list(conn.execute(sa.select(*cols, dv.c.score, dv.c.passed).where(*where).order_by(newest)
                                     .limit(LIMIT)))  # fmt: skip

        for name, version, pid, *_ in rows():
            found.setdefault("dataset_version", []).append(
                _dataset("dataset_version", name, version, projects.get(pid, ""), f"{name} v{version}")
            )
        for name, version, pid, contract, cversion, _, passed in rows(dv.c.contract_id.is_not(None)):
            label = (
                f"{name} v{version}: contract {contract} {cversion or ''} {'passed' if passed else 'failed'}"
            )
            found.setdefault("data_contract", []).append(
                _dataset("data_contract", name, version, projects.get(pid, ""), " ".join(label.split()))
            )
        for name, version, pid, _, _, score, _ in rows(dv.c.score.is_not(None)):
            label = f"{name} v{version}: quality score {score:.1f}"
            found.setdefault("data_quality", []).append(
                _dataset("data_quality", name, version, projects.get(pid, ""), label)
            )
    tags = metadata.tables["tags"]
    gates = conn.execute(
        sa.select(tags.c.run_id, tags.c.key, tags.c.value)
        .where(tags.c.key.like("triops.gate.%"))
        .order_by(tags.c.run_id.desc())
        .limit(LIMIT)
    )
    for run_id, key, value in gates:
        label = f"run {run_id}: contract gate at step {key.removeprefix('triops.gate.')} {value}"
        found.setdefault("data_quality", []).append(
            Evidence("data_quality", label, _api(f"/runs/{run_id}"), f"triops runs show {run_id}")
        )
    edges, steps = table_of("lineage_edges"), table_of("step_runs")
    if edges is not None and steps is not None:
        runs = conn.execute(
            sa.select(steps.c.run_id, sa.func.count())
            .join(edges, edges.c.step_run_id == steps.c.id)
            .group_by(steps.c.run_id)
            .order_by(sa.func.max(steps.c.started_ms).desc())
            .limit(LIMIT)
        )
        for run_id, count in runs:
            label = f"pipeline run {run_id}: {count} inputs and outputs by content hash"
            found.setdefault("lineage", []).append(
                Evidence("lineage", label, _api(f"/lineage/{run_id}"), f"triops lineage {run_id}")
            )
    return found


# ----------------------------------------------------------------------------------------------- MLOps


def _version_evidence(kind: str, model: str, version: int, label: str, suffix: str = "") -> Evidence:
    link = _api(f"/models/{_seg(model)}/versions/{version}{suffix}")
    return Evidence(kind, label, link, f"triops models show {quote_arg(f'{model}/{version}')}")


def mlops(conn: Connection) -> Found:
    found: Found = {}
    runs = metadata.tables["runs"]
    finished = conn.execute(
        sa.select(runs.c.id, runs.c.name, runs.c.kind)
        .where(runs.c.status == "FINISHED")
        .order_by(runs.c.start_ms.desc())
        .limit(LIMIT)
    )
    for run_id, name, kind in finished:
        label = f"{kind} run {name} ({run_id})"
        found.setdefault("run_tracking", []).append(
            Evidence("run_tracking", label, _api(f"/runs/{run_id}"), f"triops runs show {run_id}")
        )
    mv, models = table_of("model_versions"), table_of("models")
    if mv is None or models is None:
        return found
    versions = list(
        conn.execute(
            sa.select(mv.c.id, models.c.name, mv.c.version, mv.c.stage)
            .join(models, models.c.id == mv.c.model_id)
            .order_by(mv.c.created_ms.desc())
        )
    )
    facts = version_facts(conn)
    shown = (  # kind, the fact a version must have (none: every version), label, route below the version
        ("model_version", "", "{m}/{v} ({stage})", ""),
        ("evaluation", "evaluated", "{m}/{v}: evaluation with confidence intervals", "/evaluations"),
        ("fairness", "sliced", "{m}/{v}: fairness across groups", "/evaluations"),
        ("model_card", "carded", "{m}/{v}: model card", "/card"),
    )
    for kind, fact, label, suffix in shown:
        picked = [r for r in versions if not fact or r.id in facts[fact]][:LIMIT]
        for row in picked:
            text = label.format(m=row.name, v=row.version, stage=row.stage)
            found.setdefault(kind, []).append(_version_evidence(kind, row.name, row.version, text, suffix))
    found.update(_monitoring(conn))
    return found


def _monitor_ref(model: str, version: int, suffix: str = "") -> str:
    return _api(f"/monitoring/{_seg(model)}@v{version}{suffix}")


def _monitoring(conn: Connection) -> Found:
    found: Found = {}
    monitors, windows, alerts = table_of("monitors"), table_of("monitor_windows"), table_of("monitor_alerts")
    if monitors is None or windows is None or alerts is None:
        return found
    m = monitors
    for model, version, window in conn.execute(
        sa.select(m.c.model, m.c.version, m.c.window).order_by(m.c.created_ms.desc()).limit(LIMIT)
    ):
        command = f"triops monitor show {quote_arg(f'{model}/{version}')}"
        label = f"monitor of {model}/{version} (windows of {window})"
        found.setdefault("monitoring", []).append(
            Evidence("monitoring", label, _monitor_ref(model, version), command)
        )
    w = windows
    for model, version, seq, rows, labelled in conn.execute(
        sa.select(m.c.model, m.c.version, w.c.seq, w.c.rows, w.c.labelled)
        .join(m, m.c.id == w.c.monitor_id)
        .order_by(w.c.evaluated_ms.desc())
        .limit(LIMIT)
    ):
        label = f"{model}/{version} window {seq}: {rows} predictions, {labelled} labelled"
        command = f"triops monitor show {quote_arg(f'{model}/{version}')} --window {seq}"
        found.setdefault("monitor_window", []).append(
            Evidence("monitor_window", label, _monitor_ref(model, version, f"/windows/{seq}"), command)
        )
    a = alerts
    for model, version, policy, severity in conn.execute(
        sa.select(a.c.model, a.c.version, a.c.policy, a.c.severity)
        .order_by(a.c.created_ms.desc())
        .limit(LIMIT)
    ):
        label = f"{severity} alert on {model}/{version}: {policy}"
        link = _api("/monitoring/alerts", model=model)
        found.setdefault("alert", []).append(
            Evidence("alert", label, link, f"triops alerts list --model {quote_arg(model)}")
        )
    found.update(_predictions(conn))
    return found


def _predictions(conn: Connection, scan: int = 50) -> Found:
    """Model versions with logged predictions: the newest versions first, each looked up on the log's index
    (never a scan of a log that may hold millions of rows)."""
    predictions, mv, models = table_of("predictions"), table_of("model_versions"), table_of("models")
    if predictions is None or mv is None or models is None:
        return {}
    p, batches = predictions, table_of("prediction_batches")
    recent = conn.execute(
        sa.select(models.c.name, mv.c.version)
        .join(models, models.c.id == mv.c.model_id)
        .order_by(mv.c.created_ms.desc())
        .limit(scan)
    )
    found: list[Evidence] = []
    for model, version in recent:
        last = conn.execute(
            sa.select(sa.func.max(p.c.time_ms)).where(p.c.model == model, p.c.version == version)
        ).scalar()
        if last is None and batches is not None:  # served only in batches (one record per request)
            last = conn.execute(
                sa.select(sa.func.max(batches.c.time_ms)).where(
                    batches.c.model == model, batches.c.version == version
                )
            ).scalar()
        if last is None:
            continue
        link = _api(f"/models/{_seg(model)}/predictions", version=version)
        found.append(Evidence("prediction_log", f"{model}/{version}: predictions logged", link))
        if len(found) == LIMIT:
            break
    return {"prediction_log": found} if found else {}


# ---------------------------------------------------------------------------------------------- FinOps


def finops(conn: Connection) -> Found:
    found: Found = {}
    costs, usage, budgets = table_of("finops_costs"), table_of("finops_usage"), table_of("finops_budgets")
    if costs is not None:
        c = costs
        for project, currency, records, micros in conn.execute(
            sa.select(c.c.project, c.c.currency, sa.func.count(), sa.func.sum(c.c.cost_micros))
            .group_by(c.c.project, c.c.currency)
            .order_by(sa.func.max(c.c.started_ms).desc())
            .limit(LIMIT)
        ):
            label = f"{project}: {records} priced cost records, {int(micros or 0) / 1e6:.4f} {currency}"
            link = _api("/finops/costs/records", project=project)
            found.setdefault("cost", []).append(
                Evidence("cost", label, link, "triops cost report --by project")
            )
    if usage is not None:
        u = usage
        for project, records, cpu_s, gpu_s in conn.execute(
            sa.select(u.c.project, sa.func.count(), sa.func.sum(u.c.cpu_s), sa.func.sum(u.c.gpu_s))
            .group_by(u.c.project)
            .order_by(sa.func.max(u.c.started_ms).desc())
            .limit(LIMIT)
        ):
            label = f"{project}: {records} metered step runs, {float(cpu_s or 0):.1f} CPU s, {float(gpu_s or 0):.1f} GPU s"
            link = _api("/finops/costs/records", project=project)
            found.setdefault("usage", []).append(
                Evidence("usage", label, link, "triops cost report --by resource")
            )
    if budgets is not None:
        b = budgets
        for scope, name, period in conn.execute(
            sa.select(b.c.scope, b.c.name, b.c.period).order_by(b.c.scope, b.c.name).limit(LIMIT)
        ):
            label = f"{scope} {name}: {period}ly budget"
            found.setdefault("budget", []).append(
                Evidence("budget", label, _api("/finops/budgets"), "triops budget list")
            )
    return found


def pillar_evidence(store: Store) -> Found:
    """DataOps, MLOps and FinOps evidence for the compliance report, by kind."""
    with store.connect() as conn:
        projects = _projects(conn)
        return {**dataops(conn, projects), **mlops(conn), **finops(conn)}


__all__ = ["dataops", "finops", "mlops", "pillar_evidence"]
