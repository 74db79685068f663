"""API benchmark: the triops server as users reach it over HTTP, beside MLflow's server in the same run.

1. Model registry round trips (list, get, stage) at p50 on one uvicorn worker: ≤ 5 ms each (MLflow's
   registry routes timed the same way, for the ratio; our call and MLflow's alternate).
2. A FOCUS 1.2 export of 1,000,000 cost lines streamed over HTTP: ≥ 200,000 rows/s (no peer has the route).
3. Listing 100,000 runs page by page with cursors (1,000 a page): ≥ 10× MLflow's ``search_runs`` page walk
   with page tokens against its server, same runs, same page size.

Both servers run as their own processes on loopback with one worker; both clients are plain ``httpx``.
A peer that is not installed or does not start counts as NOT MEASURED and fails the run (unless
``--allow-missing``). Run: ``.venv-bench/bin/python benchmarks/api.py [--quick] [--allow-missing]``.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from _report import Report, measure_peer, parse_args
from rich.console import Console

console = Console()
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, proc: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"server at {url} did not start")
        time.sleep(0.2)


# ------------------------------------------------------------------------------------------ triops side


def bench_admin(home: Path) -> tuple[Any, Any, str]:
    """The store at ``home``, a view of it acting as the admin ``bench``, and bench's token: the server acts for
    the token's user, and a local store's own principal is its OS user, so the benchmarks act for bench too."""
    from triops import Workspace
    from triops.domain.clock import utc_ms
    from triops.governance import roles
    from triops.governance.rbac import Principal
    from triops.settings import Settings
    from triops.store.repositories.tokens import create_token

    opened = Workspace.open(f"sqlite:///{home}/triops.db", settings=Settings(home=home))
    now = utc_ms(opened.clock.now())
    _, token = opened.store.write(lambda conn: create_token(conn, "bench", "bench", now))
    roles.grant(opened.store, Principal.owner("root"), "bench", "admin", None)
    with opened.store.connect() as conn:
        ws = opened.acting_as(roles.load_principal(conn, "bench"))
    return opened, ws, str(token)


def prepare_triops(home: Path, n_runs: int, n_focus_lines: int) -> str:
    """The store the triops server will serve: an admin token, one model, runs, priced usage."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from triops.domain.clock import utc_ms
    from triops.domain.ids import new_id
    from triops.domain.usage import UsageRecord
    from triops.store.repositories import runs as runs_repo
    from triops.store.tables import runs as runs_table

    opened, ws, token = bench_admin(home)
    now = utc_ms(opened.clock.now())
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"a": rng.random(200), "b": rng.random(200)})
    ws.models.register("bench-model", LogisticRegression().fit(x, (x.a > 0.5).astype(int)), git_commit=None)

    def add_runs(conn: Any) -> None:
        project_id = runs_repo.ensure_project(conn, "walk", now)
        rows = [
            {
                "id": str(uuid.uuid4()),
                "project_id": project_id,
                "name": f"r{i}",
                "status": "FINISHED",
                "kind": "tracked",
                "start_ms": now - n_runs + i,
                "end_ms": now - n_runs + i + 1,
                "user_name": "bench",
            }
            for i in range(n_runs)
        ]
        conn.execute(runs_table.insert(), rows)

    ws.store.write(add_runs)
    records = [
        UsageRecord(
            id=new_id(),
            run_id="bench-run",
            step_run_id=None,
            project="walk",
            pipeline="train",
            step=f"s{i % 7}",
            started_ms=now - 3_600_000 - i,
            ended_ms=now - i,
            wall_s=3600.0,
            cpu_s=1800.0,
            peak_rss_bytes=1 << 29,
            bytes_read=1 << 20,
            bytes_written=1 << 20,
            gpu_s=0.0,
            gpu_model=None,
            requested_cpu=1.0,
            requested_memory_gb=1.0,
            environment="local",
            tags={"team": "ml"},
        )
        for i in range(n_focus_lines // 3 + 1)  # cpu, memory and network: three FOCUS lines each
    ]
    for start in range(0, len(records), 50_000):
        ws.finops.record_usage(records[start : start + 50_000])
    opened.close()
    return str(token)


def start_triops(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "triops"), "--store", f"sqlite:///{home}/triops.db", "server", "--port", str(port)],
        env={**os.environ, "TRIOPS_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_for(f"{url}/healthz", proc)
    return proc, url


def triops_registry(client: httpx.Client, n: int) -> dict[str, Callable[[], Any]]:
    stages = iter(["staging", "development"] * (n + 40))

    def stage() -> None:
        client.put(
            "/api/v1/models/bench-model/versions/1/stage", json={"stage": next(stages)}
        ).raise_for_status()

    return {
        "list": lambda: client.get("/api/v1/models").raise_for_status(),
        "get": lambda: client.get("/api/v1/models/bench-model/versions/1").raise_for_status(),
        "stage": stage,
    }


def registry_p50(
    ours: dict[str, Callable[[], Any]], peer: dict[str, Callable[[], Any]] | None, n: int
) -> tuple[dict[str, float], dict[str, float]]:
    """p50 in ms of each operation; our call and the peer's alternate, so that a busy spell of a shared
    machine weighs on both sides alike."""
    out: tuple[dict[str, float], dict[str, float]] = ({}, {})
    for op, fn in ours.items():
        sides: list[tuple[Callable[[], Any], list[float]]] = [(fn, [])]
        if peer is not None:
            sides.append((peer[op], []))
        for _ in range(min(20, n)):
            for call, _times in sides:
                call()  # warm the connection and caches
        for _ in range(n):
            for call, times in sides:
                start = time.perf_counter()
                call()
                times.append(time.perf_counter() - start)
        for (_call, times), result in zip(sides, out, strict=False):
            result[op] = statistics.median(times) * 1000
    return out


def triops_focus(client: httpx.Client) -> tuple[float, int]:
    # the rate is a running server's: a first export imports polars and the FOCUS code (~0.5 s of CPU once
    # per server process), so an export of a month with no costs runs first, untimed
    client.get("/api/v1/finops/focus", params={"format": "csv", "period": "1999-01"}).raise_for_status()
    start = time.perf_counter()
    with client.stream("GET", "/api/v1/finops/focus", params={"format": "csv"}, timeout=None) as response:
        response.raise_for_status()
        lines = sum(chunk.count(b"\n") for chunk in response.iter_bytes(1 << 20)) - 1  # minus the header
        rows = int(response.headers["x-triops-rows"])
    elapsed = time.perf_counter() - start
    assert lines == rows, f"streamed {lines} lines, header says {rows}"
    return rows / elapsed, rows


def triops_walk(client: httpx.Client, page: int) -> tuple[float, int]:
    seen, cursor = 0, None
    start = time.perf_counter()
    while True:
        params: dict[str, Any] = {"project": "walk", "limit": page} | ({"cursor": cursor} if cursor else {})
        body = client.get("/api/v1/runs", params=params, timeout=None).raise_for_status().json()
        seen += len(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return time.perf_counter() - start, seen


# ------------------------------------------------------------------------------------------ MLflow side


def prepare_mlflow(home: Path, n_runs: int) -> bool:
    """MLflow's own SQLite schema: one experiment, one registered model version, and n runs cloned in SQL
    from one run MLflow made (as benchmarks/tracking.py does)."""
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        return False
    uri = f"sqlite:///{home}/mlflow.db"
    client = MlflowClient(uri, registry_uri=uri)
    exp_id = client.create_experiment("walk")
    template = client.create_run(exp_id)
    client.set_terminated(template.info.run_id)
    client.create_registered_model("bench-model")
    client.create_model_version("bench-model", source=str(home / "model"), run_id=template.info.run_id)
    con = sqlite3.connect(f"{home}/mlflow.db")
    cols = [c[1] for c in con.execute("PRAGMA table_info(runs)")]
    base = dict(
        zip(
            cols,
            con.execute("SELECT * FROM runs WHERE run_uuid = ?", (template.info.run_id,)).fetchone(),
            strict=True,
        )
    )
    rows = []
    for i in range(n_runs - 1):
        values = {**base, "run_uuid": uuid.uuid4().hex, "name": f"r{i}", "start_time": base["start_time"] + i}
        rows.append(tuple(values[c] for c in cols))
    con.executemany(f"INSERT INTO runs ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", rows)
    con.commit()
    con.close()
    (home / "experiment").write_text(exp_id)
    return True


def start_mlflow(home: Path) -> tuple[subprocess.Popen[bytes], str] | None:
    exe = BIN / "mlflow"
    if not exe.exists():
        return None
    port = free_port()
    command = [str(exe), "server", "--backend-store-uri", f"sqlite:///{home}/mlflow.db"]
    command += ["--default-artifact-root", str(home / "mlartifacts"), "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", "1"]
    proc = subprocess.Popen(
        command,
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its workers are stopped with it (see stop())
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/health", proc, seconds=180)
    except RuntimeError:
        stop(proc)
        return None
    return proc, url


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server and the workers it started (a server in its own session is stopped as a group)."""
    import signal

    try:
        if os.getpgid(proc.pid) == proc.pid:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.terminate()
        proc.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        proc.kill()


def mlflow_registry(client: httpx.Client, n: int) -> dict[str, Callable[[], Any]]:
    api = "/api/2.0/mlflow"
    stages = iter(["Staging", "None"] * (n + 40))

    def stage() -> None:
        body = {
            "name": "bench-model",
            "version": "1",
            "stage": next(stages),
            "archive_existing_versions": False,
        }
        client.post(f"{api}/model-versions/transition-stage", json=body).raise_for_status()

    return {
        "list": lambda: client.get(f"{api}/registered-models/search").raise_for_status(),
        "get": lambda: client.get(
            f"{api}/model-versions/get", params={"name": "bench-model", "version": "1"}
        ).raise_for_status(),
        "stage": stage,
    }


def mlflow_walk(client: httpx.Client, home: Path, page: int) -> tuple[float, int]:
    exp_id = (home / "experiment").read_text()
    seen, token = 0, None
    start = time.perf_counter()
    while True:
        body: dict[str, Any] = {"experiment_ids": [exp_id], "max_results": page} | (
            {"page_token": token} if token else {}
        )
        answer = client.post("/api/2.0/mlflow/runs/search", json=body, timeout=None).raise_for_status().json()
        seen += len(answer.get("runs", []))
        token = answer.get("next_page_token")
        if not token:
            return time.perf_counter() - start, seen


# ------------------------------------------------------------------------------------------ main


def main() -> None:
    args = parse_args(__doc__)
    report = Report.from_args("benchmarks/api.py", args)
    n_calls = 100 if args.quick else 300
    n_runs = 10_000 if args.quick else 100_000
    n_focus = 100_000 if args.quick else 1_000_000
    page = 1000
    tmp = Path(tempfile.mkdtemp(prefix="triops-bench-api-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        (tmp / "triops").mkdir()
        (tmp / "mlflow").mkdir()
        with console.status(f"preparing stores: {n_runs:,} runs, {n_focus:,} FOCUS lines…"):
            token = prepare_triops(tmp / "triops", n_runs, n_focus)
            mlflow_ready, why = measure_peer(lambda: prepare_mlflow(tmp / "mlflow", n_runs) or None)
        proc, url = start_triops(tmp / "triops")
        procs.append(proc)
        peer = None
        if mlflow_ready:
            peer, why = measure_peer(lambda: start_mlflow(tmp / "mlflow"))
        if peer is not None:
            procs.append(peer[0])
        ours_client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        peer_client = httpx.Client(base_url=peer[1], timeout=60) if peer else None

        with console.status("registry round trips…"):
            ours_calls = triops_registry(ours_client, n_calls)
            measured = None
            if peer_client is not None:
                peer_calls = mlflow_registry(peer_client, n_calls)
                measured, why = measure_peer(lambda: registry_p50(ours_calls, peer_calls, n_calls))
            ours, theirs = measured or registry_p50(ours_calls, None, n_calls)
        for op in ("list", "get", "stage"):
            report.row(
                f"registry {op}, p50 over HTTP (1 worker, {n_calls} calls)",
                ours[op],
                "ms",
                peer=theirs.get(op),
                peer_name="MLflow server",
                note=why,
                limit=5.0,
            )

        with console.status(f"walking {n_runs:,} runs by {page:,}…"):
            ours_s, ours_n = triops_walk(ours_client, page)
            peer_walk = None
            if peer_client is not None:
                peer_walk, why = measure_peer(lambda: mlflow_walk(peer_client, tmp / "mlflow", page))
        assert ours_n == n_runs, f"triops listed {ours_n} of {n_runs} runs"
        if peer_walk is not None and peer_walk[1] != n_runs:
            peer_walk, why = None, f"MLflow listed {peer_walk[1]} of {n_runs} runs"
        report.row(
            f"list {n_runs:,} runs by cursor, pages of {page:,}",
            ours_s,
            "s",
            peer=None if peer_walk is None else peer_walk[0],
            peer_name="MLflow search_runs page walk",
            note=why,
            min_ratio=10,
        )

        with console.status(f"FOCUS export of {n_focus:,} lines…"):
            rate, rows = triops_focus(ours_client)
        assert rows >= n_focus, f"export had {rows} rows, expected ≥ {n_focus}"
        report.row(
            f"FOCUS export streamed over HTTP, {rows:,} rows",
            rate,
            "rows/s",
            higher_is_better=True,
            limit=200_000,
            note="no peer has the route",
        )
        ours_client.close()
        if peer_client:
            peer_client.close()
    finally:
        for proc in procs:
            stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    report.finish()


if __name__ == "__main__":
    main()
