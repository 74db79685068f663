"""CPU-heavy work of web requests (a workshop group's simulation) in a bounded pool of worker processes.

A 2,000-run simulation is ~100 ms of CPU in numpy calls on small arrays, which hold the interpreter lock
(two threads simulating take twice one's time), so in a server thread it stalls every other request of the
process; in the server's event loop it stalled all of them outright. The pool's workers are separate
processes, started on first use ("spawn": the server runs threads, which ``fork`` must not copy) with the
simulation already imported; there are half the machine's CPUs of them (at least 1, at most 4), so the
server process keeps the rest and 8 groups posting at once queue in the pool rather than on the server.
One pool serves every app of the process; an app's shutdown stops it (the next use starts another). A
worker also exits when the server process is gone without a shutdown (uvicorn ends a SIGTERM by re-raising
it, which skips the interpreter's exit hooks). If the pool cannot run (a worker died, processes are not
allowed), the work runs in the server's threads instead.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from starlette.concurrency import run_in_threadpool

from triops.strategy.group_run import worker_start

T = TypeVar("T")
_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def workers() -> int:
    """Half the CPUs, at least 1, at most 4."""
    return max(1, min(4, (os.cpu_count() or 2) // 2))


def _executor() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=workers(),
                mp_context=multiprocessing.get_context("spawn"),
                initializer=worker_start,
                initargs=(os.getpid(),),
            )
        return _pool


def shutdown() -> None:
    """Stop the pool's workers (an app's shutdown; a simulation under way finishes first)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def _discard(broken: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is broken:
            _pool = None
    broken.shutdown(wait=False, cancel_futures=True)


async def run_cpu(fn: Callable[..., T], *args: object) -> T:
    """``fn(*args)`` in the pool (``fn`` and its arguments and result must pickle)."""
    pool = _executor()
    try:
        return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)
    except (BrokenProcessPool, OSError):
        _discard(pool)
        return await run_in_threadpool(fn, *args)


__all__ = ["run_cpu", "shutdown", "workers"]
