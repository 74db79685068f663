"""Tracking benchmark: metric logging (local and over HTTP), run search over 100,000 runs, start-up time.

Every figure is measured in this run, beside MLflow (installed only in the bench venv) doing the same thing
with the same N:

- ``log_metric``: N calls of ``run.log_metric`` against N calls of ``mlflow.log_metric`` (same N; ≥ 100×),
  and 1,000,000 calls into SQLite and 500,000 over HTTP on our side alone (absolute targets);
- search: every filter and ordering shape of docs/tracking.md over the same 100,000 runs in our store and in
  MLflow's own SQLite schema, after ``ANALYZE`` on both; each ≤ 100 ms. A shape MLflow's search language
  cannot express has no peer figure (said in the row); one it can express but that fails is NOT MEASURED;
- ``import triops`` and ``triops --help`` beside ``import mlflow`` and ``mlflow --help``.

Run: ``.venv-bench/bin/python benchmarks/tracking.py [--quick] [--allow-missing] [--json PATH]``.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from _report import Report, measure_peer, parse_args
from rich.console import Console

from triops import Workspace
from triops.settings import Settings

console = Console()


def bench_log_metric(tmp: Path, n: int, name: str = "log") -> float:
    ws = Workspace.open(f"sqlite:///{tmp}/{name}.db", settings=Settings(home=tmp))
    with ws.start_run("bench") as run:
        start = time.perf_counter()
        for i in range(n):
            run.log_metric("loss", 0.5, i)
        run.flush()
        elapsed = time.perf_counter() - start
    ws.close()
    return n / elapsed


def bench_mlflow_log_metric(tmp: Path, n: int) -> float:
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{tmp}/mlflow.db")
    mlflow.set_experiment("bench")
    with mlflow.start_run():
        mlflow.log_metric("warmup", 0.0)
        start = time.perf_counter()
        for i in range(n):
            mlflow.log_metric("loss", 0.5, step=i)
        elapsed = time.perf_counter() - start
    return n / elapsed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_remote(tmp: Path, n: int) -> float:
    port = _free_port()
    home = tmp / "server"
    env = {**os.environ, "TRIOPS_HOME": str(home)}
    triops_bin = str(Path(sys.executable).parent / "triops")
    server = subprocess.Popen(
        [triops_bin, "--store", f"sqlite:///{home}/server.db", "server", "--dev", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.1)
        ws = Workspace.open(f"http://127.0.0.1:{port}", settings=Settings(home=tmp, flush_every=20_000))
        with ws.start_run("bench") as run:
            start = time.perf_counter()
            for i in range(n):
                run.log_metric("loss", 0.5, i)
            run.flush()
            elapsed = time.perf_counter() - start
        ws.close()
        return n / elapsed
    finally:
        server.terminate()
        server.wait(timeout=30)


@dataclass(frozen=True)
class FakeRun:
    id: str
    name: str
    status: str
    model: str
    team: str
    owner: str | None
    auc: float
    loss: float
    val_loss: float | None


def make_runs(n: int) -> list[FakeRun]:
    rng = random.Random(7)
    return [
        FakeRun(
            id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            name=f"cv-{i}" if i % 10 == 0 else f"r{i}",
            status="FAILED" if i % 20 == 0 else "FINISHED",
            model=rng.choice(["rf", "lr", "gb"]),
            team="x" if rng.random() < 0.05 else rng.choice("abc"),
            owner=rng.choice(["ann", "bo"]) if rng.random() < 0.3 else None,
            auc=rng.random(),
            loss=rng.random(),
            val_loss=rng.random() if i % 2 else None,
        )
        for i in range(n)
    ]


def populate_triops(ws: Workspace, data: list[FakeRun]) -> None:
    """Bulk-load runs into our tables (one transaction), as an import would, then ``ANALYZE``."""
    from triops.store.repositories import runs as repo
    from triops.store.tables import latest_metrics, metrics, params, runs, tags

    now = int(time.time() * 1000)

    def write(conn: Any) -> None:
        project_id = repo.ensure_project(conn, "search", now)
        run_rows, param_rows, tag_rows, metric_rows = [], [], [], []
        for i, r in enumerate(data):
            start = now + i
            run_rows.append(
                {
                    "id": r.id,
                    "project_id": project_id,
                    "name": r.name,
                    "kind": "tracked",
                    "status": r.status,
                    "start_ms": start,
                    "end_ms": start + 1,
                    "user_name": "bench",
                }
            )
            param_rows.append({"run_id": r.id, "key": "model", "value": r.model})
            tag_rows.append({"run_id": r.id, "key": "team", "value": r.team})
            if r.owner is not None:
                tag_rows.append({"run_id": r.id, "key": "owner", "value": r.owner})
            for key, value in (("auc", r.auc), ("loss", r.loss), ("val loss", r.val_loss)):
                if value is not None:
                    metric_rows.append(
                        {
                            "run_id": r.id,
                            "key": key,
                            "value": value,
                            "is_nan": False,
                            "step": 0,
                            "timestamp_ms": start,
                        }
                    )
        conn.execute(runs.insert(), run_rows)
        conn.execute(params.insert(), param_rows)
        conn.execute(tags.insert(), tag_rows)
        conn.execute(metrics.insert(), metric_rows)
        conn.execute(latest_metrics.insert(), metric_rows)

    ws.store.write(write)
    with ws.store.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


def populate_mlflow(tmp: Path, data: list[FakeRun]) -> tuple[Any, str]:
    """The same runs in MLflow's own SQLite schema: one run made by MLflow, cloned row by row in SQL, then
    ``ANALYZE``."""
    import sqlite3

    import mlflow
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp}/mlflow-search.db"
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    exp_id = client.create_experiment("search")
    template = client.create_run(exp_id)
    client.log_metric(template.info.run_id, "auc", 0.5)
    client.log_param(template.info.run_id, "model", "rf")
    client.set_tag(template.info.run_id, "team", "a")
    client.set_terminated(template.info.run_id)
    con = sqlite3.connect(f"{tmp}/mlflow-search.db")
    cols = [c[1] for c in con.execute("PRAGMA table_info(runs)")]
    base = dict(
        zip(
            cols,
            con.execute("SELECT * FROM runs WHERE run_uuid = ?", (template.info.run_id,)).fetchone(),
            strict=True,
        )
    )
    for table in ("latest_metrics", "metrics", "params", "tags", "runs"):
        con.execute(f"DELETE FROM {table}")
    run_rows, metric_rows, param_rows, tag_rows = [], [], [], []
    for i, r in enumerate(data):
        rid = r.id.replace("-", "")
        start = base["start_time"] + i
        values = {**base, "run_uuid": rid, "name": r.name, "status": r.status, "start_time": start}
        run_rows.append(tuple(values[c] for c in cols))
        for key, value in (("auc", r.auc), ("loss", r.loss), ("val loss", r.val_loss)):
            if value is not None:
                metric_rows.append((key, value, start, 0, 0, rid))
        param_rows.append(("model", r.model, rid))
        tag_rows.append(("team", r.team, rid))
        tag_rows.append(("mlflow.runName", r.name, rid))
        if r.owner is not None:
            tag_rows.append(("owner", r.owner, rid))
    con.executemany(f"INSERT INTO runs ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", run_rows)
    for table in ("metrics", "latest_metrics"):
        con.executemany(
            f"INSERT INTO {table} (key, value, timestamp, step, is_nan, run_uuid) VALUES (?,?,?,?,?,?)",
            metric_rows,
        )
    con.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?,?,?)", param_rows)
    con.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?,?,?)", tag_rows)
    con.commit()
    con.execute("ANALYZE")
    con.commit()
    con.close()
    return client, exp_id


@dataclass(frozen=True)
class Shape:
    """A documented search shape (docs/tracking.md), and MLflow's spelling of it (None: MLflow cannot)."""

    filter: str
    order_by: tuple[str, ...] = ()
    mlflow_filter: str | None = None
    mlflow_order: tuple[str, ...] = ()
    why_no_peer: str = ""


SHAPES = [
    Shape(
        "metrics.auc > 0.8 and params.model = 'rf'",
        ("metrics.auc desc",),
        "metrics.auc > 0.8 and params.model = 'rf'",
        ("metrics.auc DESC",),
    ),
    Shape(
        "metrics.auc > 0.8 and params.model = 'rf' and tags.team = 'x'",
        (),
        "metrics.auc > 0.8 and params.model = 'rf' and tags.team = 'x'",
    ),
    Shape(
        "(metrics.loss < 0.1 or metrics.`val loss` <= 0.2) and not status = 'FAILED'",
        why_no_peer="MLflow's search has no OR and no NOT",
    ),
    Shape(
        "params.model in ('rf', 'gb') and tags.owner is not null and name like 'cv-%'",
        why_no_peer="MLflow has no IN on params",
    ),
    Shape(
        "params.model != 'lr' and tags.owner is not null and name like 'cv-%'",
        (),
        "params.model != 'lr' and tags.owner IS NOT NULL and attributes.run_name LIKE 'cv-%'",
    ),
    Shape("status = 'FAILED'", (), "attributes.status = 'FAILED'"),
    Shape("name ilike 'CV-1%'", (), "attributes.run_name ILIKE 'CV-1%'"),
    Shape("tags.owner is null", ("metrics.auc desc",), "tags.owner IS NULL", ("metrics.auc DESC",)),
    Shape(
        "metrics.`val loss` <= 0.2 and tags.team != 'a'",
        (),
        "metrics.`val loss` <= 0.2 and tags.team != 'a'",
    ),
    Shape("", ("start_time",), "", ("attributes.start_time ASC",)),
    Shape("", ("params.model asc",), "", ("params.model ASC",)),
    Shape("", ("metrics.`val loss` desc",), "", ("metrics.`val loss` DESC",)),
    Shape("", (), ""),
]


def best_of(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def mlflow_search(client: Any, exp_id: str, shape: Shape, limit: int, expected: list[str]) -> float:
    """MLflow's best time for ``shape``, after checking it finds the same runs in the same order as ours."""

    def search() -> Any:
        return client.search_runs(
            [exp_id], shape.mlflow_filter, order_by=list(shape.mlflow_order), max_results=limit
        )

    found = [r.info.run_name for r in search()]
    if found != expected:
        raise AssertionError(f"MLflow found {found[:3]}…, triops {expected[:3]}…")
    return best_of(search, 3)


def bench_search(report: Report, tmp: Path, n_runs: int, limit: int = 100) -> None:
    data = make_runs(n_runs)
    ws = Workspace.open(f"sqlite:///{tmp}/search.db", settings=Settings(home=tmp))
    with console.status(f"loading {n_runs:,} runs into triops…"):
        populate_triops(ws, data)
    with console.status(f"loading {n_runs:,} runs into MLflow…"):
        mlflow_setup, why = measure_peer(lambda: populate_mlflow(tmp, data))
    for shape in SHAPES:
        query = {
            "project": "search",
            "filter": shape.filter,
            "order_by": list(shape.order_by),
            "limit": limit,
        }
        ours_names = [r.name for r in ws.runs.search(**query)]
        ours = best_of(partial(ws.runs.search, **query), 5)
        label = f"search {n_runs // 1000}k runs: {shape.filter or '(no filter)'}" + (
            f" order by {', '.join(shape.order_by)}" if shape.order_by else ""
        )
        if shape.mlflow_filter is None:
            report.row(label, ours * 1000, "ms", limit=100, note=shape.why_no_peer)
            continue
        peer, note = None, why
        if mlflow_setup is not None:
            client, exp_id = mlflow_setup
            peer, note = measure_peer(partial(mlflow_search, client, exp_id, shape, limit, ours_names))
        report.row(
            label,
            ours * 1000,
            "ms",
            peer=None if peer is None else peer * 1000,
            peer_name="MLflow",
            note=note,
            limit=100,
        )
    ws.close()


def startup(cmd: list[str], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    args = parse_args(__doc__)
    report = Report.from_args("benchmarks/tracking.py", args)
    n_local = 200_000 if args.quick else 1_000_000
    n_calls = 300 if args.quick else 1_000
    n_remote = 100_000 if args.quick else 500_000
    n_search = 10_000 if args.quick else 100_000
    tmp = Path(tempfile.mkdtemp(prefix="triops-bench-"))
    try:
        with console.status("log_metric, same N both sides…"):
            ours_calls = max(bench_log_metric(tmp, n_calls, f"calls-{i}") for i in range(3))
            peer_calls, why = measure_peer(lambda: bench_mlflow_log_metric(tmp, n_calls))
        report.row(
            f"log_metric, {n_calls:,} calls into SQLite (same N both sides)",
            ours_calls,
            "metrics/s",
            peer=peer_calls,
            peer_name="MLflow",
            note=why,
            higher_is_better=True,
            min_ratio=100,
        )
        with console.status("log_metric into SQLite…"):
            ours = bench_log_metric(tmp, n_local)
        report.row(
            f"log_metric, {n_local:,} calls into SQLite",
            ours,
            "metrics/s",
            higher_is_better=True,
            limit=100_000,
        )
        with console.status("log_metric over HTTP…"):
            remote = bench_remote(tmp, n_remote)
        report.row(
            f"log_metric over HTTP, {n_remote:,} calls",
            remote,
            "metrics/s",
            higher_is_better=True,
            limit=20_000,
        )
        bench_search(report, tmp, n_search)
        python = sys.executable
        bin_dir = Path(python).parent
        base = startup([python, "-c", "pass"])
        imp = startup([python, "-c", "import triops"]) - base
        imp_peer, why = measure_peer(lambda: startup([python, "-c", "import mlflow"]) - base)
        report.row(
            "import triops (beyond interpreter start)",
            imp * 1000,
            "ms",
            peer=None if imp_peer is None else imp_peer * 1000,
            peer_name="import mlflow",
            note=why,
            limit=150,
        )
        helps = startup([str(bin_dir / "triops"), "--help"])
        help_peer, why = measure_peer(lambda: startup([str(bin_dir / "mlflow"), "--help"]))
        report.row(
            "triops --help (whole command)",
            helps * 1000,
            "ms",
            peer=None if help_peer is None else help_peer * 1000,
            peer_name="mlflow --help",
            note=why,
            limit=300,
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report.note(
        "search: both stores ANALYZEd; MLflow's figure is measured only where its search language has the shape"
    )
    report.finish()


if __name__ == "__main__":
    main()
