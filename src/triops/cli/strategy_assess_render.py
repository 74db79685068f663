"""How the assessment commands show their results: scenario questions and feedback, quiz results, the
maturity table with the figures behind every level, progress over time, and the end of ``triops demo``.

rich is imported inside the functions so importing this module for ``triops --help`` stays cheap.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from triops.cli.strategy_render import console

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from triops.strategy.demo import DemoSummary
    from triops.strategy.maturity import DimensionResult, MaturityResult
    from triops.strategy.scenarios import Feedback, Question, QuizResult


def print_question(q: Question, level: str) -> None:
    from rich.markup import escape
    from rich.panel import Panel

    from triops.strategy.scenarios import PILLAR_NAMES

    body = (
        escape(q.situation) + "\n\n" + "\n".join(f"[bold]{o.letter}[/]) {escape(o.text)}" for o in q.options)
    )
    title = f"Question {q.number} of {q.total} · {PILLAR_NAMES[q.pillar]} · {escape(q.title)}"
    console.print(Panel(body, title=title, title_align="left", subtitle=f"level {level}"))


def print_feedback(fb: Feedback) -> None:
    if fb.correct:
        console.print(f"[green]✓ {fb.score}/{fb.best_score} — ({fb.letter}) is the best choice.[/]")
        console.print(f"  Why: {fb.why_best}")
    else:
        colour = "yellow" if fb.score else "red"
        console.print(
            f"[{colour}]✗ {fb.score}/{fb.best_score} — your choice ({fb.letter}): {fb.explanation}[/]"
        )
        console.print(f"  [bold]Best choice ({fb.best_letter}):[/] {fb.best_choice}")
        console.print(f"  Why: {fb.why_best}")
    for citation in fb.rests_on:
        console.print(f"  Rests on: {citation}")
    console.print(f"  Read next: {fb.read_next}\n")


def print_quiz_result(result: QuizResult) -> None:
    from rich.table import Table

    from triops.strategy.scenarios import PILLAR_NAMES

    table = Table(title=f"Scenario results, level {result.level} (attempt {result.seed})")
    for col in ("pillar", "answered", "best answers", "score", "read next"):
        table.add_column(col)
    for p in result.pillars:
        table.add_row(
            PILLAR_NAMES[p.pillar],
            str(p.answered),
            str(p.best_answers),
            f"{p.score}/{p.max_score} ({p.percent:.0f}%)",
            "\n".join(p.read_next) or "-",
        )
    console.print(table)
    console.print(
        f"Total: {result.score}/{result.max_score} ({result.percent:.0f}%) on {len(result.feedback)} of "
        f"{result.total} questions; answering at random would score about {result.chance_percent:.0f}%."
    )
    if result.weakest:
        names = " and ".join(PILLAR_NAMES[p] for p in result.weakest)
        console.print(f"[bold]Weakest: {names}[/] — start with its 'read next' pages.")


def _level_cell(d: DimensionResult) -> str:
    text = str(d.level)
    if d.claim_above_evidence:
        text += f" [yellow](claimed {d.self_reported}: not shown by the store)[/]"
    return text


def maturity_table(result: MaturityResult) -> Table:
    """Pillars (weakest required dimension), then each dimension with the figures behind its level."""
    from rich.table import Table

    table = Table(title=f"maturity (overall level {result.overall})", show_lines=True)
    for col in ("pillar / dimension", "level", "basis", "what the store shows", "next level"):
        table.add_column(col, overflow="fold")
    for p in result.pillars:
        claimed = f" [yellow](claimed {p.claimed})[/]" if p.claimed is not None else ""
        table.add_row(
            f"[bold]{p.pillar}[/] (its weakest required dimension)",
            f"[bold]{p.level}[/]{claimed}",
            p.basis,
            "",
            "",
        )
        for d in result.dimensions:
            if d.pillar == p.pillar:
                name = d.name + ("" if d.required else " (optional)")
                table.add_row(
                    f"  {name}", _level_cell(d), d.source, "\n".join(d.figures) or "-", d.next_step or "-"
                )
    return table


def _date(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def progress_table(rows: list[dict[str, Any]]) -> Table:
    from rich.table import Table

    from triops.strategy.maturity import MATURITY_PILLARS

    table = Table(title="maturity over time (stored assessments, oldest first)")
    for col in ("assessed (UTC)", "overall", *MATURITY_PILLARS):
        table.add_column(col, justify="right" if col != "assessed (UTC)" else "left")
    previous: dict[str, Any] | None = None
    for row in rows:
        cells = []
        for key in ("overall", *MATURITY_PILLARS):
            value = row.get(key)
            arrow = ""
            if previous is not None and value is not None and previous.get(key) is not None:
                arrow = " ↑" if value > previous[key] else " ↓" if value < previous[key] else ""
            cells.append("-" if value is None else f"{value}{arrow}")
        table.add_row(_date(row["assessed_at_ms"]), *cells)
        previous = row
    return table


def print_progress(rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print("no stored maturity assessments yet: run `triops assess maturity` to record one")
        return
    console.print(progress_table(rows))
    if len(rows) == 1:
        console.print("one assessment stored; run `triops assess maturity` again later to see change")
        return
    last = rows[-1]["changes"]
    if not last:
        console.print("no dimension changed since the previous assessment")
    for c in last:
        console.print(f"  {c['name']}: {c['from']} → {c['to']}")


def print_demo_summary(summary: DemoSummary, out: Console | None = None, command: str = "triops") -> None:
    """One screen for the end of ``triops demo``: pillar levels with their basis, then the first actions."""
    from rich.table import Table

    out = out or console
    table = Table(title=f"maturity from the demo's own records (overall level {summary.maturity.overall})")
    for col in ("pillar", "level", "weakest required", "basis"):
        table.add_column(col)
    for p in summary.maturity.pillars:
        table.add_row(p.pillar, str(p.level), ", ".join(p.weakest), p.basis)
    out.print(table)
    out.print("[bold]First roadmap actions[/]")
    for a in summary.first_actions:
        out.print(f"  day {a.phase_days - 29}-{a.phase_days}: {a.title} ({a.owner_role})")
        out.print(f"    done when: {a.done.description}")
        out.print(f"    check: {a.done.check}")
    out.print(
        f"With the figures behind each level: {command} assess maturity; the full plan: {command} roadmap"
    )


__all__ = [
    "maturity_table",
    "print_demo_summary",
    "print_feedback",
    "print_progress",
    "print_question",
    "print_quiz_result",
    "progress_table",
]
