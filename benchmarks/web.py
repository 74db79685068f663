"""Web app benchmark: page times of the triops web app on a large store, beside MLflow's UI search endpoint.

1. Every page at p95 ≤ 300 ms (measured at the client on loopback, so it bounds the server time) on a store
   with 100,000 runs, 1,000,000 metrics, 10,000 cost records and 1,000 audit events, logged in through a
   session cookie as a user would be.
2. The runs page with a filter (``metrics.m0 > 0.5``, sorted by it, 50 a page) against MLflow's UI search
   endpoint (``POST /ajax-api/2.0/mlflow/runs/search``, same filter, order and page size) on the same runs and
   metrics: target ≥ 10× faster at p50.

Both servers run as their own processes on loopback with one worker. A peer that is not installed or does not
start counts as NOT MEASURED and fails the run unless ``--allow-missing``.
Run: ``.venv-bench/bin/python benchmarks/web.py [--quick] [--allow-missing] [--pages-only]`` (``--pages-only``
skips MLflow, whose search row then shows "not measured"; its endpoint took 15 s a call at 10,000 runs).
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
import api as common
from _report import Report, measure_peer, parse_args

N_METRICS_PER_RUN = 10
PAGE = 50


def percentile_ms(fn: Callable[[], Any], n: int, q: float) -> float:
    for _ in range(min(5, n)):
        fn()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[min(len(times) - 1, int(q * len(times)))] * 1000


def value(run: int, key: int) -> float:
    return ((run * 7919 + key * 104729) % 10_000) / 10_000


def prepare_triops(home: Path, n_runs: int, n_costs: int, n_audit: int) -> str:
    from triops.domain.clock import utc_ms
    from triops.domain.ids import new_id
    from triops.domain.usage import UsageRecord
    from triops.store.audit import append_event
    from triops.store.repositories import runs as runs_repo
    from triops.store.tables import latest_metrics, metrics, params
    from triops.store.tables import runs as runs_table

    opened, ws, token = common.bench_admin(home)
    now = utc_ms(opened.clock.now())

    def add_runs(conn: Any) -> None:
        project_id = runs_repo.ensure_project(conn, "bench", now)
        for start in range(0, n_runs, 10_000):
            ids = [str(uuid.uuid4()) for _ in range(start, min(n_runs, start + 10_000))]
            conn.execute(runs_table.insert(), [
                {"id": rid, "project_id": project_id, "name": f"r{start + i}", "status": "FINISHED",
                 "kind": "tracked", "start_ms": now - n_runs + start + i, "end_ms": now - n_runs + start + i + 1,
                 "user_name": "bench"} for i, rid in enumerate(ids)
            ])  # fmt: skip
            rows = [
                {"run_id": rid, "key": f"m{k}", "value": value(start + i, k), "is_nan": False, "step": 0,
                 "timestamp_ms": now} for i, rid in enumerate(ids) for k in range(N_METRICS_PER_RUN)
            ]  # fmt: skip
            conn.execute(metrics.insert(), rows)
            conn.execute(latest_metrics.insert(), rows)
            conn.execute(params.insert(), [{"run_id": rid, "key": "model", "value": "ab"[i % 2]}
                                           for i, rid in enumerate(ids)])  # fmt: skip

    ws.store.write(add_runs)
    usage = [
        UsageRecord(id=new_id(), run_id=f"run-{i % 500}", step_run_id=None, project="bench", pipeline="train",
                    step=f"s{i % 7}", started_ms=now - 3_600_000 - i, ended_ms=now - i, wall_s=60.0, cpu_s=30.0,
                    peak_rss_bytes=1 << 28, bytes_read=0, bytes_written=0, gpu_s=0.0, gpu_model=None,
                    requested_cpu=1.0, requested_memory_gb=1.0, environment="local", tags={"team": "ml"})
        for i in range(n_costs)
    ]  # fmt: skip
    ws.finops.record_usage(usage)

    def add_events(conn: Any) -> None:
        for i in range(n_audit):
            append_event(conn, actor="bench", action="bench.event", object_type="bench", object_id=str(i),
                         before=None, after={"i": i}, project="bench", at_ms=now)  # fmt: skip

    ws.store.write(add_events)
    opened.close()
    return str(token)


def prepare_mlflow(home: Path, n_runs: int) -> str | None:
    """The same runs and metrics in MLflow's own schema (cloned in SQL from one run MLflow made)."""
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        return None
    uri = f"sqlite:///{home}/mlflow.db"
    client = MlflowClient(uri)
    exp_id = client.create_experiment("bench")
    template = client.create_run(exp_id)
    client.set_terminated(template.info.run_id)
    con = sqlite3.connect(f"{home}/mlflow.db")
    cols = [c[1] for c in con.execute("PRAGMA table_info(runs)")]
    base = dict(zip(cols, con.execute("SELECT * FROM runs WHERE run_uuid = ?", (template.info.run_id,)).fetchone(),
                    strict=True))  # fmt: skip
    con.execute("DELETE FROM runs WHERE run_uuid = ?", (template.info.run_id,))
    for start in range(0, n_runs, 10_000):
        run_rows, metric_rows = [], []
        for i in range(start, min(n_runs, start + 10_000)):
            rid = uuid.uuid4().hex
            values = {**base, "run_uuid": rid, "name": f"r{i}", "start_time": base["start_time"] + i}
            run_rows.append(tuple(values[c] for c in cols))
            metric_rows += [
                (f"m{k}", value(i, k), base["start_time"], rid, 0, 0) for k in range(N_METRICS_PER_RUN)
            ]
        con.executemany(
            f"INSERT INTO runs ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", run_rows
        )
        con.executemany("INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?,?,?,?,?,?)",
                        metric_rows)  # fmt: skip
        con.executemany(
            "INSERT INTO latest_metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?,?,?,?,?,?)",
            metric_rows,
        )
    con.commit()
    con.close()
    return exp_id


def login(url: str, token: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=120)
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert csrf is not None
    answer = client.post("/login", data={"csrf": csrf.group(1), "token": token, "next": "/"})
    assert answer.status_code == 303, answer.text
    return client


def pages(client: httpx.Client) -> dict[str, str]:
    runs = re.findall(r'href="/runs/([0-9a-f-]{36})"', client.get("/runs").text)
    return {
        "scorecard": "/",
        "projects": "/projects",
        "runs": "/runs",
        "runs, filtered and sorted": "/runs?filter=metrics.m0+%3E+0.5&sort=metrics.m0+desc",
        "run": f"/runs/{runs[0]}",
        "compare 3 runs": "/runs/compare?" + "&".join(f"run={r}" for r in runs[:3]),
        "pipelines": "/pipelines",
        "datasets": "/datasets",
        "models": "/models",
        "costs": "/costs?by=step",
        "cost outlook (forecast, recommendations)": "/costs/outlook",
        "governance": "/governance",
        "monitoring": "/monitoring",
    }


def main() -> None:
    args = parse_args(__doc__, **{"--pages-only": "time the pages only: MLflow is not prepared or asked"})
    report = Report.from_args("benchmarks/web.py", args)
    n_runs = 10_000 if args.quick else 100_000
    n_calls = 30 if args.quick else 100
    tmp = Path(tempfile.mkdtemp(prefix="triops-bench-web-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        (tmp / "triops").mkdir()
        (tmp / "mlflow").mkdir()
        print(
            f"preparing: {n_runs:,} runs, {n_runs * N_METRICS_PER_RUN:,} metrics, 10,000 costs, 1,000 events"
        )
        token = prepare_triops(tmp / "triops", n_runs, 10_000, 1_000)
        exp_id, why = None, "skipped (--pages-only)"
        if not args.pages_only:
            exp_id, why = measure_peer(lambda: prepare_mlflow(tmp / "mlflow", n_runs))
        proc, url = common.start_triops(tmp / "triops")
        procs.append(proc)
        peer = None
        if exp_id is not None:
            peer, why = measure_peer(lambda: common.start_mlflow(tmp / "mlflow"))
        if peer is not None:
            procs.append(peer[0])
        client = login(url, token)
        paths = pages(client)
        for name, path in paths.items():
            assert client.get(path).status_code == 200, path
            p95 = percentile_ms(lambda path=path: client.get(path).raise_for_status(), n_calls, 0.95)
            report.row(f"page {name}, p95", p95, "ms", limit=300, note="no peer has these pages")
        ours = percentile_ms(
            lambda: client.get(paths["runs, filtered and sorted"]).raise_for_status(), n_calls, 0.5
        )
        theirs = None
        if peer is not None:
            body = {"experiment_ids": [exp_id], "filter": "metrics.m0 > 0.5", "max_results": PAGE,
                    "order_by": ["metrics.m0 DESC"], "run_view_type": "ACTIVE_ONLY"}  # fmt: skip

            def search() -> float:
                with httpx.Client(base_url=peer[1], timeout=120) as mlflow:
                    found = (
                        mlflow.post("/ajax-api/2.0/mlflow/runs/search", json=body).raise_for_status().json()
                    )
                    assert len(found.get("runs", [])) == PAGE
                    return percentile_ms(
                        lambda: mlflow.post("/ajax-api/2.0/mlflow/runs/search", json=body).raise_for_status(),
                        n_calls,
                        0.5,
                    )

            theirs, why = measure_peer(search)
        report.row(
            f"runs page, filter + sort, {PAGE} of {n_runs:,} runs, p50", ours, "ms", peer=theirs,
            peer_name="MLflow UI search endpoint", note=why, min_ratio=10,
        )  # fmt: skip
        client.close()
    finally:
        for proc in procs:
            common.stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    report.finish()


if __name__ == "__main__":
    main()
