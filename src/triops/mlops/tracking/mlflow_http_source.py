"""Reading a running MLflow tracking server over its REST API, for ``triops import mlflow --from http://…``.

Experiments and runs come from ``experiments/search`` and ``runs/search`` (all view types, paged), each
metric's whole history from ``metrics/get-history``, and artifacts the server proxies
(``mlflow-artifacts:`` URIs) through ``mlflow-artifacts/artifacts``, downloaded to a temporary folder that
``close()`` removes. Authentication: a bearer token (``MLFLOW_TRACKING_TOKEN``), passed in by the caller.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from triops.errors import ConfigError
from triops.mlops.tracking.mlflow_sources import (
    MlflowSource,
    SourceExperiment,
    SourceModel,
    SourceRun,
    SourceVersion,
)

API = "/api/2.0/mlflow"


def _number(value: Any) -> float:
    if isinstance(value, str):
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}.get(value, math.nan)
    return float(value)


class HttpSource(MlflowSource):
    def __init__(self, url: str, token: str | None = None) -> None:
        self.location = url
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=120)
        self.tmp = Path(tempfile.mkdtemp(prefix="triops-mlflow-import-"))
        self._runs: list[dict[str, Any]] | None = None

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            answer = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ConfigError(f"cannot reach the MLflow server {self.location}: {exc}") from None
        if answer.status_code != 200:
            raise ConfigError(
                f"the MLflow server {self.location} answered {answer.status_code} to {path}: {answer.text[:300]}",
                hint="check the URL and MLFLOW_TRACKING_TOKEN",
            )
        body: dict[str, Any] = answer.json()
        return body

    def experiments(self) -> list[SourceExperiment]:
        out, token = [], None
        while True:
            body: dict[str, Any] = {"max_results": 1000, "view_type": "ALL"}
            if token:
                body["page_token"] = token
            page = self._call("POST", f"{API}/experiments/search", json=body)
            for e in page.get("experiments", []):
                created = e.get("creation_time")
                out.append(
                    SourceExperiment(
                        str(e["experiment_id"]),
                        str(e["name"]),
                        e.get("lifecycle_stage") == "deleted",
                        None if created is None else int(created),
                    )
                )
            token = page.get("next_page_token")
            if not token:
                return out

    def _all_runs(self) -> list[dict[str, Any]]:
        if self._runs is None:
            ids = [e.id for e in self.experiments()]
            runs: list[dict[str, Any]] = []
            for start in range(0, len(ids), 100):
                token = None
                while True:
                    body: dict[str, Any] = {
                        "experiment_ids": ids[start : start + 100],
                        "run_view_type": "ALL",
                        "max_results": 1000,
                    }
                    if token:
                        body["page_token"] = token
                    page = self._call("POST", f"{API}/runs/search", json=body)
                    runs += page.get("runs", [])
                    token = page.get("next_page_token")
                    if not token:
                        break
            self._runs = runs
        return self._runs

    def run_count(self) -> int:
        return len(self._all_runs())

    def run_batches(self, batch: int) -> Iterator[list[SourceRun]]:
        runs = self._all_runs()
        for start in range(0, len(runs), batch):
            yield [self._load(r) for r in runs[start : start + batch]]

    def _history(self, run_id: str, key: str) -> list[tuple[str, float, int, int]]:
        out, token = [], None
        while True:
            params: dict[str, Any] = {"run_id": run_id, "metric_key": key, "max_results": 25000}
            if token:
                params["page_token"] = token
            page = self._call("GET", f"{API}/metrics/get-history", params=params)
            out += [
                (key, _number(m["value"]), int(m.get("step", 0)), int(m.get("timestamp", 0)))
                for m in page.get("metrics", [])
            ]
            token = page.get("next_page_token")
            if not token:
                return out

    def _load(self, raw: dict[str, Any]) -> SourceRun:
        info, data = raw["info"], raw.get("data", {})
        end = info.get("end_time")
        run = SourceRun(
            id=str(info["run_id"]),
            experiment_id=str(info["experiment_id"]),
            name=str(info.get("run_name", "")),
            user=info.get("user_id") or None,
            status=str(info.get("status", "FINISHED")),
            start_ms=int(info.get("start_time", 0)),
            end_ms=None if end is None else int(end),
            deleted=info.get("lifecycle_stage") == "deleted",
            artifact_uri=str(info.get("artifact_uri", "")),
            params={p["key"]: p.get("value", "") for p in data.get("params", [])},
            tags={t["key"]: t.get("value", "") for t in data.get("tags", [])},
        )
        for key in sorted({m["key"] for m in data.get("metrics", [])}):
            run.metrics += self._history(run.id, key)
        return run

    def artifact_dir(self, run: SourceRun, artifacts_root: Path | None) -> Path | None:
        """Artifacts the server proxies, downloaded; others as the base class finds them locally."""
        if not run.artifact_uri.startswith("mlflow-artifacts:"):
            return super().artifact_dir(run, artifacts_root)
        root = run.artifact_uri.split(":", 1)[1].lstrip("/")
        target = self.tmp / run.id
        self._download(root, "", target)
        return target

    def _download(self, root: str, rel: str, target: Path) -> None:
        listing = self._call(
            "GET", "/api/2.0/mlflow-artifacts/artifacts", params={"path": f"{root}/{rel}".rstrip("/")}
        )
        for entry in listing.get("files", []):
            path = f"{rel}/{entry['path']}".lstrip("/")
            if entry.get("is_dir"):
                self._download(root, path, target)
                continue
            out = target / path
            out.parent.mkdir(parents=True, exist_ok=True)
            with self.http.stream("GET", f"/api/2.0/mlflow-artifacts/artifacts/{root}/{path}") as answer:
                if answer.status_code != 200:
                    raise ConfigError(f"cannot download artifact {path} of {root}: {answer.status_code}")
                with out.open("wb") as f:
                    for chunk in answer.iter_bytes():
                        f.write(chunk)

    def _pages(self, path: str, key: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        token = None
        while True:
            page = self._call("GET", path, params={**params, **({"page_token": token} if token else {})})
            out += page.get(key, [])
            token = page.get("next_page_token")
            if not token:
                return out

    def registered_models(self) -> list[SourceModel] | None:
        models = []
        for m in self._pages(f"{API}/registered-models/search", "registered_models", {"max_results": 1000}):
            model = SourceModel(
                str(m["name"]),
                str(m.get("description") or ""),
                int(m.get("creation_timestamp") or 0),
                aliases={str(a["alias"]): int(a["version"]) for a in m.get("aliases", [])},
                tags={str(t["key"]): str(t.get("value", "")) for t in m.get("tags", [])},
            )
            name = model.name.replace("'", "\\'")
            for v in self._pages(
                f"{API}/model-versions/search",
                "model_versions",
                {"filter": f"name = '{name}'", "max_results": 1000},
            ):
                model.versions.append(
                    SourceVersion(
                        int(v["version"]),
                        str(v.get("source") or ""),
                        str(v.get("run_id") or ""),
                        str(v.get("current_stage") or "None"),
                        str(v.get("description") or ""),
                        str(v.get("user_id") or ""),
                        int(v.get("creation_timestamp") or 0),
                        {str(t["key"]): str(t.get("value", "")) for t in v.get("tags", [])},
                    )
                )
            model.versions.sort(key=lambda v: v.version)
            models.append(model)
        return models

    def close(self) -> None:
        self.http.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


__all__ = ["HttpSource"]
