"""What a worker on another machine checks before its first step: that it reaches the store and the
artifact root the driver handed it (``StepTask.store_url`` / ``artifact_root``), never the driver's defaults.

A Ray worker writes its step's outputs to the artifact root and the driver records usage and lineage in the
store from what the worker measured and wrote; a worker that cannot reach either would fail later with an
error about some file or socket. The check runs once per worker process and settings, and its error names
the node, the setting, the value (passwords hidden) and how to fix it.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

from triops.errors import PipelineError

_CHECKED: set[tuple[str | None, str]] = set()
_LOCK = threading.Lock()
PROBE = b"triops worker probe\n"


def display_url(url: str) -> str:
    """``url`` with its password hidden, for messages."""
    try:
        import sqlalchemy as sa

        return sa.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def check_reach(node: str, store_url: str | None, artifact_root: str) -> None:
    """Raise PipelineError naming what this worker cannot reach; a no-op once it reached both."""
    key = (store_url, artifact_root)
    with _LOCK:
        if key in _CHECKED:
            return
    host = socket.gethostname()
    try:
        from triops.artifacts import ArtifactStore

        probe = ArtifactStore(artifact_root)
        stored = probe.put_bytes(PROBE, "text/plain")
        with probe.open(stored.sha256) as handle:
            handle.read()
    except Exception as exc:
        raise PipelineError(
            f"step {node!r} on {host}: this worker cannot reach the artifact root {artifact_root!r}: "
            f"{type(exc).__name__}: {exc}",
            hint="give every node the same shared artifact root (a path mounted on all of them, or an "
            "s3://… URL): TRIOPS_ARTIFACT_ROOT on the driver, or artifact_root= of the Ray executor",
        ) from exc
    if store_url is not None:
        try:
            import sqlalchemy as sa

            from triops.store.engine import create_store

            parsed = sa.make_url(store_url)
            database = parsed.database or ""
            # opening a SQLite file that is not on this node would make an empty store here
            local_file = parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:")
            if local_file and not Path(database).is_file():
                raise FileNotFoundError(f"no SQLite file {database} on this node")
            create_store(store_url).dispose()
        except Exception as exc:
            raise PipelineError(
                f"step {node!r} on {host}: this worker cannot reach the store {display_url(store_url)}: "
                f"{type(exc).__name__}: {exc}".splitlines()[0],
                hint="use a store every node reaches (PostgreSQL on a host name they resolve, not a local "
                "SQLite file): TRIOPS_STORE_URL on the driver, or store_url= of the Ray executor",
            ) from exc
    with _LOCK:
        _CHECKED.add(key)


__all__ = ["check_reach", "display_url"]
