"""``triops run TARGET``, ``triops runs resume RUN_ID`` and ``triops lineage ID``.

The work is in plain functions taking a store and an artifact store (``run_command``, ``resume_command``,
``lineage_command``) so tests call them directly; the Typer commands below only open the workspace.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from triops.cli.context import console as shared_console
from triops.errors import InvalidInputError

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from triops.artifacts import ArtifactStore
    from triops.mlops.pipelines.hooks import Hook
    from triops.mlops.pipelines.lineage import LineageNode
    from triops.mlops.pipelines.runner import PipelineRunResult
    from triops.store.engine import Store
    from triops.store.repositories.pipelines import StepRunRow

app = typer.Typer(no_args_is_help=True, help="Run pipelines, resume them and walk their lineage.")

STATUS_STYLE = {
    "PENDING": "dim",
    "RUNNING": "cyan",
    "CACHED": "blue",
    "DONE": "green",
    "FAILED": "red",
    "SKIPPED": "dim",
    "KILLED": "yellow",
    "FINISHED": "green",
}


def parse_params(pairs: Sequence[str]) -> dict[str, Any]:
    """``k=v`` pairs; a value that reads as JSON (number, list, object, true/false/null) is parsed."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(
                f"--param {pair!r} is not of the form key=value", hint="e.g. --param rows=500"
            )
        try:
            params[key.strip()] = json.loads(value) if value[:1] in '[{"' else value
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"--param {key}: {value!r} is not valid JSON: {exc.msg}") from exc
    return params


def _elapsed(row: StepRunRow) -> str:
    if row.status == "RUNNING" and row.started_ms:
        return f"{max(0.0, time.time() - row.started_ms / 1000):.1f}s"
    if row.wall_s is not None and row.status in ("DONE", "FAILED", "KILLED"):
        return f"{row.wall_s:.2f}s"
    return ""


def _bytes(n: int | None) -> str:
    if not n:
        return ""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def step_table(rows: Sequence[StepRunRow], title: str | None = None) -> RenderableType:
    """A table of step runs (status, elapsed, CPU, memory, I/O); ``triops runs show`` can print it. "step
    mem" is the step's own peak memory (what FinOps prices), "process peak" its process's peak RSS."""
    from rich.table import Table

    table = Table(title=title)
    for column in (
        "step",
        "status",
        "elapsed",
        "cpu s",
        "step mem",
        "process peak",
        "read",
        "written",
        "note",
    ):
        table.add_column(column, no_wrap=column in ("step", "status"))
    for row in rows:
        style = STATUS_STYLE.get(row.status, "white")
        note = (row.error or "").splitlines()[0][:80] if row.error else ""
        if row.status == "CACHED" and row.cached_from:
            note = f"cache hit (step run …{row.cached_from[-8:]})"
        table.add_row(
            row.step,
            f"[{style}]{row.status}[/]",
            _elapsed(row),
            f"{row.cpu_s:.2f}" if row.cpu_s is not None and row.status != "CACHED" else "",
            _bytes(row.step_memory_bytes),
            _bytes(row.peak_rss_bytes),
            _bytes(row.bytes_read),
            _bytes(row.bytes_written),
            note,
        )
    return table


class _LiveView:
    def __init__(self, title: str) -> None:
        self.title = title
        self.rows: dict[str, StepRunRow] = {}

    def __call__(self, row: StepRunRow) -> None:
        self.rows[row.step] = row

    def render(self) -> RenderableType:
        rows = self.rows.copy()  # the refresh thread reads while the runner writes
        return step_table(sorted(rows.values(), key=lambda r: r.position), self.title)


def _summary(out: Console, result: PipelineRunResult) -> None:
    style = STATUS_STYLE.get(result.status, "white")
    counts: dict[str, int] = {}
    for row in result.steps:
        counts[row.status] = counts.get(row.status, 0) + 1
    parts = ", ".join(f"{n} {s.lower()}" for s, n in counts.items())
    out.print(
        f"run [bold]{result.run_id}[/] of [bold]{result.pipeline}[/]: [{style}]{result.status}[/] ({parts})"
    )
    if result.error:
        out.print(f"[red]{result.error}[/]")
    if result.status != "FINISHED":
        out.print(f"resume with: triops runs resume {result.run_id}")


def _execute(out: Console, as_json: bool, title: str, call: Any) -> PipelineRunResult:
    if as_json:
        result: PipelineRunResult = call(None)
        return result
    from rich.live import Live

    view = _LiveView(title)
    with Live(get_renderable=view.render, console=out, refresh_per_second=8, transient=False):
        result = call(view)
    if not out.is_terminal:
        out.line()
    _summary(out, result)
    return result


def run_command(
    store: Store,
    artifacts: ArtifactStore,
    target: str,
    params: Sequence[str] = (),
    *,
    executor: str = "inline",
    no_cache: bool = False,
    as_json: bool = False,
    project: str = "default",
    on_failure: str = "stop",
    hooks: Sequence[Hook] = (),
    console: Console | None = None,
    executor_options: Mapping[str, Any] | None = None,
    heartbeat_s: float = 10.0,
    tags: dict[str, str] | None = None,
) -> PipelineRunResult:
    """Run ``path/or/module:pipeline`` with a live view of its steps (or quietly with ``as_json``)."""
    from triops.mlops.pipelines.runner import run_pipeline
    from triops.mlops.pipelines.targets import load_target

    values = parse_params(params)
    pipe = load_target(target)
    out = console or shared_console()
    if on_failure not in ("stop", "continue"):
        raise InvalidInputError(f"--on-failure {on_failure!r}", hint="choose stop or continue")

    def call(listener: Any) -> PipelineRunResult:
        return run_pipeline(
            store,
            artifacts,
            pipe,
            values,
            project=project,
            executor=executor,
            hooks=hooks,
            use_cache=not no_cache,
            on_failure="stop" if on_failure == "stop" else "continue",
            listener=listener,
            target=target,
            executor_options=executor_options,
            heartbeat_s=heartbeat_s,
            tags=tags,
        )

    return _execute(out, as_json, f"{pipe.name} on {executor}", call)


def resume_command(
    store: Store,
    artifacts: ArtifactStore,
    run_id: str,
    *,
    executor: str | None = None,
    as_json: bool = False,
    hooks: Sequence[Hook] = (),
    console: Console | None = None,
    heartbeat_s: float = 10.0,
    lost_after_s: float = 120.0,
) -> PipelineRunResult:
    """Re-run a failed, killed or lost pipeline run from its failed step."""
    from triops.mlops.pipelines.runner import resume_run

    out = console or shared_console()

    def call(listener: Any) -> PipelineRunResult:
        return resume_run(
            store,
            artifacts,
            run_id,
            executor=executor,
            hooks=hooks,
            listener=listener,
            heartbeat_s=heartbeat_s,
            lost_after_s=lost_after_s,
        )

    return _execute(out, as_json, f"resuming {run_id}", call)


def lineage_tree(node: LineageNode) -> RenderableType:
    from rich.tree import Tree

    def label(n: LineageNode) -> str:
        if n.kind == "artifact":
            size = f", {_bytes(n.size)}" if n.size else ""
            return f"[bold]{n.label}[/] [dim]{n.id[:12]} ({n.media_type}{size})[/]"
        if n.kind == "step":
            style = STATUS_STYLE.get(n.status or "", "white")
            return f"step [bold]{n.label}[/] [{style}]{n.status}[/] [dim]run {n.run_id}[/]"
        return f"[bold]{n.label}[/]"

    def add(tree: Tree, n: LineageNode) -> None:
        for child in n.children:
            add(tree.add(label(child)), child)
        if n.truncated:
            tree.add("[dim]… more[/]")

    root = Tree(label(node))
    add(root, node)
    return root


def lineage_command(
    store: Store,
    ref: str,
    *,
    direction: str = "up",
    depth: int = 3,
    as_json: bool = False,
    console: Console | None = None,
) -> LineageNode:
    from triops.mlops.pipelines.lineage import lineage

    if direction not in ("up", "down"):
        raise InvalidInputError(f"--direction {direction!r}", hint="choose up or down")
    node = lineage(store, ref, direction="up" if direction == "up" else "down", depth=depth)
    out = console or shared_console()
    if as_json:
        out.print_json(json.dumps(node.to_dict()))
    else:
        out.print(lineage_tree(node))
    return node


# ---- Typer commands: open the workspace, call the functions above ----
def _workspace() -> Any:
    import importlib

    return importlib.import_module("triops.cli.context").open_workspace()


def _print_json(data: Any) -> None:
    import importlib

    importlib.import_module("triops.cli.context").print_json(data)


@app.command("run", help="Run a pipeline: triops run path/to/file.py:pipeline --param k=v")
def run_cli(
    target: Annotated[str, typer.Argument(help="path/to/file.py:pipeline or package.module:pipeline")],
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="k=v, repeatable")] = None,
    executor: Annotated[str, typer.Option("--executor", "-e", help="inline, local or ray")] = "inline",
    no_cache: Annotated[bool, typer.Option("--no-cache", help="run every step even if cached")] = False,
    project: Annotated[str, typer.Option("--project")] = "default",
    on_failure: Annotated[str, typer.Option("--on-failure", help="stop or continue")] = "stop",
    as_json: Annotated[bool, typer.Option("--json", help="print the final run record as JSON")] = False,
    override_reason: Annotated[
        str | None, typer.Option("--override-reason", help="run despite a budget hard stop; recorded")
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address", help="with --executor ray: the cluster's head, host:6379 or ray://host:10001"
        ),
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="k=v on every cost record, repeatable")
    ] = None,
    environment: Annotated[str, typer.Option("--environment", help="price-catalog environment")] = "local",
) -> None:
    from triops.cli.finops_attribution import parse_tags, print_alerts
    from triops.mlops.pipelines.executors import ray_options

    values = parse_params(param or [])  # refuse malformed params before opening anything
    tags = parse_tags(tag or [])
    options = ray_options(executor, ray_address)
    ws = _workspace()
    if ws.is_remote and ray_address:
        raise InvalidInputError(
            "--ray-address applies to local stores; a server runs pipelines on the cluster it is set up with",
            hint="drop --ray-address, or run against the store itself (TRIOPS_STORE_URL=postgresql://…)",
        )
    if ws.is_remote:
        result = _submit(
            ws, target, values, executor, no_cache, project, on_failure, override_reason, as_json,
            tags=tags, environment=environment,
        )  # fmt: skip
    else:
        hooks = tuple(
            ws.pipeline_hooks(
                override_reason=override_reason,
                tags=tags,
                environment=environment,
                use_cache=not no_cache,
                project=project,  # run.write there, and the budget.override gate for an override
            )
        )
        result = run_command(
            ws.store,
            ws.artifacts,
            target,
            param or [],
            executor=executor,
            no_cache=no_cache,
            as_json=as_json,
            project=project,
            on_failure=on_failure,
            hooks=hooks,
            tags=tags,
            heartbeat_s=ws.settings.run_heartbeat_s,
            executor_options=options,
        )
        print_alerts(hooks, as_json)
    if as_json:
        _print_json(result.to_dict())
    if result.status != "FINISHED":
        raise typer.Exit(1)


def _submit(
    ws: Any,
    target: str,
    values: dict[str, Any],
    executor: str,
    no_cache: bool,
    project: str,
    on_failure: str,
    override_reason: str | None,
    as_json: bool,
    *,
    tags: dict[str, str] | None = None,
    environment: str = "local",
) -> PipelineRunResult:
    """``triops run`` against a server: the server imports ``package.module:pipeline`` and runs it."""
    from rich.console import Console as RichConsole

    out = RichConsole()
    with out.status(f"running {target} on {ws.url}"):
        result: PipelineRunResult = ws.pipelines.submit(
            target,
            values,
            project=project,
            executor=executor,
            use_cache=not no_cache,
            on_failure=on_failure,
            override_reason=override_reason,
            tags=tags or None,
            environment=None if environment == "local" else environment,
        )
    if not as_json:
        out.print(step_table(result.steps, title=f"run {result.run_id}: {result.status}"))
    return result


@app.command("resume", help="Re-run a failed, killed or lost pipeline run from its failed step.")
def resume_cli(
    run_id: str,
    executor: Annotated[str | None, typer.Option("--executor", "-e")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    ws = _workspace()
    if ws.is_remote:
        result = ws.pipelines.resume(run_id, executor=executor)
        if not as_json:
            _print_steps(result)
    else:
        result = resume_command(
            ws.store,
            ws.artifacts,
            run_id,
            executor=executor,
            as_json=as_json,
            hooks=tuple(ws.pipeline_hooks()),
            heartbeat_s=ws.settings.run_heartbeat_s,
            lost_after_s=ws.settings.run_lost_after_s,
        )
    if as_json:
        _print_json(result.to_dict())
    if result.status != "FINISHED":
        raise typer.Exit(1)


def _print_steps(result: PipelineRunResult) -> None:
    from rich.console import Console as RichConsole

    RichConsole().print(step_table(result.steps, title=f"run {result.run_id}: {result.status}"))


@app.command(
    "lineage", help="Where an artifact (sha256) or a pipeline run came from, or what was made from it."
)
def lineage_cli(
    ref: Annotated[str, typer.Argument(help="artifact sha256 (or ≥ 8-digit prefix) or pipeline run id")],
    direction: Annotated[str, typer.Option("--direction", "-d", help="up or down")] = "up",
    depth: Annotated[int, typer.Option("--depth", min=1, max=50)] = 3,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    if direction not in ("up", "down"):
        raise InvalidInputError(f"--direction {direction!r}", hint="choose up or down")
    ws = _workspace()
    node = ws.lineage(ref, direction=direction, depth=depth)
    if as_json:
        _print_json(node.to_dict())
        return
    from rich.console import Console as RichConsole

    RichConsole().print(lineage_tree(node))


__all__ = [
    "app",
    "lineage_cli",
    "lineage_command",
    "lineage_tree",
    "parse_params",
    "resume_cli",
    "resume_command",
    "run_cli",
    "run_command",
    "step_table",
]
