"""A dataset version's lineage drawn as a graph (server-side SVG, left to right in the direction data flows).

The lineage service returns a tree: the dataset, then the walks up (which step runs wrote its bytes, from
which inputs) and down (which step runs read it, what they wrote), and the run that registered it. Here it
becomes layers — upstream at the left, the dataset in the middle, downstream at the right — with one box per
run, step run or artifact (a node met twice is drawn once) and an arrow per edge. The SVG has a title; the
page lists the same nodes as text beside it (the text alternative).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Any

from markupsafe import Markup

BOX_W, BOX_H, COL_W, ROW_H, PAD = 180, 34, 240, 50, 10


@dataclass
class GraphNode:
    key: tuple[str, str]
    kind: str
    label: str
    layer: int
    status: str | None = None
    run_id: str | None = None
    row: int = 0


@dataclass
class LineageGraph:
    nodes: dict[tuple[str, str], GraphNode] = field(default_factory=dict)
    edges: list[tuple[tuple[str, str], tuple[str, str]]] = field(default_factory=list)

    def add(self, node: Any, layer: int) -> tuple[str, str]:
        key = (str(node.kind), str(node.id))
        if key not in self.nodes:
            self.nodes[key] = GraphNode(key, node.kind, node.label, layer, node.status, node.run_id)
        return key

    def link(self, source: tuple[str, str], target: tuple[str, str]) -> None:
        if source != target and (source, target) not in self.edges:
            self.edges.append((source, target))


def build_graph(root: Any) -> LineageGraph:
    """Layers from the dataset's lineage tree: upstream walks at negative layers, downstream positive."""
    graph = LineageGraph()
    center = graph.add(root, 0)

    def walk(node: Any, key: tuple[str, str], layer: int, step: int) -> None:
        for child in node.children:
            child_key = graph.add(child, layer + step)
            if step < 0:
                graph.link(child_key, key)  # the child was an input of (or wrote) the node
            else:
                graph.link(key, child_key)
            walk(child, child_key, layer + step, step)

    for child in root.children:
        direction = getattr(child, "direction", None)
        if direction in ("up", "down"):
            # the walk starts at the dataset's own bytes: that is the dataset itself
            walk(child, center, 0, -1 if direction == "up" else 1)
        else:
            graph.link(graph.add(child, -1), center)  # the run that registered the version
    rows: dict[int, int] = {}
    for node in graph.nodes.values():
        node.row = rows.get(node.layer, 0)
        rows[node.layer] = node.row + 1
    return graph


def draw(graph: LineageGraph, title: str) -> Markup:
    layers = [n.layer for n in graph.nodes.values()]
    low = min(layers)
    columns = max(layers) - low + 1
    rows = max(n.row for n in graph.nodes.values()) + 1
    width, height = columns * COL_W - (COL_W - BOX_W) + 2 * PAD, rows * ROW_H - (ROW_H - BOX_H) + 2 * PAD

    def box(node: GraphNode) -> tuple[float, float]:
        return PAD + (node.layer - low) * COL_W, PAD + node.row * ROW_H

    parts = [
        f'<svg class="chart lineage-graph" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}"><title>{escape(title)}</title>',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" class="arrow-head"/></marker></defs>',
    ]
    for source, target in graph.edges:
        (sx, sy), (tx, ty) = box(graph.nodes[source]), box(graph.nodes[target])
        if sx < tx:
            x1, x2 = sx + BOX_W, tx
        else:
            x1, x2 = sx, tx + BOX_W
        parts.append(
            f'<line class="edge" x1="{x1}" y1="{sy + BOX_H / 2}" x2="{x2}" y2="{ty + BOX_H / 2}" '
            'marker-end="url(#arrow)"/>'
        )
    for node in graph.nodes.values():
        x, y = box(node)
        state = f" {escape(node.status.lower())}" if node.status else ""
        label = node.label if len(node.label) <= 24 else node.label[:23] + "…"
        parts.append(
            f'<g class="node {escape(node.kind)}{state}"><rect x="{x}" y="{y}" width="{BOX_W}" '
            f'height="{BOX_H}" rx="5"/><text x="{x + 8}" y="{y + 14}" class="kind">{escape(node.kind)}'
            f"{escape(' · ' + node.status.lower()) if node.status else ''}</text>"
            f'<text x="{x + 8}" y="{y + 28}">{escape(label)}</text></g>'
        )
    parts.append("</svg>")
    # every label went through html.escape; coordinates are numbers formatted here
    return Markup("".join(parts))  # noqa: S704


def lineage_svg(root: Any) -> tuple[Markup, LineageGraph]:
    graph = build_graph(root)
    up = sum(1 for n in graph.nodes.values() if n.layer < 0)
    down = sum(1 for n in graph.nodes.values() if n.layer > 0)
    title = f"lineage of {root.label}: {up} upstream, {down} downstream (listed below)"
    return draw(graph, title), graph


__all__ = ["LineageGraph", "build_graph", "lineage_svg"]
