"""How ``triops run``, ``triops runs resume`` and ``triops lineage`` look: the step table (also printed by
``triops runs show``), the live view refreshed while a pipeline runs, the run summary and the lineage tree."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from triops.mlops.pipelines.lineage import LineageNode
    from triops.mlops.pipelines.runner import PipelineRunResult
    from triops.store.repositories.pipelines import StepRunRow

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


def elapsed(row: StepRunRow) -> str:
    if row.status == "RUNNING" and row.started_ms:
        return f"{max(0.0, time.time() - row.started_ms / 1000):.1f}s"
    if row.wall_s is not None and row.status in ("DONE", "FAILED", "KILLED"):
        return f"{row.wall_s:.2f}s"
    return ""


def size_text(n: int | None) -> str:
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
    columns = ("step", "status", "elapsed", "cpu s", "step mem", "process peak", "read", "written", "note")
    for column in columns:
        table.add_column(column, no_wrap=column in ("step", "status"))
    for row in rows:
        style = STATUS_STYLE.get(row.status, "white")
        note = (row.error or "").splitlines()[0][:80] if row.error else ""
        if row.status == "CACHED" and row.cached_from:
            note = f"cache hit (step run …{row.cached_from[-8:]})"
        table.add_row(
            row.step,
            f"[{style}]{row.status}[/]",
            elapsed(row),
            f"{row.cpu_s:.2f}" if row.cpu_s is not None and row.status != "CACHED" else "",
            size_text(row.step_memory_bytes),
            size_text(row.peak_rss_bytes),
            size_text(row.bytes_read),
            size_text(row.bytes_written),
            note,
        )
    return table


class LiveView:
    def __init__(self, title: str) -> None:
        self.title = title
        self.rows: dict[str, StepRunRow] = {}

    def __call__(self, row: StepRunRow) -> None:
        self.rows[row.step] = row

    def render(self) -> RenderableType:
        rows = self.rows.copy()  # the refresh thread reads while the runner writes
        return step_table(sorted(rows.values(), key=lambda r: r.position), self.title)


def summary(out: Console, result: PipelineRunResult) -> None:
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


def lineage_tree(node: LineageNode) -> RenderableType:
    from rich.tree import Tree

    def label(n: LineageNode) -> str:
        if n.kind == "artifact":
            size = f", {size_text(n.size)}" if n.size else ""
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


__all__ = ["STATUS_STYLE", "LiveView", "elapsed", "lineage_tree", "size_text", "step_table", "summary"]
