"""Steps for the two-node Ray test: pinned to the second node by its custom resource ``node2``."""

from __future__ import annotations

import polars as pl

from triops.mlops.pipelines.authoring import pipeline, step

ON_NODE2 = {"cpu": 1, "memory_gb": 0, "custom.node2": 1}


@step(resources=ON_NODE2)
def make_table(n: int) -> pl.DataFrame:
    return pl.DataFrame({"x": list(range(n)), "y": [i * i for i in range(n)]})


@step(resources=ON_NODE2)
def total(table: pl.DataFrame) -> int:
    return int(table["y"].sum())


@step(resources=ON_NODE2)
def node_id() -> str:
    import ray

    return str(ray.get_runtime_context().get_node_id())


@pipeline
def on_node2(n: int = 100) -> None:
    total(make_table(n))
    node_id()
