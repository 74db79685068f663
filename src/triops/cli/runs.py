"""``triops runs list|show|compare``."""

from __future__ import annotations

import contextlib
import math
from typing import TYPE_CHECKING, Annotated, Any

import typer

from triops.cli.context import console, open_workspace, print_json

if TYPE_CHECKING:
    from triops.domain.records import Run

app = typer.Typer(no_args_is_help=True)

_STATUS_STYLE = {
    "FINISHED": "green",
    "FAILED": "red",
    "KILLED": "yellow",
    "LOST": "magenta",
    "RUNNING": "cyan",
}


def _fmt(value: float, digits: int = 6) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}g}"


def _status(run: Run) -> str:
    return f"[{_STATUS_STYLE.get(run.status.value, 'white')}]{run.status.value}[/]"


@app.command("list", help="List runs, newest first; filter with the search language (docs/tracking.md).")
def list_runs(
    project: Annotated[str | None, typer.Option("--project", "-p")] = None,
    filter: Annotated[
        str, typer.Option("--filter", "-f", help="e.g. \"metrics.auc > 0.8 and params.model = 'rf'\"")
    ] = "",
    order_by: Annotated[
        list[str] | None, typer.Option("--order-by", "-o", help="e.g. 'metrics.auc desc'")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100_000)] = 50,
    parent: Annotated[
        str | None, typer.Option("--parent", help="only the runs nested under this run (id or its tail)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    ws = open_workspace()
    _mark_lost(ws)
    if parent is not None:
        from triops.mlops.tracking.queries import children_filter

        nested = children_filter(_resolve(ws, parent))
        filter = f"{nested} and ({filter})" if filter.strip() else nested
    runs = ws.runs.search(project=project, filter=filter, order_by=order_by or [], limit=limit)
    if as_json:
        print_json([r.to_dict() for r in runs])
        return
    from rich.table import Table

    from triops.cli.text import safe

    metric_keys = _metric_columns(runs, order_by or [])
    table = Table(title=f"{len(runs)} runs" + (f" in {project}" if project else ""))
    table.add_column("id (tail)", no_wrap=True, min_width=12)
    columns = ("name", "status", "started", "duration", *metric_keys)
    for column in columns if project else ("project", *columns):
        table.add_column(column, min_width=len(column) if column in ("status", "started") else None)
    for r in runs:
        duration = f"{r.duration_s:.1f}s" if r.duration_s is not None else "-"
        cells = [
            safe(r.name),
            _status(r),
            r.start_time.strftime("%m-%d %H:%M"),
            duration,
            *[_fmt(r.metrics[k], 4) if k in r.metrics else "" for k in metric_keys],
        ]
        table.add_row(r.id[-12:], *(cells if project else [safe(r.project), *cells]))
    console().print(table)


def _mark_lost(ws: Any) -> None:
    """Runs whose process died show as LOST, not as RUNNING forever (a server does this on its side)."""
    if not ws.is_remote:
        ws.pipelines.mark_lost()


def _resolve(ws: Any, text: str) -> str:
    if ws.is_remote:
        return text
    from triops.store.repositories.runs import resolve_run_id

    with ws.store.connect() as conn:
        return resolve_run_id(conn, text)


def _metric_columns(runs: list[Run], order_by: list[str], most: int = 3) -> list[str]:
    """The metrics worth a column: those the listing is ordered by, then the most common ones."""
    from collections import Counter

    wanted = [
        o.split()[0].split(".", 1)[1] for o in order_by if o.lower().startswith(("metrics.", "metric."))
    ]
    common = [k for k, _ in Counter(k for r in runs for k in r.metrics).most_common()]
    keys: list[str] = []
    for key in [*wanted, *common]:
        if key not in keys and any(key in r.metrics for r in runs):
            keys.append(key)
    return keys[:most]


_MAX_CHILDREN = 100


@app.command("show", help="Show one run: status, params, metrics, tags, artifacts and error.")
def show(
    run_id: Annotated[str, typer.Argument(help="a run id, or its last 8+ characters")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    ws = open_workspace()
    _mark_lost(ws)
    run_id = _resolve(ws, run_id)
    extra = _run_extras(ws, run_id)  # first: a server marks a dead pipeline run LOST as it reads its steps
    run = ws.runs.get(run_id)
    children = ws.runs.children(run.id, limit=_MAX_CHILDREN)
    if as_json:
        print_json({**run.to_dict(), **extra, "children": [c.id for c in children]})
        return
    from rich.table import Table

    from triops.cli.text import safe

    out = console()
    out.print(f"[bold]{safe(run.name)}[/] ({run.id}) in project [bold]{safe(run.project)}[/]: {_status(run)}")
    who = safe(run.user or "unknown")
    out.print(f"started {run.start_time:%Y-%m-%d %H:%M:%S} UTC, by {who}, kind {safe(run.kind)}")
    if run.parent_id:
        out.print(f"nested under run {run.parent_id}")
    for title, values in (("params", run.params), ("metrics", run.metrics), ("tags", run.tags)):
        if values:
            table = Table("key", "value", title=title, title_justify="left")
            for k, v in sorted(values.items()):
                table.add_row(safe(k), _fmt(v) if isinstance(v, float) else safe(v))
            out.print(table)
    if run.artifacts:
        table = Table("name", "sha256", "size", "type", title="artifacts", title_justify="left")
        for a in run.artifacts:
            table.add_row(safe(a.name), a.sha256[:16] + "…", f"{a.size:,}", safe(a.media_type))
        out.print(table)
    if children:
        more = (
            " (the newest; list them all with `triops runs list --parent`)"
            if len(children) == _MAX_CHILDREN
            else ""
        )
        table = Table("id", "name", "status", "started", title=f"child runs{more}", title_justify="left")
        for c in children:
            table.add_row(c.id, safe(c.name), _status(c), c.start_time.strftime("%m-%d %H:%M"))
        out.print(table)
    if extra.get("steps"):
        from triops.cli.pipelines_render import step_table
        from triops.workspace.remote_wire import step_run

        out.print(step_table([step_run(s) for s in extra["steps"]], title="steps"))
    if "cost" in extra:
        cost = extra["cost"]
        out.print(f"metered cost: {cost['total_micros'] / 1e6:.6f} {cost['currency']}")
    if run.error:
        out.print(f"[red]error:[/]\n{safe(run.error)}", highlight=False)


def _run_extras(ws: Any, run_id: str) -> dict[str, Any]:
    """Pipeline runs also show their steps with metering, and every run its priced cost (when the user may
    read costs)."""
    from triops.errors import NotFoundError, PermissionDeniedError

    extra: dict[str, Any] = {}
    if ws.runs.get(run_id).kind == "pipeline":
        with contextlib.suppress(NotFoundError):
            extra["steps"] = [s.to_dict() for s in ws.pipelines.steps(run_id)]
    try:
        costs = ws.finops.costs(run_id=run_id)
    except PermissionDeniedError:
        return extra
    if costs.height:
        by_step = {str(r["step"]): int(r["cost_micros"]) for r in costs.iter_rows(named=True)}
        extra["cost"] = {
            "currency": str(costs["currency"][0]),
            "total_micros": int(costs["cost_micros"].sum()),
            "by_step_micros": by_step,
        }
    return extra


@app.command("compare", help="Compare runs side by side: params and metrics that differ are highlighted.")
def compare(run_ids: list[str], as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    from triops.errors import InvalidInputError

    if len(run_ids) < 2:
        raise InvalidInputError("compare needs at least two run ids", hint="triops runs compare RUN_A RUN_B")
    ws = open_workspace()
    runs = [ws.runs.get(_resolve(ws, r)) for r in run_ids]
    if as_json:
        print_json([r.to_dict() for r in runs])
        return
    from rich.table import Table

    from triops.cli.text import safe

    table = Table("", *[f"{safe(r.name)}\n{r.id[-8:]}" for r in runs], title="run comparison")
    table.add_row("status", *[_status(r) for r in runs])
    for section in ("params", "metrics"):
        keys = sorted({k for r in runs for k in getattr(r, section)})
        for key in keys:
            values = [getattr(r, section).get(key) for r in runs]
            cells = ["" if v is None else _fmt(v) if isinstance(v, float) else safe(v) for v in values]
            differs = len(set(cells)) > 1
            style = "bold yellow" if differs else ""
            table.add_row(f"{section}.{safe(key)}", *[f"[{style}]{c}[/]" if style else c for c in cells])
    console().print(table)
