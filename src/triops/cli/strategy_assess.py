"""``triops assess scenarios|maturity|progress``: the scenario quiz, maturity from evidence, progress over time.

The quiz draws one seeded attempt (``--seed``; printed when not given, so a facilitator can hand it out),
asks each question with its number, takes case-insensitive letters, and shows the best choice and why
right after every answer. ``--sheet`` prints the attempt for paper; ``--answers`` grades a filled-in file
of the same attempt. The maturity command reads the store's evidence (verifying the audit log as part of
it), asks only what the store cannot show, prints the figures behind every level and keeps the result so
``assess progress`` can show change over time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from triops.cli.strategy_assess_render import (
    maturity_table,
    print_feedback,
    print_progress,
    print_question,
    print_quiz_result,
)
from triops.cli.strategy_common import read_json, write_text
from triops.cli.strategy_render import _emit_json, console
from triops.errors import InvalidInputError

if TYPE_CHECKING:
    from triops.strategy.maturity import MaturityResult
    from triops.strategy.scenarios import Question
    from triops.workspace import Workspace

assess_app = typer.Typer(
    help="Assess judgement (scenario quiz) and maturity (store evidence + questionnaire); show progress."
)


def _ask(q: Question) -> str:
    from rich.prompt import Prompt

    while True:
        raw = Prompt.ask(f"Your answer ({'/'.join(q.letters)})", console=console)
        picked = raw.strip().lower()
        if picked in q.letters:
            return picked
        console.print(f"[red]'{raw}' is not one of {', '.join(q.letters)}[/]")


@assess_app.command("scenarios")
def assess_scenarios(
    level: Annotated[str, typer.Option(help="learner level: novice | experienced | manager")] = "experienced",
    seed: Annotated[
        int | None, typer.Option(help="attempt number; the same seed gives the same questions and letters")
    ] = None,
    pillar: Annotated[
        list[str] | None,
        typer.Option(help="only this pillar (repeatable): dataops, mlops, finops, governance, change"),
    ] = None,
    count: Annotated[int | None, typer.Option(help="ask this many, spread over the pillars")] = None,
    answers: Annotated[
        Path | None, typer.Option(help="grade a YAML/JSON file of scenario id: letter (needs --seed)")
    ] = None,
    sheet: Annotated[bool, typer.Option("--sheet", help="print the attempt as a Markdown sheet")] = False,
    key: Annotated[bool, typer.Option("--key", help="print the attempt's answer key (facilitator)")] = False,
    bank: Annotated[
        Path | None, typer.Option(help="a scenario bank YAML instead of the built-in one")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Answer public-sector scenarios; after every answer, the best choice, why, and what to read next."""
    from triops.strategy.scenarios import grade, load_bank, read_answers, start_quiz

    if answers is not None and seed is None:
        raise InvalidInputError(
            "answers are letters of one attempt; pass the --seed that attempt was printed with",
            hint=f"e.g. triops assess scenarios --level {level} --seed 7 --answers {answers}",
        )
    quiz = start_quiz(load_bank(bank), level=level, seed=seed, pillars=pillar, count=count)
    if sheet or key:
        if as_json:
            _emit_json({**quiz.to_dict(), **({"answer_key": quiz.answer_key()} if key else {})})
        elif sheet:
            typer.echo(quiz.sheet(), nl=False)
        if key and not as_json:
            typer.echo("\n".join(f"{sid}: {letter}" for sid, letter in quiz.answer_key().items()))
        return
    if answers is not None:
        result = grade(quiz, read_answers(answers))
        if as_json:
            _emit_json(result.to_dict())
            return
        for fb in result.feedback:
            console.print(f"[bold]{fb.number}. {fb.scenario_id}[/]")
            print_feedback(fb)
        print_quiz_result(result)
        return
    console.print(
        f"Level {quiz.level}, attempt {quiz.seed}: {len(quiz.questions)} questions. "
        f"`--seed {quiz.seed}` gives this attempt again."
    )
    chosen: dict[str, str] = {}
    for q in quiz.questions:
        print_question(q, quiz.level)
        letter = _ask(q)
        print_feedback(quiz.answer(q.scenario_id, letter))
        chosen[q.scenario_id] = letter
    result = grade(quiz, chosen)
    _emit_json(result.to_dict()) if as_json else print_quiz_result(result)


def _evidence(evidence: Path | None, from_store: bool) -> Any:
    from triops.strategy.maturity import StoreEvidence

    if evidence is not None:
        return StoreEvidence.from_dict(read_json(evidence, "evidence file"))
    if not from_store:
        return None
    from triops.cli.context import open_workspace

    with console.status("reading the store's evidence and verifying the audit log"):
        return open_workspace().strategy.evidence()


@assess_app.command("maturity")
def assess_maturity(
    answers: Annotated[Path | None, typer.Option(help="YAML/JSON file of dimension id: level (0-4)")] = None,
    evidence: Annotated[Path | None, typer.Option(help="JSON file of store evidence figures")] = None,
    interactive: Annotated[bool, typer.Option(help="ask what neither the store nor a file answers")] = True,
    out: Annotated[Path | None, typer.Option(help="also write the result JSON here")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    from_store: Annotated[
        bool, typer.Option("--from-store/--no-store", help="read evidence from the workspace store")
    ] = True,
    save: Annotated[bool, typer.Option("--save/--no-save", help="keep the result in the store")] = True,
) -> None:
    """Assess maturity per dimension and pillar from store evidence; claims above it are marked, not merged."""
    from rich.panel import Panel
    from rich.prompt import Prompt

    from triops.strategy.maturity import assess, load_model, read_answer_file

    model = load_model()
    ev = _evidence(evidence, from_store)
    given: dict[str, Any] = read_answer_file(answers) if answers else {}
    if answers is None and interactive:
        for d in model.dimensions:
            if ev is not None and d.ceiling > 0:
                continue
            console.print(
                Panel("\n".join(d.levels), title=f"[{d.pillar}] {d.name}: {d.question}", title_align="left")
            )
            given[d.id] = int(Prompt.ask("Level", choices=["0", "1", "2", "3", "4"], console=console))
    if from_store and evidence is None:
        from triops.cli.context import open_workspace

        result = open_workspace().strategy.assess_maturity(given, from_store=True, save=save, evidence=ev)
    else:
        result = assess(given, ev, model=model)
    if out is not None:
        write_text(out, json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")
    if as_json:
        _emit_json(result.to_dict())
        return
    console.print(maturity_table(result))


def save_assessment(ws: Workspace, result: MaturityResult) -> None:
    """Keep a maturity result in the workspace's store, for `assess progress` and `roadmap`."""
    ws.strategy.save_assessment(result)


def stored_assessments(limit: int = 100) -> list[MaturityResult]:
    """The workspace's stored maturity assessments, oldest first."""
    from triops.cli.context import open_workspace

    return list(open_workspace().strategy.assessments(limit))


def latest_assessment() -> MaturityResult:
    found = stored_assessments(1)
    if not found:
        raise InvalidInputError(
            "no stored maturity assessment to plan from",
            hint="run `triops assess maturity` first, or pass --from FILE",
        )
    return found[-1]


@assess_app.command("progress")
def assess_progress(
    limit: Annotated[int, typer.Option(min=1, help="how many of the latest assessments")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Maturity over time from the assessments stored by `triops assess maturity`, with what changed."""
    from triops.strategy.maturity import progress

    rows = progress(stored_assessments(limit))
    _emit_json(rows) if as_json else print_progress(rows)
