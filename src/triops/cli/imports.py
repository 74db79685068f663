"""``triops import mlflow --from …``: bring existing MLflow experiments, runs and artifacts into triops."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from triops.cli.context import console as console_of
from triops.cli.context import open_workspace, print_json

app = typer.Typer(no_args_is_help=True)


@app.command(
    "mlflow",
    help="Import an MLflow store or server (sqlite:///mlflow.db, postgresql://…, file:./mlruns, http://…): experiments become "
    "projects, runs keep their MLflow ids; re-running skips what was imported (docs/mlflow.md).",
)
def import_mlflow_command(
    source: Annotated[
        str,
        typer.Option(
            "--from",
            help="MLflow store or server: sqlite:///mlflow.db, postgresql://…, file:./mlruns, http://…",
        ),
    ],
    artifacts_root: Annotated[
        Path | None,
        typer.Option(
            "--artifacts-root",
            help="where an MLflow server kept proxied artifacts (its --artifacts-destination, e.g. ./mlartifacts)",
        ),
    ] = None,
    include_deleted: Annotated[
        bool, typer.Option("--include-deleted", help="also import runs and experiments deleted in MLflow")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
    mlflow_token: Annotated[
        str | None,
        typer.Option(
            "--mlflow-token", envvar="MLFLOW_TRACKING_TOKEN", help="bearer token of an MLflow server"
        ),
    ] = None,
) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from triops.workspace.mlflow_import import import_mlflow

    ws = open_workspace()
    console = console_of()
    with Progress(
        TextColumn("importing runs"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=as_json,
        disable=as_json,
    ) as bar:
        task = bar.add_task("runs", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        report = import_mlflow(
            ws,
            source,
            artifacts_root=artifacts_root,
            include_deleted=include_deleted,
            progress=advance,
            token=mlflow_token,
        )
    if as_json:
        print_json(report.to_dict())
        return
    console.print(
        f"imported {report.runs_imported} runs ({report.metrics} metric points, {report.params} params, "
        f"{report.tags} tags, {report.artifacts} artifacts) from {report.source}"
    )
    for name, project in sorted(report.projects.items()):
        note = "" if name == project else f"  (renamed from {name!r})"
        console.print(f"  experiment {name} → project {project}{note}")
    if report.parents_linked:
        console.print(f"  linked {report.parents_linked} nested runs to their parent runs")
    for reason, count in sorted(report.parents_not_linked.items()):
        console.print(f"  left {count} nested runs unlinked: {reason}")
    for reason, count in sorted(report.skipped.items()):
        console.print(f"  skipped {count} runs: {reason}")
    for reason, count in sorted(report.artifacts_skipped.items()):
        console.print(f"  skipped artifacts of {count} runs: {reason}")
    reg = report.registry
    if reg.models or reg.versions or reg.aliases:
        console.print(
            f"  registry: {reg.models} registered models, {reg.versions} versions (flavour mlflow: recorded, "
            f"never loaded by triops), {reg.aliases} aliases"
        )
    for stage, count in sorted(reg.stages_left.items()):
        console.print(
            f"  {count} versions were in MLflow stage {stage}: imported in development; promote them with "
            "`triops models promote` (gates apply)"
        )
    for reason, count in sorted(reg.skipped.items()):
        console.print(f"  skipped {count} model versions/aliases: {reason}")
    if report.registered_models_skipped:
        console.print(
            f"  skipped {report.registered_models_skipped} registered models "
            f"({report.model_versions_skipped} versions): the registry of an MLflow file store is not read; "
            "import from the tracking server (http://…) or its SQL store instead"
        )
