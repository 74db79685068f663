"""Serving benchmark: ``triops serve MODEL@ALIAS`` beside ``mlflow models serve``, same model, same run.

1. Single-row predict, one worker, prediction logging on (triops, with a bearer token): ≥ 10× MLflow's
   requests/s, and p99 ≤ 10 ms; each server's CPU per request beside (requests/s moves with the load).
2. Batch predict, 1,000-row batches: ≥ 3× MLflow's rows/s (triops columns JSON, MLflow ``dataframe_split``,
   the same rows).
3. Prediction logging into SQLite through the serving session's writer: ≥ 50,000 predictions/s sustained
   (no peer has a prediction log). The served requests of 1 and 2 are checked to be all in the log after
   the server's SIGTERM.

Both servers are their own processes on loopback with one worker, loaded by the same small asyncio
HTTP/1.1 client (keep-alive connections, ``CONCURRENCY`` in flight; latency measured per request at the
client). A peer that is not installed or does not start counts as NOT MEASURED and fails the run unless
``--allow-missing``. Run: ``.venv-bench/bin/python benchmarks/serving.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
from api import free_port, stop, wait_for  # the same server helpers as the API benchmark
from rich.console import Console
from rich.table import Table

console = Console()
ROWS: list[tuple[str, str, str, str, str, str]] = []
FAILED: list[str] = []
BIN = Path(sys.executable).parent
CONCURRENCY = 4
FEATURES = [f"x{i}" for i in range(8)] + ["age", "tenure"]


def verdict(
    measure: str, ours: float, peer: float | None, unit: str, target: str, ok: bool, *, has_peer: bool
) -> None:
    higher_is_better = unit.endswith("/s")
    if has_peer and peer is None:
        result, ok = "[red]NOT MEASURED[/]", ok and ALLOW_MISSING
    else:
        result = "[green]PASS[/]" if ok else "[red]FAIL[/]"
    if not ok:
        FAILED.append(measure)
    if peer is None or peer == 0:
        ratio = "-"
    else:
        ratio = f"{ours / peer:,.1f}×" if higher_is_better else f"{peer / ours:,.1f}×"
    peer_text = ("not measured" if has_peer else "no peer") if peer is None else f"{peer:,.4g} {unit}"
    ROWS.append((measure, f"{ours:,.4g} {unit}", peer_text, ratio, target, result))


ALLOW_MISSING = False


def data(n: int = 5000, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({name: rng.normal(0, 1, n) for name in FEATURES[:-2]})
    frame["age"] = rng.integers(18, 65, n)
    frame["tenure"] = rng.random(n) * 10
    target = ((frame.x0 + frame.tenure / 5 + rng.normal(0, 1, n)) > 1).astype(int)
    return frame, target


# ------------------------------------------------------------------------------------------ the client


async def _load(port: int, path: str, headers: str, bodies: list[bytes], concurrency: int) -> list[float]:
    """Send every body (round robin over ``concurrency`` keep-alive connections); latencies in seconds."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    latencies: list[float] = []

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{headers}"
        while not queue.empty():
            body = queue.get_nowait()
            start = time.perf_counter()
            writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
            status = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            payload = await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            if b" 200 " not in status:
                raise RuntimeError(f"{path}: {status!r} {payload[:300]!r}")
        writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def load(
    port: int, path: str, bodies: list[bytes], *, token: str | None = None
) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p99 ms) for ``bodies``."""
    headers = f"Authorization: Bearer {token}\r\n" if token else ""
    asyncio.run(_load(port, path, headers, bodies[: min(50, len(bodies))], CONCURRENCY))  # warm up
    start = time.perf_counter()
    latencies = asyncio.run(_load(port, path, headers, bodies, CONCURRENCY))
    elapsed = time.perf_counter() - start
    ms = np.asarray(latencies) * 1000
    return len(bodies) / elapsed, float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


# ------------------------------------------------------------------------------------------ triops side


def prepare_triops(home: Path, frame: pd.DataFrame, target: pd.Series) -> str:
    from sklearn.linear_model import LogisticRegression

    from triops import Workspace
    from triops.domain.clock import utc_ms
    from triops.governance import roles
    from triops.governance.rbac import Principal
    from triops.settings import Settings
    from triops.store.repositories.tokens import create_token

    ws = Workspace.open(f"sqlite:///{home}/triops.db", settings=Settings(home=home))
    model = LogisticRegression(max_iter=1000).fit(frame, target)
    version = ws.models.register("bench", model, training_frame=frame)
    assert version.onnx_sha256, version.onnx_note
    ws.models.set_alias("bench", "champion", version.version)
    _, token = ws.store.write(lambda conn: create_token(conn, "svc", "bench", utc_ms(ws.clock.now())))
    roles.grant(ws.store, Principal.owner("admin"), "svc", "contributor", None)
    ws.close()
    import skops.io as sio

    (home / "model.skops").write_bytes(sio.dumps(model))
    return str(token)


def start_triops(home: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**os.environ, "TRIOPS_HOME": str(home)}
    command = [str(BIN / "triops"), "--store", f"sqlite:///{home}/triops.db", "serve", "bench@champion"]
    proc = subprocess.Popen(
        [*command, "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(f"http://127.0.0.1:{port}/healthz", proc, seconds=180)
    return proc, port


def cpu_seconds(proc: subprocess.Popen[bytes]) -> float:
    """CPU time (user + system) of a server process and its children so far: what a request costs the
    machine, whatever the load (wall-clock rates move with the other processes on it)."""
    import psutil

    root = psutil.Process(proc.pid)
    total = 0.0
    for p in [root, *root.children(recursive=True)]:
        try:
            times = p.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def batch_load(
    proc: subprocess.Popen[bytes], port: int, path: str, bodies: list[bytes], token: str | None, settle: Any
) -> tuple[tuple[float, float, float], float]:
    """``load`` of the bodies, and the server's CPU milliseconds per request (warm-up included, logging
    included: ``settle`` waits until the server's log holds them). The CPU is what a request costs
    whatever the machine's load; requests/s moves with the other processes on it."""
    before = cpu_seconds(proc)
    result = load(port, path, bodies, token=token)
    settle()
    return result, (cpu_seconds(proc) - before) * 1000 / (min(50, len(bodies)) + len(bodies))


def logged(home: Path) -> int:
    import sqlite3

    with sqlite3.connect(home / "triops.db") as con:
        rows = con.execute("SELECT count(*) FROM predictions").fetchone()[0]
        batched = con.execute("SELECT coalesce(sum(rows), 0) FROM prediction_batches").fetchone()[0]
        return int(rows) + int(batched)


def logging_rate(home: Path, n: int) -> float:
    """Predictions/s written into SQLite by a serving session's writer, single-row entries (the worst
    case: one JSON document and one row per prediction), timed from the first ``log`` to the last row
    committed."""
    from triops import Workspace
    from triops.domain.ids import new_id
    from triops.mlops.serving.log_writer import LogEntry
    from triops.settings import Settings

    ws = Workspace.open(f"sqlite:///{home}/triops.db", settings=Settings(home=home))
    session = ws.serving.open_session()
    endpoint = session.endpoint("bench", "champion")
    policy = session._policies[endpoint.current().version.id]
    frame, _ = data(1000, seed=1)
    rows = frame.to_dict("records")
    version_id = endpoint.current().version.id
    now_ms = int(time.time() * 1000)
    # the entries requests make (their cost is in the request path, timed above); timed here: the log path
    entries = [
        LogEntry(new_id(), "bench", 1, version_id, "champion", now_ms, [rows[i % 1000]], [1], [0.5], 0.3, "svc", policy)
        for i in range(n)
    ]  # fmt: skip
    start = time.perf_counter()
    for entry in entries:
        session.writer.log(entry)
    session.writer.flush()
    elapsed = time.perf_counter() - start
    session.close()
    ws.close()
    return n / elapsed


# ------------------------------------------------------------------------------------------ MLflow side


def start_mlflow(home: Path) -> tuple[subprocess.Popen[bytes], int] | None:
    exe = BIN / "mlflow"
    try:
        import mlflow.sklearn
        import skops.io as sio
        from mlflow.models import infer_signature
    except ImportError:
        return None
    if not exe.exists():
        return None
    model = sio.loads(
        (home / "model.skops").read_bytes(), trusted=sio.get_untrusted_types(file=home / "model.skops")
    )
    frame, _ = data(200)
    signature = infer_signature(frame, model.predict(frame))
    # requirements given, so MLflow does not spend minutes inferring them (it serves with --env-manager local)
    mlflow.sklearn.save_model(
        model, str(home / "mlflow-model"), signature=signature, pip_requirements=["scikit-learn"]
    )
    port = free_port()
    command = [str(exe), "models", "serve", "-m", str(home / "mlflow-model"), "--env-manager", "local"]
    proc = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},  # it execs `uvicorn`
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/ping", proc, seconds=180)
    except RuntimeError:
        stop(proc)
        return None
    return proc, port


# ------------------------------------------------------------------------------------------ main


def main() -> None:
    global ALLOW_MISSING
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer requests (targets still apply)")
    parser.add_argument("--allow-missing", action="store_true", help="a missing peer is not a failure")
    args = parser.parse_args()
    ALLOW_MISSING = args.allow_missing
    n_single = 2000 if args.quick else 10_000
    n_batches = 40 if args.quick else 200
    n_log = 100_000 if args.quick else 500_000
    tmp = Path(tempfile.mkdtemp(prefix="triops-bench-serving-"))
    procs: list[subprocess.Popen[bytes]] = []
    frame, target = data()
    records = frame.to_dict("records")
    singles_ours = [orjson.dumps({"inputs": records[i % len(records)]}) for i in range(n_single)]
    singles_peer = [
        orjson.dumps(
            {"dataframe_split": {"columns": FEATURES, "data": [list(records[i % len(records)].values())]}}
        )
        for i in range(n_single)
    ]
    batches_ours, batches_peer = [], []
    for b in range(n_batches):
        part = frame.iloc[(b * 1000) % 4000 : (b * 1000) % 4000 + 1000]
        batches_ours.append(orjson.dumps({"columns": {c: part[c].tolist() for c in FEATURES}}))
        batches_peer.append(
            orjson.dumps({"dataframe_split": {"columns": FEATURES, "data": part.values.tolist()}})
        )
    try:
        with console.status("preparing the model and the stores…"):
            token = prepare_triops(tmp, frame, target)
        proc, port = start_triops(tmp)
        procs.append(proc)
        peer = start_mlflow(tmp)
        if peer is not None:
            procs.append(peer[0])
        path = "/api/v1/models/bench@champion/predict"
        singles_logged = min(50, n_single) + n_single

        def singles_caught_up() -> None:  # the log writer has written every single-row prediction
            deadline = time.monotonic() + 120
            while logged(tmp) < singles_logged and time.monotonic() < deadline:
                time.sleep(0.1)

        with console.status(f"{n_single:,} single-row requests each…"):
            ours, ours_cpu1 = batch_load(proc, port, path, singles_ours, token, singles_caught_up)
            theirs, theirs_cpu1 = (
                batch_load(peer[0], peer[1], "/invocations", singles_peer, None, lambda: time.sleep(0.5))
                if peer
                else (None, None)
            )
        ratio = None if theirs is None else ours[0] / theirs[0]
        verdict("single-row predict, 1 worker, logging on", ours[0], theirs[0] if theirs else None,
                "req/s", "≥ 10× MLflow", ratio is not None and ratio >= 10, has_peer=True)  # fmt: skip
        verdict(
            "single-row predict p50", ours[1], theirs[1] if theirs else None, "ms", "-", True, has_peer=True
        )
        verdict("single-row predict p99", ours[2], theirs[2] if theirs else None, "ms", "≤ 10 ms", ours[2] <= 10,
                has_peer=True)  # fmt: skip
        verdict("server CPU per single-row request (logging incl.)", ours_cpu1, theirs_cpu1, "ms", "-", True,
                has_peer=True)  # fmt: skip
        expected = min(50, n_single) + n_single + (min(50, n_batches) + n_batches) * 1000

        def caught_up() -> None:  # the log writer has written every prediction (its CPU is counted)
            deadline = time.monotonic() + 120
            while logged(tmp) < expected and time.monotonic() < deadline:
                time.sleep(0.1)

        with console.status(f"{n_batches} batches of 1,000 rows each…"):
            ours_b, ours_cpu = batch_load(proc, port, path, batches_ours, token, caught_up)
            theirs_b, theirs_cpu = (
                batch_load(peer[0], peer[1], "/invocations", batches_peer, None, lambda: time.sleep(0.5))
                if peer
                else (None, None)
            )
        ratio_b = None if theirs_b is None else ours_b[0] / theirs_b[0]
        verdict("batch predict, 1,000-row batches", ours_b[0] * 1000, theirs_b[0] * 1000 if theirs_b else None,
                "rows/s", "≥ 3× MLflow", ratio_b is not None and ratio_b >= 3, has_peer=True)  # fmt: skip
        verdict("server CPU per 1,000-row batch (logging incl.)", ours_cpu, theirs_cpu, "ms", "-", True,
                has_peer=True)  # fmt: skip
        stop(proc)
        procs.remove(proc)
        found = logged(tmp)
        verdict("served predictions in the log after SIGTERM", found, None, "rows", f"= {expected:,}",
                found == expected, has_peer=False)  # fmt: skip
        with console.status(f"logging {n_log:,} predictions…"):
            rate = logging_rate(tmp, n_log)
        verdict("prediction logging into SQLite", rate, None, "predictions/s", "≥ 50,000/s", rate >= 50_000,
                has_peer=False)  # fmt: skip
    finally:
        for p in procs:
            stop(p)
        shutil.rmtree(tmp, ignore_errors=True)
    table = Table("measure", "triops", "peer (mlflow models serve)", "ratio", "target", "result",
                  title="benchmarks/serving.py")  # fmt: skip
    for r in ROWS:
        table.add_row(*r)
    console.print(table)
    print(json.dumps({"rows": [r[:5] for r in ROWS], "failed": FAILED}, ensure_ascii=False))
    if FAILED:
        sys.exit(1)


if __name__ == "__main__":
    main()
