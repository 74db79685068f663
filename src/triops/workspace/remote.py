"""``HttpTrackingSink``: the tracking SDK over a triops server's JSON API (``Workspace.open("http://…")``).

Metric batches travel columnar in one request per flush, so remote logging stays batched and fast.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from triops.artifacts import StoredArtifact
from triops.domain.records import ArtifactRef, Metric, Run, RunStatus
from triops.domain.validation import MAX_METRIC_BATCH, MAX_VALUES_BATCH
from triops.domain.wire import float_from_wire, float_to_wire
from triops.errors import NotFoundError
from triops.workspace.remote_http import HttpTransport

MetricRow = tuple[str, float, int, int]


def _run_from_wire(data: dict[str, Any]) -> Run:
    return Run(
        id=data["id"],
        project=data["project"],
        name=data["name"],
        status=RunStatus(data["status"]),
        kind=data["kind"],
        start_time=datetime.fromisoformat(data["start_time"]),
        end_time=datetime.fromisoformat(data["end_time"]) if data.get("end_time") else None,
        error=data.get("error"),
        user=data.get("user"),
        params=data.get("params", {}),
        tags=data.get("tags", {}),
        metrics={k: float_from_wire(v, k) for k, v in data.get("metrics", {}).items()},
        artifacts=tuple(
            ArtifactRef(a["name"], a["sha256"], a["size"], a["media_type"]) for a in data.get("artifacts", [])
        ),
        parent_id=data.get("parent_id"),
    )


class HttpTrackingSink:
    def __init__(self, transport: HttpTransport) -> None:
        self.transport = transport
        self.base_url = transport.base_url

    def close(self) -> None:
        self.transport.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.transport.call(method, path, **kwargs)

    def create_run(
        self,
        project: str,
        name: str,
        tags: Mapping[str, str],
        kind: str = "tracked",
        parent_id: str | None = None,
    ) -> Run:
        body: dict[str, Any] = {"project": project, "name": name, "tags": dict(tags), "kind": kind}
        if parent_id is not None:
            body["parent_id"] = parent_id
        return _run_from_wire(self._call("POST", "/runs", json=body).json())

    def log_metrics(self, run_id: str, rows: Sequence[MetricRow]) -> None:
        for start in range(0, len(rows), MAX_METRIC_BATCH):  # the server takes batches up to that size
            chunk = rows[start : start + MAX_METRIC_BATCH]
            body = {
                "keys": [r[0] for r in chunk],
                "values": [float_to_wire(r[1]) for r in chunk],
                "steps": [r[2] for r in chunk],
                "timestamps": [r[3] for r in chunk],
            }
            self._call("POST", f"/runs/{run_id}/metrics", json=body)

    def _post_values(self, path: str, values: Mapping[str, str]) -> None:
        items = list(values.items())
        for start in range(0, max(len(items), 1), MAX_VALUES_BATCH):
            self._call("POST", path, json={"values": dict(items[start : start + MAX_VALUES_BATCH])})

    def log_params(self, run_id: str, values: Mapping[str, str]) -> None:
        self._post_values(f"/runs/{run_id}/params", values)

    def set_tags(self, run_id: str, values: Mapping[str, str]) -> None:
        self._post_values(f"/runs/{run_id}/tags", values)

    def log_artifact(self, run_id: str, name: str, data: bytes | Path, media_type: str) -> StoredArtifact:
        path, headers = f"/runs/{run_id}/artifacts/{name}", {"Content-Type": media_type}
        if isinstance(data, bytes):
            answer = self._call("PUT", path, content=data, headers=headers).json()
        else:
            source = Path(data)
            if not source.is_file():
                raise NotFoundError(f"artifact file {source} does not exist", hint="check the path")
            # an open file streams in 64 KiB chunks with its Content-Length: never read whole into memory
            with source.open("rb") as handle:
                answer = self._call("PUT", path, content=handle, headers=headers).json()
        return StoredArtifact(answer["sha256"], answer["size"], answer["media_type"])

    def finish_run(self, run_id: str, status: RunStatus, error: str | None) -> None:
        self._call("POST", f"/runs/{run_id}/finish", json={"status": status.value, "error": error})

    def beat(self, run_id: str) -> bool:
        return bool(self._call("POST", f"/runs/{run_id}/heartbeat").json()["alive"])

    def get_run(self, run_id: str) -> Run:
        return _run_from_wire(self._call("GET", f"/runs/{run_id}").json())

    def metric_history(self, run_id: str, key: str) -> list[Metric]:
        data = self._call("GET", f"/runs/{run_id}/metrics/{key}").json()
        return [
            Metric(key, float_from_wire(v, key), s, t)
            for v, s, t in zip(data["values"], data["steps"], data["timestamps"], strict=True)
        ]

    def search(
        self, project: str | None, filter: str, order_by: Sequence[str], limit: int, offset: int
    ) -> list[Run]:
        body = {
            "project": project,
            "filter": filter,
            "order_by": list(order_by),
            "limit": limit,
            "offset": offset,
        }
        return [_run_from_wire(r) for r in self._call("POST", "/runs/search", json=body).json()["runs"]]

    def download_artifact(self, run_id: str, name: str) -> bytes:
        from triops.workspace.remote_http import verify_download

        response = self._call("GET", f"/runs/{run_id}/artifacts/{name}")
        etag = response.headers.get("etag", "").strip('"')  # the blob's sha256, as the server names it
        if etag:
            verify_download(response.content, etag, f"run {run_id} artifact {name!r} from the server")
        return response.content
