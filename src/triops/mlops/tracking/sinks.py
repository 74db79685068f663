"""Where tracked runs go: the ``TrackingSink`` protocol and ``StoreTrackingSink``, the sink on the local SQL
store and artifact root (a remote workspace uses ``triops.workspace.remote.HttpTrackingSink``)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from triops.artifacts import ArtifactStore, StoredArtifact
from triops.domain.clock import Clock, utc_ms
from triops.domain.filters import OrderBy, parse_filter, parse_orderings
from triops.domain.ids import new_id
from triops.domain.records import Metric, Run, RunStatus
from triops.domain.validation import check_name, clean_text
from triops.store.engine import Store
from triops.store.repositories import liveness
from triops.store.repositories import runs as run_repo
from triops.store.repositories.run_loading import load_run_wires
from triops.store.repositories.search import search_run_ids, search_runs

MetricRow = tuple[str, float, int, int]  # key, value, step, timestamp ms


class TrackingSink(Protocol):
    """Where tracked runs are written and read: the local store or a remote triops server."""

    def create_run(
        self,
        project: str,
        name: str,
        tags: Mapping[str, str],
        kind: str = "tracked",
        parent_id: str | None = None,
    ) -> Run: ...
    def log_metrics(self, run_id: str, rows: Sequence[MetricRow]) -> None: ...
    def log_params(self, run_id: str, values: Mapping[str, str]) -> None: ...
    def set_tags(self, run_id: str, values: Mapping[str, str]) -> None: ...
    def log_artifact(self, run_id: str, name: str, data: bytes | Path, media_type: str) -> StoredArtifact: ...
    def finish_run(self, run_id: str, status: RunStatus, error: str | None) -> None: ...
    def beat(self, run_id: str) -> bool: ...
    def get_run(self, run_id: str) -> Run: ...
    def metric_history(self, run_id: str, key: str) -> list[Metric]: ...
    def search(
        self, project: str | None, filter: str, order_by: Sequence[str], limit: int, offset: int
    ) -> list[Run]: ...


class StoreTrackingSink:
    """A TrackingSink on the local SQL store and artifact root."""

    def __init__(self, store: Store, artifacts: ArtifactStore, clock: Clock, user: str | None) -> None:
        self.store = store
        self.artifacts = artifacts
        self.clock = clock
        self.user = user

    def _now(self) -> int:
        return utc_ms(self.clock.now())

    def create_run(
        self,
        project: str,
        name: str,
        tags: Mapping[str, str],
        kind: str = "tracked",
        parent_id: str | None = None,
    ) -> Run:
        check_name(name, "run name", allow_empty=True)
        run_id = new_id()

        def write(conn: Any) -> None:
            project_id = run_repo.ensure_project(conn, project, self._now())
            run_repo.create_run(
                conn,
                run_id=run_id,
                project_id=project_id,
                name=name or f"run-{run_id[-8:]}",
                kind=kind,
                start_ms=self._now(),
                user_name=self.user,
                tags=tags,
                parent_id=parent_id,
            )

        self.store.write(write)
        return self.get_run(run_id)

    def log_metrics(self, run_id: str, rows: Sequence[MetricRow]) -> None:
        self.store.write(lambda conn: run_repo.insert_metrics(conn, run_id, rows))

    def log_params(self, run_id: str, values: Mapping[str, str]) -> None:
        self.store.write(lambda conn: run_repo.log_params(conn, run_id, values))

    def set_tags(self, run_id: str, values: Mapping[str, str]) -> None:
        self.store.write(lambda conn: run_repo.set_tags(conn, run_id, values))

    def log_artifact(self, run_id: str, name: str, data: bytes | Path, media_type: str) -> StoredArtifact:
        stored = (
            self.artifacts.put_bytes(data, media_type)
            if isinstance(data, bytes)
            else self.artifacts.put_file(data, media_type)
        )
        return self.attach_artifact(run_id, name, stored)

    def attach_artifact(self, run_id: str, name: str, stored: StoredArtifact) -> StoredArtifact:
        """Record a blob already in the artifact store (a streamed upload) as ``name`` of the run."""
        self.store.write(lambda conn: run_repo.add_run_artifact(conn, run_id, name, stored, self._now()))
        return stored

    def finish_run(self, run_id: str, status: RunStatus, error: str | None) -> None:
        text = None if error is None else clean_text(error)
        self.store.write(lambda conn: run_repo.finish_run(conn, run_id, status.value, self._now(), text))

    def beat(self, run_id: str) -> bool:
        """The run's process is alive (see store/repositories/liveness.py); False once the run has ended."""
        now = self._now()
        return self.store.write(lambda conn: liveness.beat_tracked(conn, run_id, now))

    def get_run(self, run_id: str) -> Run:
        with self.store.connect() as conn:
            return run_repo.get_run(conn, run_id)

    def get_runs(self, run_ids: Sequence[str]) -> list[Run]:
        """The runs of ``run_ids`` that exist, in the order given (five queries for all of them)."""
        with self.store.connect() as conn:
            return run_repo.load_runs(conn, run_ids)

    def metric_history(self, run_id: str, key: str) -> list[Metric]:
        with self.store.connect() as conn:
            return run_repo.metric_history(conn, run_id, key)

    def metric_histories(
        self, run_ids: Sequence[str], keys: Sequence[str]
    ) -> dict[str, dict[str, list[Metric]]]:
        with self.store.connect() as conn:
            return run_repo.metric_histories(conn, run_ids, keys)

    def search(
        self,
        project: str | None,
        filter: str,
        order_by: Sequence[str],
        limit: int,
        offset: int,
        after: tuple[int, str] | None = None,
        readable: Collection[str] | None = None,
    ) -> list[Run]:
        node = parse_filter(filter)
        orders: list[OrderBy] = parse_orderings(order_by)
        with self.store.connect() as conn:
            return search_runs(
                conn,
                project=project,
                node=node,
                order_by=orders,
                limit=limit,
                offset=offset,
                after=after,
                readable=readable,
            )

    def search_wire(
        self,
        project: str | None,
        filter: str,
        limit: int,
        after: tuple[int, str] | None,
        readable: Collection[str] | None,
    ) -> list[dict[str, Any]]:
        """Newest-first runs in their JSON wire form, read straight from the rows (no records in between)."""
        node = parse_filter(filter)
        with self.store.connect() as conn:
            ids = search_run_ids(
                conn, project=project, node=node, order_by=[], limit=limit, after=after, readable=readable
            )
            return load_run_wires(conn, ids)


__all__ = ["MetricRow", "StoreTrackingSink", "TrackingSink"]
