"""Distributed runs for real: a two-node local Ray cluster (``ray.cluster_utils.Cluster``), a PostgreSQL
store and a shared artifact root. Steps pinned to the second node (custom resource ``node2``) run there and
their usage, artifacts and lineage are recorded through the settings the driver hands the workers; a store
or an artifact root a worker cannot reach is a clear error naming it. Bounded: one cluster per module."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.mlops.pipelines import pipelines_ray_nodes as nodes

from triops import Workspace
from triops.mlops.pipelines import materializers
from triops.mlops.pipelines.runner import run_pipeline
from triops.settings import Settings

pytestmark = [pytest.mark.xdist_group("pipelines-ray"), pytest.mark.timeout(240)]

SLOW_START = {
    "RAY_agent_register_timeout_ms": "180000",
    "RAY_raylet_start_wait_time_s": "180",
    "RAY_USAGE_STATS_ENABLED": "0",
}
SMALL_NODE = {"num_cpus": 1, "object_store_memory": 80 * 2**20}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    # the nodes' workers import the steps by module name, as they would from an installed package
    root = str(Path(__file__).resolve().parents[3])
    saved = {k: os.environ.get(k) for k in (*SLOW_START, "PYTHONPATH")}
    os.environ.update(SLOW_START)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (root, saved["PYTHONPATH"]) if p)
    two = Cluster(initialize_head=True, head_node_args={**SMALL_NODE, "include_dashboard": False})
    try:
        two.add_node(**SMALL_NODE, resources={"node2": 1})
        two.wait_for_nodes()
        yield two
    finally:
        ray.shutdown()
        two.shutdown()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def ws(pg_schema_url: str, tmp_path: Path) -> Iterator[Workspace]:
    from triops.governance.roles import bootstrap_owner
    from triops.store.engine import create_store

    store = create_store(pg_schema_url)
    bootstrap_owner(store, Settings.load().acting_user)  # a PostgreSQL store has no implicit owner
    store.dispose()
    workspace = Workspace.open(
        pg_schema_url, artifact_root=tmp_path / "shared-artifacts", settings=Settings(home=tmp_path / "home")
    )
    yield workspace
    workspace.close()


def _node2_id() -> str:
    import ray

    [found] = [n["NodeID"] for n in ray.nodes() if n["Alive"] and "node2" in n["Resources"]]
    return str(found)


@pytest.mark.slow
def test_steps_pinned_to_the_second_node_record_usage_artifacts_and_lineage(
    ws: Workspace, cluster: Any
) -> None:
    result = ws.run_pipeline(nodes.on_node2, {"n": 100}, executor="ray", ray_address=cluster.address)
    assert result.status == "FINISHED", result.error
    assert materializers.load(result.outputs["node_id/output"], ws.artifacts) == _node2_id()
    assert materializers.load(result.outputs["total/output"], ws.artifacts) == sum(i * i for i in range(100))

    for row in result.steps:  # measured in the worker on node 2, recorded in PostgreSQL
        assert row.executor == "ray" and row.status == "DONE"
        assert row.resources["custom.node2"] == 1
        assert row.wall_s is not None and row.cpu_s is not None and row.peak_rss_bytes
    usage = ws.finops.usage(project="default")
    mine = usage.filter(usage["run_id"] == result.run_id)
    assert sorted(mine["step"].to_list()) == ["make_table", "node_id", "total"]
    assert all(p > 0 for p in mine["peak_rss_bytes"].to_list())

    table = result.outputs["make_table/output"]  # written by the worker into the shared root
    assert ws.artifacts.exists(table.sha256) and table.size > 0
    tree = ws.lineage(result.outputs["total/output"].sha256)
    assert [c.label for c in tree.children] == ["total"]
    assert [g.id for g in tree.children[0].children] == [table.sha256]


@pytest.mark.slow
def test_a_store_or_artifact_root_a_worker_cannot_reach_is_an_error_naming_it(
    ws: Workspace, cluster: Any, tmp_path: Path
) -> None:
    from triops.mlops.pipelines.executors.ray import RayExecutor

    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the workers' artifact root should be")
    bad_root = RayExecutor(address=cluster.address, artifact_root=str(blocked / "artifacts"))
    result = run_pipeline(
        ws.store, ws.artifacts, nodes.on_node2, {"n": 3}, executor=bad_root, use_cache=False
    )
    assert result.status == "FAILED"
    assert "cannot reach the artifact root" in (result.error or "")
    assert str(blocked / "artifacts") in (result.error or "")

    unreachable = "postgresql+psycopg://postgres:secret@127.0.0.1:1/test"
    bad_store = RayExecutor(address=cluster.address, store_url=unreachable)
    result = run_pipeline(
        ws.store, ws.artifacts, nodes.on_node2, {"n": 3}, executor=bad_store, use_cache=False
    )
    assert result.status == "FAILED"
    error = result.error or ""
    assert "cannot reach the store postgresql+psycopg://postgres:***@127.0.0.1:1/test" in error
    assert "secret" not in error


def test_ray_address_needs_the_ray_executor(ws: Workspace) -> None:
    from triops.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="ray_address"):
        ws.run_pipeline(nodes.on_node2, executor="local", ray_address="127.0.0.1:6379")


@pytest.mark.slow
def test_triops_run_with_ray_address_runs_on_the_cluster(
    pg_schema_url: str, cluster: Any, tmp_path: Path
) -> None:
    """The console script, as a user runs it on a machine of the cluster: store and artifact root from the
    environment, the cluster from --ray-address."""
    import json
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIOPS_", "RAY_ADDRESS"))}
    env.update(
        TRIOPS_HOME=str(tmp_path / "home"),
        TRIOPS_STORE_URL=pg_schema_url,
        TRIOPS_ARTIFACT_ROOT=str(tmp_path / "shared"),
    )
    triops = str(Path(sys.executable).parent / "triops")
    target = f"{nodes.__file__}:on_node2"
    done = subprocess.run(
        [triops, "run", target, "-p", "n=7", "--executor", "ray", "--ray-address", cluster.address, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    record = json.loads(done.stdout[done.stdout.index("{") :])
    assert record["status"] == "FINISHED" and record["executor"] == "ray"
    assert {s["step"]: s["status"] for s in record["steps"]} == {
        "make_table": "DONE",
        "total": "DONE",
        "node_id": "DONE",
    }


def test_ray_address_without_the_ray_executor_is_one_line_in_the_cli(tmp_path: Path) -> None:
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIOPS_", "RAY_ADDRESS"))}
    env["TRIOPS_HOME"] = str(tmp_path)
    triops = str(Path(sys.executable).parent / "triops")
    wrong = subprocess.run(
        [triops, "run", f"{nodes.__file__}:on_node2", "--ray-address", "127.0.0.1:6379"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert wrong.returncode == 1 and "Traceback" not in wrong.stderr
    [line] = wrong.stderr.strip().splitlines()
    assert "ray_address" in line and "executor" in line
