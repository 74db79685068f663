"""Tracking benchmark: metric logging (local and over HTTP), run search over 100,000 runs, start-up time.

Every figure is measured in this run, beside MLflow (installed only in the bench venv) where MLflow does the
same thing. Run: ``.venv-bench/bin/python benchmarks/tracking.py [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from triops import Workspace
from triops.settings import Settings

console = Console()
ROWS: list[tuple[str, str, str, str, str, str]] = []


def row(measure: str, ours: float, peer: float | None, unit: str, target: str, ok: bool) -> None:
    ratio = (
        "-"
        if peer is None or peer == 0
        else f"{ours / peer:,.1f}×"
        if unit.endswith("/s")
        else f"{peer / ours:,.1f}×"
    )
    peer_text = "peer not installed" if peer is None else f"{peer:,.3g} {unit}"
    ROWS.append(
        (measure, f"{ours:,.4g} {unit}", peer_text, ratio, target, "[green]PASS[/]" if ok else "[red]FAIL[/]")
    )


def bench_log_metric(tmp: Path, n: int) -> float:
    ws = Workspace.open(f"sqlite:///{tmp}/log.db", settings=Settings(home=tmp))
    with ws.start_run("bench") as run:
        start = time.perf_counter()
        for i in range(n):
            run.log_metric("loss", 0.5, i)
        run.flush()
        elapsed = time.perf_counter() - start
    ws.close()
    return n / elapsed


def bench_mlflow_log_metric(tmp: Path, n: int) -> float | None:
    try:
        import mlflow
    except ImportError:
        return None
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


def populate_triops(ws: Workspace, runs: list[tuple[str, float, str, str]]) -> None:
    """Bulk-load runs through the store's repository functions (one transaction), as an import would."""
    from triops.store.repositories import runs as repo

    now = int(time.time() * 1000)

    def write(conn: Any) -> None:
        project_id = repo.ensure_project(conn, "search", now)
        for i, (run_id, auc, model, team) in enumerate(runs):
            repo.create_run(
                conn,
                run_id=run_id,
                project_id=project_id,
                name=f"r{i}",
                kind="tracked",
                start_ms=now + i,
                user_name="bench",
                tags={"team": team},
            )
            repo.log_params(conn, run_id, {"model": model})
            repo.insert_metrics(conn, run_id, [("auc", auc, 0, now + i)])
            repo.finish_run(conn, run_id, "FINISHED", now + i + 1, None)

    ws.store.write(write)


def populate_mlflow(tmp: Path, runs: list[tuple[str, float, str, str]]) -> tuple[Any, str] | None:
    """The same runs in MLflow's own SQLite schema: one run made by MLflow, cloned row by row in SQL."""
    try:
        import mlflow
        from mlflow.tracking import MlflowClient
    except ImportError:
        return None
    import sqlite3

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
    con.execute("DELETE FROM latest_metrics")
    con.execute("DELETE FROM metrics")
    con.execute("DELETE FROM params")
    con.execute("DELETE FROM tags")
    con.execute("DELETE FROM runs")
    run_rows, metric_rows, param_rows, tag_rows = [], [], [], []
    for i, (_, auc, model, team) in enumerate(runs):
        rid = uuid.uuid4().hex
        values = {**base, "run_uuid": rid, "name": f"r{i}", "start_time": base["start_time"] + i}
        run_rows.append(tuple(values[c] for c in cols))
        metric_rows.append(("auc", auc, base["start_time"] + i, 0, 0, rid))
        param_rows.append(("model", model, rid))
        tag_rows.append(("team", team, rid))
    con.executemany(f"INSERT INTO runs ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", run_rows)
    for table in ("metrics", "latest_metrics"):
        con.executemany(
            f"INSERT INTO {table} (key, value, timestamp, step, is_nan, run_uuid) VALUES (?,?,?,?,?,?)",
            metric_rows,
        )
    con.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?,?,?)", param_rows)
    con.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?,?,?)", tag_rows)
    con.commit()
    con.close()
    return client, exp_id


def best_of(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_search(tmp: Path, n_runs: int) -> tuple[float, float | None, int]:
    rng = random.Random(7)
    data = [
        (str(uuid.uuid4()), rng.random(), rng.choice(["rf", "lr", "gb"]), rng.choice("abc"))
        for _ in range(n_runs)
    ]
    ws = Workspace.open(f"sqlite:///{tmp}/search.db", settings=Settings(home=tmp))
    populate_triops(ws, data)
    query = {
        "project": "search",
        "filter": "metrics.auc > 0.8 and params.model = 'rf'",
        "order_by": ["metrics.auc desc"],
        "limit": 100,
    }
    found = ws.runs.search(**query)
    expected = sorted((d for d in data if d[1] > 0.8 and d[2] == "rf"), key=lambda d: -d[1])[:100]
    assert [r.id for r in found] == [d[0] for d in expected], "search returned the wrong runs"
    ours = best_of(lambda: ws.runs.search(**query), 5)
    ws.close()
    mlflow_setup = populate_mlflow(tmp, data)
    peer = None
    if mlflow_setup is not None:
        client, exp_id = mlflow_setup

        def search() -> Any:
            return client.search_runs(
                [exp_id],
                "metrics.auc > 0.8 and params.model = 'rf'",
                order_by=["metrics.auc DESC"],
                max_results=100,
            )

        assert len(search()) == len(expected)
        peer = best_of(search, 3)
    return ours, peer, n_runs


def startup(cmd: list[str], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller sizes for a smoke run")
    args = parser.parse_args()
    n_local = 200_000 if args.quick else 1_000_000
    n_mlflow = 100 if args.quick else 300
    n_remote = 100_000 if args.quick else 500_000
    n_search = 10_000 if args.quick else 100_000
    tmp = Path(tempfile.mkdtemp(prefix="triops-bench-"))
    try:
        with console.status("log_metric into SQLite…"):
            ours = bench_log_metric(tmp, n_local)
            peer = bench_mlflow_log_metric(tmp, n_mlflow)
        row(
            f"log_metric, local SQLite ({n_local:,})",
            ours,
            peer,
            "metrics/s",
            "≥ 100,000/s and ≥ 100× MLflow",
            ours >= 100_000 and (peer is None or ours >= 100 * peer),
        )
        with console.status("log_metric over HTTP…"):
            remote = bench_remote(tmp, n_remote)
        row(
            f"log_metric, remote HTTP ({n_remote:,})",
            remote,
            None,
            "metrics/s",
            "≥ 20,000/s",
            remote >= 20_000,
        )
        with console.status(f"search over {n_search:,} runs…"):
            ours_s, peer_s, n = bench_search(tmp, n_search)
        row(
            f"runs.search filter+order, {n:,} runs",
            ours_s * 1000,
            None if peer_s is None else peer_s * 1000,
            "ms",
            "≤ 100 ms",
            ours_s <= 0.1,
        )
        python = sys.executable
        base = startup([python, "-c", "pass"])
        imp = startup([python, "-c", "import triops"]) - base
        imp_peer = (
            startup([python, "-c", "import mlflow"]) - base
            if (Path(python).parent / "mlflow").exists()
            else None
        )
        row(
            "import triops (beyond interpreter start)",
            imp * 1000,
            None if imp_peer is None else imp_peer * 1000,
            "ms",
            "≤ 150 ms",
            imp <= 0.150,
        )
        bin_dir = Path(python).parent
        helps = startup([str(bin_dir / "triops"), "--help"])
        help_peer = startup([str(bin_dir / "mlflow"), "--help"]) if (bin_dir / "mlflow").exists() else None
        row(
            "triops --help (whole command)",
            helps * 1000,
            None if help_peer is None else help_peer * 1000,
            "ms",
            "≤ 300 ms",
            helps <= 0.300,
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    table = Table(
        "measure",
        "triops",
        "peer (MLflow, same run)",
        "ratio",
        "target",
        "result",
        title="benchmarks/tracking.py",
    )
    for r in ROWS:
        table.add_row(*r)
    console.print(table)
    if not all("PASS" in r[5] for r in ROWS):
        sys.exit(1)


if __name__ == "__main__":
    main()
