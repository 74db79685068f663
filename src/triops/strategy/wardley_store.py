"""The organisation's AI-ops value chain as the store records it, as a Wardley map (``triops wardley from-store``).

A workshop draws the map it believes in; this draws the map the records show, so the two can be compared.
Pure: it reads :class:`StoreInventory` (names of what exists) and :class:`StoreEvidence` (which practices
leave records), both filled by the workspace. What it places, and where:

- the anchor (the public need) and one service per project, custom-built;
- each model, marked ``(build)``: genesis while only in development, custom-built once registered and
  evaluated, further right once in production with a card and an approval;
- each pipeline ``(build)``, and each dataset: further right once a contract standardises it;
- the practices in use, each a product triops provides, marked ``(buy)`` and placed by how standard it is
  (experiment tracking, registry, data contracts, cost metering, budgets, policy gates, audit log);
- the compute the steps ran on, a commodity.

Practices with no records at all are named in a note ("not in the records"), not drawn. Only the most
recent few models, pipelines and datasets are drawn; a note says how many more there are.
"""

from __future__ import annotations

from dataclasses import dataclass

from triops.strategy.maturity_model import StoreEvidence
from triops.strategy.wardley import Component, Link, Note, Statement, Title, WardleyMap, valid_name

SHOWN = 5
EXECUTOR_NAMES = {"inline": "in-process", "local": "local worker processes", "ray": "Ray cluster"}


@dataclass(frozen=True)
class ModelRecord:
    name: str
    project: str | None
    stage: str  # furthest stage any version reached: development, staging, production
    evaluated: bool = False
    carded: bool = False
    approved: bool = False
    pipeline: str | None = None  # the pipeline whose run trained it, when known


@dataclass(frozen=True)
class StoreInventory:
    projects: tuple[str, ...] = ()
    models: tuple[ModelRecord, ...] = ()
    pipelines: tuple[tuple[str, str], ...] = ()  # (pipeline, project)
    datasets: tuple[tuple[str, str, bool], ...] = ()  # (dataset, project, checked against a contract)
    executors: tuple[str, ...] = ()
    as_of: str = ""


def _safe(name: str, kind: str) -> str:
    """A name that OWM can hold; odd characters in store names are replaced, never dropped silently."""
    cleaned = name.replace("->", "-").replace("[", "(").replace("]", ")").replace(";", ",").strip()
    for ch in "{}":
        cleaned = cleaned.replace(ch, "")
    cleaned = cleaned.replace("+>", "+").replace("+<", "+").replace("//", "/")
    return valid_name(f"{cleaned} ({kind})" if kind else cleaned)


def _model_evolution(m: ModelRecord) -> float:
    if m.stage == "production":
        return 0.38 if m.carded and m.approved else 0.32
    return 0.26 if m.evaluated else 0.14


PRACTICES: tuple[tuple[str, str, float, float], ...] = (
    # (figure that shows the practice is used, component name, visibility, evolution)
    ("runs_tracked", "Experiment tracking", 0.52, 0.72),
    ("model_versions", "Model registry", 0.56, 0.62),
    ("dataset_versions", "Dataset versions and lineage", 0.30, 0.60),
    ("pipeline_runs_gated", "Data contracts (ODCS)", 0.38, 0.56),
    ("costs_metered", "Cost metering", 0.22, 0.62),
    ("projects_with_budget", "Budgets with hard stops", 0.26, 0.52),
    ("policies_active", "Policy gates", 0.68, 0.46),
    ("audit_events", "Audit log", 0.62, 0.66),
)
MISSING = {
    "Experiment tracking": "experiment tracking",
    "Model registry": "a model registry",
    "Dataset versions and lineage": "dataset versions",
    "Data contracts (ODCS)": "data contract checks in pipelines",
    "Cost metering": "cost metering",
    "Budgets with hard stops": "budgets",
    "Policy gates": "policy gates",
    "Audit log": "an audit log",
}


def map_from_store(inventory: StoreInventory, evidence: StoreEvidence) -> WardleyMap:
    """The value chain the records show: need → services → models → pipelines → data, practices, compute."""
    out: list[Statement] = [
        Title("AI operations as the records show" + (f" ({inventory.as_of})" if inventory.as_of else ""))
    ]
    need = "Public need"
    out.append(Component(need, 0.96, 0.5, kind="anchor"))
    services = {p: _safe(p, "service") for p in inventory.projects}
    for i, (project, name) in enumerate(services.items()):
        in_prod = any(m.project == project and m.stage == "production" for m in inventory.models)
        out.append(
            Component(name, round(0.86 - 0.02 * (i % 2), 2), 0.42 if in_prod else 0.34, decorators=("build",))
        )
        out.append(Link(need, name))
    models = {m.name: _safe(m.name, "model") for m in inventory.models[:SHOWN]}
    for i, m in enumerate(inventory.models[:SHOWN]):
        out.append(
            Component(
                models[m.name], round(0.72 - 0.03 * (i % 3), 2), _model_evolution(m), decorators=("build",)
            )
        )
        if m.project in services:
            out.append(Link(services[m.project], models[m.name]))
    pipelines = {p: _safe(p, "pipeline") for p, _ in inventory.pipelines[:SHOWN]}
    for i, (p, _project) in enumerate(inventory.pipelines[:SHOWN]):
        out.append(Component(pipelines[p], round(0.46 - 0.03 * (i % 3), 2), 0.44, decorators=("build",)))
    for m in inventory.models[:SHOWN]:
        if m.pipeline in pipelines:
            out.append(Link(models[m.name], pipelines[m.pipeline]))
    for i, (d, project, checked) in enumerate(inventory.datasets[:SHOWN]):
        name = _safe(d, "data")
        out.append(Component(name, round(0.34 - 0.03 * (i % 3), 2), 0.55 if checked else 0.3))
        for p, pp in inventory.pipelines[:SHOWN]:
            if pp == project:
                out.append(Link(pipelines[p], name))
    used = [(n, v, e) for figure, n, v, e in PRACTICES if evidence.count(figure) > 0]
    for name, vis, evo in used:
        out.append(Component(name, vis, evo, decorators=("buy",)))
    present = {n for n, _, _ in used}
    for p in pipelines.values():
        out += [
            Link(p, n)
            for n in ("Data contracts (ODCS)", "Cost metering", "Dataset versions and lineage")
            if n in present
        ]
    for model in models.values():
        out += [Link(model, n) for n in ("Experiment tracking", "Model registry") if n in present]
    for service in services.values():
        out += [Link(service, n) for n in ("Policy gates", "Budgets with hard stops") if n in present]
    if "Policy gates" in present and "Audit log" in present:
        out.append(Link("Policy gates", "Audit log"))
    if inventory.executors:
        compute = "Compute (" + ", ".join(EXECUTOR_NAMES.get(x, x) for x in inventory.executors) + ")"
        out.append(Component(valid_name(compute), 0.08, 0.86, decorators=("buy",)))
        out += [Link(p, compute) for p in pipelines.values()]
    missing = [MISSING[n] for _, n, _, _ in PRACTICES if n not in present]
    if missing:
        out.append(Note("Not in the records: " + ", ".join(missing), 0.16, 0.02))
    left = {
        "models": len(inventory.models),
        "pipelines": len(inventory.pipelines),
        "datasets": len(inventory.datasets),
    }
    more = ", ".join(f"{n - SHOWN} more {kind}" for kind, n in left.items() if n > SHOWN)
    if more:
        out.append(Note(f"Also in the store, not drawn: {more}", 0.12, 0.02))
    return WardleyMap(tuple(out))
