"""The dataset lineage graph: the service's tree becomes layers in the direction data flows (upstream left,
downstream right), one box per node even when the walks meet it twice, and an SVG with a title."""

from __future__ import annotations

import re

from triops.mlops.pipelines.lineage import LineageNode
from triops.server.web.lineage_chart import build_graph, lineage_svg


def _tree() -> LineageNode:
    raw = LineageNode("artifact", "raw", "raw.csv")
    clean = LineageNode("step", "s1", "clean", run_id="r1", status="COMPLETED", children=(raw,))
    up = LineageNode("artifact", "sha", "bytes", children=(clean,), direction="up")
    model = LineageNode("artifact", "m", "model.skops")
    train = LineageNode("step", "s2", "train", run_id="r2", status="FAILED", children=(model,))
    report = LineageNode("step", "s3", "report", run_id="r3", status="COMPLETED", children=(model,))
    down = LineageNode("artifact", "sha", "bytes", children=(train, report), direction="down")
    run = LineageNode("run", "r0", "run r0", run_id="r0")
    return LineageNode("dataset", "d", "benefits/2", children=(up, down, run))


def test_layers_follow_the_data_and_shared_nodes_are_drawn_once() -> None:
    graph = build_graph(_tree())
    layer = {key[1]: node.layer for key, node in graph.nodes.items()}
    assert layer == {"d": 0, "s1": -1, "raw": -2, "s2": 1, "s3": 1, "m": 2, "r0": -1}
    assert "sha" not in layer  # the walks start at the dataset's own bytes: the dataset itself
    edges = {(a[1], b[1]) for a, b in graph.edges}
    assert edges == {
        ("raw", "s1"),
        ("s1", "d"),
        ("d", "s2"),
        ("d", "s3"),
        ("s2", "m"),
        ("s3", "m"),
        ("r0", "d"),
    }
    rows = {(n.layer, n.row) for n in graph.nodes.values()}
    assert len(rows) == len(graph.nodes)  # no two boxes on one spot


def test_the_svg_has_a_title_a_box_per_node_and_an_arrow_per_edge() -> None:
    svg, graph = lineage_svg(_tree())
    text = str(svg)
    assert text.startswith('<svg class="chart lineage-graph" role="img"')
    assert "<title>lineage of benefits/2: 3 upstream, 3 downstream (listed below)</title>" in text
    assert text.count("<rect") == len(graph.nodes) == 7
    assert text.count('marker-end="url(#arrow)"') == len(graph.edges) == 7
    assert 'class="node step failed"' in text
    # every arrow runs left to right: upstream boxes end where the next layer begins
    for x1, x2 in re.findall(r'<line class="edge" x1="([\d.]+)" y1="[\d.]+" x2="([\d.]+)"', text):
        assert float(x1) < float(x2)


def test_labels_are_escaped() -> None:
    svg, _ = lineage_svg(LineageNode("dataset", "d", "<script>x</script>"))
    assert "<script>" not in str(svg) and "&lt;script&gt;" in str(svg)
