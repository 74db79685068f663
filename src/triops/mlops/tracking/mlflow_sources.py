"""Readers of existing MLflow tracking data, for ``triops import mlflow``.

Two sources, read directly (no ``mlflow`` package needed):

- an MLflow **SQL store** (``sqlite:///mlflow.db``, ``postgresql://…``), read with SQLAlchemy Core from
  MLflow's tables (``experiments``, ``runs``, ``params``, ``tags``, ``metrics``, ``registered_models``);
- an MLflow **file store** (``file:./mlruns``): ``<experiment>/meta.yaml``, ``<experiment>/<run>/meta.yaml``,
  ``metrics/<key>`` lines of ``timestamp value step``, ``params/<key>``, ``tags/<key>``.

Both yield the same records: experiments, then runs in batches with their params, tags and full metric
history. A run's artifacts are found from its ``artifact_uri`` when that is a local directory.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import sqlalchemy as sa
import yaml

from triops.errors import ConfigError, InvalidInputError

MetricRow = tuple[str, float, int, int]  # key, value, step, timestamp ms
# MLflow's RunStatus enum as the file store writes it
FILE_STATUS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}


@dataclass
class SourceExperiment:
    id: str
    name: str
    deleted: bool
    creation_ms: int | None


@dataclass
class SourceRun:
    id: str
    experiment_id: str
    name: str
    user: str | None
    status: str
    start_ms: int
    end_ms: int | None
    deleted: bool
    artifact_uri: str
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: list[MetricRow] = field(default_factory=list)


@dataclass
class SourceVersion:
    version: int
    source: str
    run_id: str
    stage: str  # MLflow's: None, Staging, Production, Archived
    description: str
    user: str
    created_ms: int
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class SourceModel:
    name: str
    description: str
    created_ms: int
    versions: list[SourceVersion] = field(default_factory=list)
    aliases: dict[str, int] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class SourceSummary:
    registered_models: int = 0
    model_versions: int = 0


class MlflowSource:
    """A source of MLflow runs: ``experiments()``, ``run_batches()``, ``registry_counts()``."""

    location: str

    def experiments(self) -> list[SourceExperiment]:
        raise NotImplementedError

    def run_batches(self, batch: int) -> Iterator[list[SourceRun]]:
        raise NotImplementedError

    def run_count(self) -> int:
        raise NotImplementedError

    def registry_counts(self) -> SourceSummary:
        return SourceSummary()

    def registered_models(self) -> list[SourceModel] | None:
        """The registry (models, versions, aliases), or None when this source's registry is not read."""
        return None

    def artifact_dir(self, run: SourceRun, artifacts_root: Path | None) -> Path | None:
        """A local directory holding the run's artifacts, or None when they are not reachable."""
        return local_artifact_dir(run.artifact_uri, artifacts_root)

    def close(self) -> None:
        return None


def open_source(location: str, token: str | None = None) -> MlflowSource:
    """The reader for ``location``: a SQLAlchemy URL of an MLflow SQL store, ``file:`` / a directory, or the
    ``http(s)://`` URL of an MLflow tracking server (``token``: its bearer token)."""
    if location.startswith(("http://", "https://")):
        from triops.mlops.tracking.mlflow_http_source import HttpSource

        return HttpSource(location, token)
    if location.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:", "mysql:")):
        return SqlSource(location)
    if location.startswith("file:") or "://" not in location:
        path = Path(unquote(urlparse(location).path) if location.startswith("file:") else location)
        if location.startswith("file:") and not location.startswith("file:/"):
            path = Path(location[len("file:") :])
        return FileSource(path)
    raise InvalidInputError(
        f"--from {location!r}: triops imports from an MLflow SQL store (sqlite:///mlflow.db, "
        "postgresql://…), file store (file:./mlruns) or tracking server (http://…)",
        hint="for artifacts in cloud storage, copy them locally and give --artifacts-root",
        detail={"field": "from"},
    )


def local_artifact_dir(artifact_uri: str, artifacts_root: Path | None) -> Path | None:
    """The local directory holding a run's artifacts, or None when they are not on this machine."""
    if artifact_uri.startswith("mlflow-artifacts:"):
        if artifacts_root is None:
            return None
        rest = urlparse(artifact_uri).path.lstrip("/")
        return artifacts_root / rest
    if artifact_uri.startswith("file:"):
        return Path(unquote(urlparse(artifact_uri).path))
    if "://" not in artifact_uri and artifact_uri:
        return Path(artifact_uri)
    return None


class SqlSource(MlflowSource):
    def __init__(self, url: str) -> None:
        self.location = url
        if url.startswith("postgresql:"):
            url = "postgresql+psycopg:" + url[len("postgresql:") :]
        self.engine = sa.create_engine(url)
        try:
            with self.engine.connect() as conn:
                names = set(sa.inspect(conn).get_table_names())
        except sa.exc.SQLAlchemyError as exc:
            raise ConfigError(
                f"cannot read the MLflow store {self.location}: {exc.__class__.__name__}"
            ) from None
        if not {"experiments", "runs", "metrics", "params", "tags"} <= names:
            self.engine.dispose()
            raise ConfigError(
                f"{self.location} is not an MLflow tracking database (no experiments/runs tables)",
                hint="pass the URL MLflow was started with as --backend-store-uri",
            )
        self.has_registry = "registered_models" in names

    def experiments(self) -> list[SourceExperiment]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT experiment_id, name, lifecycle_stage, creation_time FROM experiments")
            )
            return [
                SourceExperiment(str(i), str(n), s == "deleted", None if c is None else int(c))
                for i, n, s, c in rows
            ]

    def run_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM runs")).scalar_one())

    def run_batches(self, batch: int) -> Iterator[list[SourceRun]]:
        with self.engine.connect() as conn:
            ids = [
                str(r)
                for r in conn.execute(
                    sa.text("SELECT run_uuid FROM runs ORDER BY start_time, run_uuid")
                ).scalars()
            ]
        for start in range(0, len(ids), batch):
            yield self._load(ids[start : start + batch])

    def _load(self, ids: list[str]) -> list[SourceRun]:
        binds = {"ids": ids}
        expanding: Any = sa.bindparam("ids", expanding=True)
        out: dict[str, SourceRun] = {}
        with self.engine.connect() as conn:
            q = sa.text(
                "SELECT run_uuid, experiment_id, name, user_id, status, start_time, end_time, lifecycle_stage, "
                "artifact_uri FROM runs WHERE run_uuid IN :ids"
            ).bindparams(expanding)
            for rid, exp, name, user, status, start, end, stage, uri in conn.execute(q, binds):
                out[str(rid)] = SourceRun(
                    id=str(rid),
                    experiment_id=str(exp),
                    name=str(name or ""),
                    user=user,
                    status=str(status or "FINISHED"),
                    start_ms=int(start or 0),
                    end_ms=None if end is None else int(end),
                    deleted=stage == "deleted",
                    artifact_uri=str(uri or ""),
                )
            for table, target in (("params", "params"), ("tags", "tags")):
                q = sa.text(f"SELECT run_uuid, key, value FROM {table} WHERE run_uuid IN :ids").bindparams(
                    expanding
                )
                for rid, key, value in conn.execute(q, binds):
                    getattr(out[str(rid)], target)[str(key)] = "" if value is None else str(value)
            # the bulk of an import: the driver's own cursor, plain tuples, no per-row result processing
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            raw = conn.connection.dbapi_connection
            assert raw is not None
            cur = raw.cursor()
            try:
                cur.execute(
                    "SELECT run_uuid, key, value, is_nan, step, timestamp FROM metrics "
                    f"WHERE run_uuid IN ({', '.join([mark] * len(ids))})",
                    ids,
                )
                nan = math.nan
                for rid, key, value, is_nan, step, ts in cur.fetchall():
                    out[rid].metrics.append((key, nan if is_nan else value, step, ts))
            finally:
                cur.close()
        return [out[i] for i in ids if i in out]

    def registry_counts(self) -> SourceSummary:
        if not self.has_registry:
            return SourceSummary()
        with self.engine.connect() as conn:
            models = int(conn.execute(sa.text("SELECT count(*) FROM registered_models")).scalar_one())
            versions = int(conn.execute(sa.text("SELECT count(*) FROM model_versions")).scalar_one())
        return SourceSummary(models, versions)

    def registered_models(self) -> list[SourceModel] | None:
        if not self.has_registry:
            return []
        with self.engine.connect() as conn:
            names = set(sa.inspect(conn).get_table_names())
            models = {
                str(n): SourceModel(str(n), str(d or ""), int(c or 0))
                for n, d, c in conn.execute(
                    sa.text("SELECT name, description, creation_time FROM registered_models ORDER BY name")
                )
            }
            rows = conn.execute(
                sa.text(
                    "SELECT name, version, source, run_id, current_stage, description, user_id, creation_time "
                    "FROM model_versions ORDER BY name, version"
                )
            )
            for n, v, src, run, stage, d, user, c in rows:
                if str(n) in models:
                    models[str(n)].versions.append(
                        SourceVersion(
                            int(v),
                            str(src or ""),
                            str(run or ""),
                            str(stage or "None"),
                            str(d or ""),
                            str(user or ""),
                            int(c or 0),
                        )
                    )
            if "registered_model_aliases" in names:
                for n, alias, v in conn.execute(
                    sa.text("SELECT name, alias, version FROM registered_model_aliases")
                ):
                    if str(n) in models:
                        models[str(n)].aliases[str(alias)] = int(v)
            if "registered_model_tags" in names:
                for n, key, value in conn.execute(
                    sa.text("SELECT name, key, value FROM registered_model_tags")
                ):
                    if str(n) in models:
                        models[str(n)].tags[str(key)] = str(value or "")
            if "model_version_tags" in names:
                by_version = {(m.name, v.version): v for m in models.values() for v in m.versions}
                q = sa.text("SELECT name, version, key, value FROM model_version_tags")
                for n, v, key, value in conn.execute(q):
                    if (str(n), int(v)) in by_version:
                        by_version[(str(n), int(v))].tags[str(key)] = str(value or "")
        return list(models.values())

    def close(self) -> None:
        self.engine.dispose()


def _read_meta(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text()) if path.is_file() else None
    return data if isinstance(data, dict) else {}


def _read_keyed(folder: Path) -> dict[str, str]:
    """Files under ``folder`` (keys may contain '/', stored as sub-folders) → {key: content}."""
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder).as_posix(): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()}


class FileSource(MlflowSource):
    def __init__(self, root: Path) -> None:
        self.location = f"file:{root}"
        self.root = root
        if not root.is_dir():
            raise ConfigError(f"{root} is not a directory (an MLflow file store, e.g. ./mlruns)")

    def registry_counts(self) -> SourceSummary:
        """The file store's registry (``models/<name>/version-<n>``), counted: it is not read."""
        folder = self.root / "models"
        models = [p for p in folder.iterdir() if p.is_dir()] if folder.is_dir() else []
        versions = sum(1 for m in models for v in m.iterdir() if v.name.startswith("version-"))
        return SourceSummary(len(models), versions)

    def _experiment_dirs(self) -> list[tuple[Path, bool]]:
        found = [(p, False) for p in sorted(self.root.iterdir()) if (p / "meta.yaml").is_file()]
        trash = self.root / ".trash"
        if trash.is_dir():
            found += [(p, True) for p in sorted(trash.iterdir()) if (p / "meta.yaml").is_file()]
        return found

    def experiments(self) -> list[SourceExperiment]:
        out = []
        for folder, trashed in self._experiment_dirs():
            meta = _read_meta(folder / "meta.yaml")
            created = meta.get("creation_time")
            out.append(
                SourceExperiment(
                    str(meta.get("experiment_id", folder.name)),
                    str(meta.get("name", folder.name)),
                    trashed or meta.get("lifecycle_stage") == "deleted",
                    None if created is None else int(created),
                )
            )
        return out

    def _run_dirs(self) -> list[Path]:
        return [
            run
            for folder, _ in self._experiment_dirs()
            for run in sorted(folder.iterdir())
            if run.is_dir() and (run / "meta.yaml").is_file()
        ]

    def run_count(self) -> int:
        return len(self._run_dirs())

    def run_batches(self, batch: int) -> Iterator[list[SourceRun]]:
        dirs = self._run_dirs()
        for start in range(0, len(dirs), batch):
            yield [self._load(d) for d in dirs[start : start + batch]]

    def _load(self, folder: Path) -> SourceRun:
        meta = _read_meta(folder / "meta.yaml")
        status = meta.get("status", 3)
        end = meta.get("end_time")
        run = SourceRun(
            id=str(meta.get("run_id") or meta.get("run_uuid") or folder.name),
            experiment_id=str(meta.get("experiment_id", folder.parent.name)),
            name=str(meta.get("run_name") or ""),
            user=meta.get("user_id"),
            status=FILE_STATUS.get(status, "FINISHED") if isinstance(status, int) else str(status),
            start_ms=int(meta.get("start_time") or 0),
            end_ms=None if end is None else int(end),
            deleted=meta.get("lifecycle_stage") == "deleted",
            artifact_uri=str(meta.get("artifact_uri") or (folder / "artifacts")),
            params=_read_keyed(folder / "params"),
            tags=_read_keyed(folder / "tags"),
        )
        for key, text in _read_keyed(folder / "metrics").items():
            for line in text.splitlines():
                parts = line.split()
                if len(parts) >= 2:
                    step = int(parts[2]) if len(parts) > 2 else 0
                    run.metrics.append((key, float(parts[1]), step, int(parts[0])))
        return run


__all__ = [
    "MlflowSource",
    "SourceExperiment",
    "SourceRun",
    "SourceSummary",
    "local_artifact_dir",
    "open_source",
]
