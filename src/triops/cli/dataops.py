"""``triops contract init|check|diff``: draft an ODCS contract from data, check data against a contract
(exit code 1 on an error-severity failure), and classify the changes between two contracts.
``triops openlineage validate EVENTS`` checks a JSON Lines file of RunEvents against the OpenLineage spec.

``render_dataset_diff`` prints a ``DatasetDiff`` for ``triops datasets diff NAME V1 V2``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from triops.cli.context import console, open_workspace, print_json
from triops.cli.text import safe

if TYPE_CHECKING:
    from triops.dataops.dataset_diff import DatasetDiff
    from triops.dataops.demo import DataOpsDemo
    from triops.dataops.report import CheckReport

app = typer.Typer(
    no_args_is_help=True, help="Data contracts (ODCS v3.0.x, v3.1.x, v3.2.x): draft, check, diff."
)
openlineage_app = typer.Typer(no_args_is_help=True, help="OpenLineage events: validate against the spec.")


@openlineage_app.callback()
def _openlineage() -> None:
    """Keeps ``openlineage`` a group with one command (Typer folds single-command apps)."""


_SQL_HELP = "with a database URL: the table to read"
_QUERY_HELP = "with a database URL: the SQL query to read"


@app.command(
    "init",
    help="Draft an ODCS v3.1.0 contract from a profile of DATA (a file or a database URL), for the next "
    "batch: widened ranges, clean value sets, keys, sentinels and classifications, each with its reason.",
)
def init(
    data: str,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="write the YAML here (default: print it)")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="dataset name (default: the file name)")] = None,
    table: Annotated[str | None, typer.Option("--table", help=_SQL_HELP)] = None,
    query: Annotated[str | None, typer.Option("--query", help=_QUERY_HELP)] = None,
) -> None:
    from triops.dataops.drafting import draft_contract
    from triops.dataops.sources import open_source

    source = open_source(data, name=name, table=table, query=query)
    draft = draft_contract(source, name=name)
    if out is None:
        typer.echo(draft.yaml(), nl=False)
        return
    out.write_text(draft.yaml(), encoding="utf-8")
    obj = (draft.contract.schema_ or [])[0]
    console().print(
        f"wrote a draft contract for {len(obj.properties or [])} columns to {out}; review it before use",
        highlight=False,
    )
    for note in draft.inferences:
        console().print(f"  {note}", highlight=False)


_SHOW_RESTRICTED = (
    "show restricted and personal cells in clear (needs the dataset.read_restricted permission; audited)"
)
_SKIP_HELP = "check what triops can and list the rest as not checked (default: stop, naming the field)"


@app.command("check", help="Check DATA against CONTRACT; exit code 1 when an error-severity rule fails.")
def check_cmd(
    contract: Path,
    data: str,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    schema: Annotated[
        str | None, typer.Option("--schema", help="schema object of the contract to use")
    ] = None,
    table: Annotated[str | None, typer.Option("--table", help=_SQL_HELP)] = None,
    query: Annotated[str | None, typer.Option("--query", help=_QUERY_HELP)] = None,
    samples: Annotated[bool, typer.Option("--samples/--no-samples", help="show sample failing rows")] = True,
    show_restricted: Annotated[bool, typer.Option("--show-restricted", help=_SHOW_RESTRICTED)] = False,
    skip_unsupported: Annotated[bool, typer.Option("--skip-unsupported", help=_SKIP_HELP)] = False,
    project: Annotated[
        str, typer.Option("--project", "-p", help="project (for --show-restricted)")
    ] = "default",
    delivered_at: Annotated[
        str | None,
        typer.Option(
            "--delivered-at", help="when the data was delivered (ISO 8601), for an object-level SLA"
        ),
    ] = None,
) -> None:
    from triops.dataops.contracts import load_contract, schema_object
    from triops.dataops.quality import quality_score
    from triops.dataops.sources import open_source

    loaded = load_contract(contract)
    source = open_source(data, table=table, query=query)
    options: dict[str, Any] = {"schema": schema, "skip_unsupported": skip_unsupported}
    if delivered_at is not None:
        from triops.dataops.sla import parse_moment
        from triops.errors import InvalidInputError

        moment = parse_moment(delivered_at)
        if moment is None:
            raise InvalidInputError(
                f"--delivered-at {delivered_at!r} is not an ISO 8601 date or timestamp",
                hint="for example: --delivered-at 2026-03-01T08:00:00Z",
            )
        options["delivered_at"] = moment
    if show_restricted:
        report = open_workspace().datasets.check(loaded, source, project=project, reveal=True, **options)
    else:
        from triops.dataops.checks import check

        report = check(loaded, source, privacy=_local_privacy(), **options)
    score = quality_score(report, [str(p.name) for p in schema_object(loaded, schema).properties or []])
    if as_json:
        print_json(report.to_dict() | {"quality": score.to_dict()})
    else:
        render_report(report, show_samples=samples)
        console().print(score_line(report, score.score, score.dimensions), highlight=False)
    if not report.passed:
        raise typer.Exit(code=1)


def _local_privacy() -> Any:
    """Hash masked cells with the workspace's salt when a local workspace exists (none is created for a
    check); without one, cells are masked plainly."""
    from triops.cli.context import STATE
    from triops.dataops.privacy import Privacy
    from triops.settings import Settings

    settings = Settings.load()
    url = STATE.store_url or settings.store_url
    local = (url is not None and not url.startswith(("http://", "https://"))) or (
        url is None and (Path(settings.home) / "triops.db").exists()
    )
    return open_workspace().datasets.privacy() if local else Privacy()


def score_line(report: CheckReport, score: float, dimensions: dict[str, float]) -> str:
    """``quality score 99.87/100 (4,877 rows checked, 12 failing at least one rule; …)``."""
    from triops.dataops.quality import format_score

    dims = ", ".join(f"{d} {v:.2%}" for d, v in dimensions.items())
    failing = report.rows_failing
    rows = f"{report.row_count:,} rows checked"
    if failing is not None:
        bound = "" if report.rows_failing_exact else "at least "
        rows += f", {bound}{failing:,} failing at least one rule"
    failed_rules = sum(1 for r in report.results if not r.passed)
    return f"quality score [bold]{format_score(score)}[/]/100 ({rows}; {failed_rules} rules failed; {dims})"


def render_report(report: CheckReport, *, show_samples: bool = True, only_failed: bool = False) -> None:
    from rich.table import Table

    out = console()
    table = Table(
        "rule",
        "column",
        "severity",
        "result",
        "failing rows",
        "share",
        "measured",
        "expected",
        title=f"{report.dataset}: {report.row_count:,} rows against {report.contract_id}@"
        f"{report.contract_version}",
    )
    shown = [r for r in report.results if not (only_failed and r.passed)]
    for r in shown:
        mark = (
            "[green]pass[/]" if r.passed else ("[red]FAIL[/]" if r.severity == "error" else "[yellow]warn[/]")
        )
        measured = (
            ""
            if r.measured is None
            else (f"{r.measured:g}" if isinstance(r.measured, float) else str(r.measured))
        )
        table.add_row(
            safe(r.rule),
            safe(r.column or ""),
            r.severity,
            mark,
            f"{r.failing_rows:,}",
            f"{r.failing_share:.2%}",
            safe(measured),
            safe(r.expected),
        )
    out.print(table)
    if len(shown) < len(report.results):
        out.print(f"{len(report.results) - len(shown)} other rules passed")
    for item in report.skipped:
        out.print(
            f"[yellow]not checked[/] {safe(item['location'])} ({safe(item['what'])}): {safe(item['reason'])}",
            highlight=False,
        )
    if show_samples:
        _render_samples(report)
    verdict = "[green]passed[/]" if report.passed else f"[red]failed[/] ({len(report.errors)} errors)"
    out.print(f"check {verdict}, {len(report.warnings)} warnings")


SHOWN_SAMPLE_ROWS = 5


def _render_samples(report: CheckReport) -> None:
    from rich.table import Table

    out = console()
    if report.protected and any(r.samples for r in report.results):
        what = safe(", ".join(f"{c} ({why})" for c, why in report.protected.items()))
        out.print(
            f"masked in samples: {what}; --show-restricted shows them (permission needed)", highlight=False
        )
    elif not report.masked:
        out.print("[yellow]restricted and personal values shown in clear (audited)[/]")
    for r in report.results:
        if not r.samples:
            continue
        shown = r.samples[:SHOWN_SAMPLE_ROWS]
        numbered = "line" if "line" in shown[0] else "row"
        of = f"{len(shown)} of {r.failing_rows:,} failing rows" if r.failing_rows else f"{len(shown)} rows"
        out.print(f"[bold]{safe(r.rule)}[/] failing rows ({of}, by {numbered} number):", highlight=False)
        cols = _sample_columns(r.column, r.samples)
        sample = Table(numbered, *(safe(c) for c in cols))
        for s in shown:
            sample.add_row(str(s.get(numbered, s["row"])), *(_text(s["values"].get(c)) for c in cols))
        out.print(sample)


def _sample_columns(column: str | None, samples: tuple[dict[str, Any], ...]) -> list[str]:
    cols = list(samples[0]["values"])
    first = [column] if column in cols else []
    return (first + [c for c in cols if c != column])[:8]


def _text(value: Any) -> str:
    # data values and masked tokens (``[masked:1a2b…]``) are shown as they are, never read as markup
    return "∅" if value is None else safe(value)


@app.command(
    "diff",
    help="Classify the changes from contract OLD to NEW as breaking or not, with semver advice; exit code 1 "
    "when NEW's declared version is too small for its changes (a CI gate).",
)
def diff_cmd(
    old: Path,
    new: Path,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    from rich.table import Table

    from triops.dataops.contracts import load_contract
    from triops.dataops.diff import diff_contracts

    result = diff_contracts(load_contract(old), load_contract(new))
    if as_json:
        print_json(result.to_dict())
    else:
        table = Table("level", "object", "column", "change", title=f"{old.name} → {new.name}")
        style = {"breaking": "red", "non-breaking": "green", "patch": "dim"}
        for c in result.changes:
            table.add_row(f"[{style[c.level]}]{c.level}[/]", c.object, c.column or "", c.what)
        console().print(table)
        console().print(result.advice(), highlight=False)
    if result.bump != "none" and not result.version_ok:
        raise typer.Exit(code=1)


def render_dataset_diff(diff: DatasetDiff, *, title: str = "dataset diff") -> None:
    """Print a dataset-version diff (schema changes, row counts, per-column shift) as rich tables."""
    from rich.table import Table

    out = console()
    how = "exact, from both versions' data" if diff.method == "exact" else "estimated from stored profiles"
    out.print(
        f"[bold]{title}[/]: rows {diff.old_rows:,} → {diff.new_rows:,} ({diff.row_delta:+,}); shift {how}",
        highlight=False,
    )
    for label, cols in (("added", diff.added), ("removed", diff.removed)):
        if cols:
            out.print(f"columns {label}: {', '.join(cols)}")
    for col, a, b in diff.retyped:
        out.print(f"column {col}: type {a} → {b}")
    table = Table("column", "PSI", "KS", "shift")
    style = {
        "stable": "green",
        "moderate": "yellow",
        "major": "red",
        "identifier": "dim",
        "not compared": "dim",
    }
    for s in diff.shifts:
        prefix = "~" if diff.method == "estimated" and s.psi is not None else ""
        table.add_row(
            s.column,
            "" if s.psi is None else f"{prefix}{s.psi:.4f}",
            "" if s.ks is None else f"{prefix}{s.ks:.4f}",
            f"[{style[s.level]}]{s.level}[/]" + (f" ({s.note})" if s.note else ""),
        )
    out.print(table)


def render_demo(demo: DataOpsDemo) -> None:
    """Print the DataOps part of ``triops demo``: the stored version, then the gate stopping a bad batch."""
    out = console()
    v = demo.registered.version
    from triops.dataops.quality import format_score

    score = format_score(v.score)
    verdict = "[green]passed[/]" if v.passed else "[red]failed[/]"
    out.print(
        f"dataset [bold]{v.name}[/] v{v.version}: {v.row_count:,} rows, contract {v.contract_id}@"
        f"{v.contract_version} {verdict}, quality score {score}/100, sha256 {v.content_hash[:12]}…"
    )
    out.print(
        f"a corrupted batch of {demo.corrupt_rows:,} rows (nulls, ages out of range, unknown state code):"
    )
    for report in demo.gate.reports.values():
        render_report(report, show_samples=True, only_failed=True)
    out.print(("[green]" if demo.gate.passed else "[red]") + demo.gate.summary() + "[/]")


@openlineage_app.command(
    "validate",
    help="Check a JSON Lines file of OpenLineage RunEvents against the spec; exit code 1 on any problem.",
)
def validate_lineage(
    events: Path,
    as_json: Annotated[bool, typer.Option("--json", help="print the problems as JSON")] = False,
    spec_dir: Annotated[
        Path | None,
        typer.Option("--spec-dir", help="a copy of the spec's JSON files to use instead of the built-in one"),
    ] = None,
) -> None:
    from triops.dataops.openlineage_spec import core_schema_url, read_event_lines, validate_event_lines

    text_lines = read_event_lines(events)
    problems = validate_event_lines(text_lines, spec_directory=spec_dir)
    lines = sum(1 for line in text_lines if line.strip())
    spec = core_schema_url().split("#", 1)[0] if spec_dir is None else str(spec_dir)
    if as_json:
        print_json(
            {
                "events": lines,
                "spec": spec,
                "valid": not problems,
                "problems": [{"line": n, "path": p.path, "message": p.message} for n, p in problems],
            }
        )
    else:
        for number, problem in problems:
            console().print(f"[red]line {number}[/] {problem.path}: {problem.message}", highlight=False)
        bad = len({n for n, _ in problems})
        verdict = "[green]all valid[/]" if not problems else f"[red]{bad} invalid[/]"
        console().print(f"{lines} events against {spec}: {verdict}", highlight=False)
    if problems:
        raise typer.Exit(code=1)
