"""Dataset versions as a service: hash, profile, check and score data, then store it as the next version.

``register_dataset`` is what ``ws.datasets.register(name, data, contract=…)`` calls; the workspace hands it
the ``dataset.publish`` gate, which sees the checked and scored version before anything is stored. The passed
flag comes from the check report and nothing else, so a failed check is stored as a failed version, never as
passed. With an artifact store, the data itself is kept as a content-addressed artifact (its sha256 is the
version's content hash), so ``diff_versions`` can count both versions exactly; without it (or for versions
stored before), the diff is estimated from the stored profiles and says so.

What is stored never holds restricted or personal values in clear: the profile keeps counts and lengths of
protected columns, the samples show salted hashes (``privacy``).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from triops.dataops.checks import check
from triops.dataops.contracts import Contract, load_contract, protected_columns, schema_object
from triops.dataops.dataset_diff import DatasetDiff, diff_frames, diff_profiles
from triops.dataops.privacy import Privacy
from triops.dataops.profile import DatasetProfile, profile
from triops.dataops.quality import QualityScore, quality_score
from triops.dataops.report import CheckReport
from triops.dataops.sources import Source, open_source
from triops.domain.clock import Clock, SystemClock, utc_ms
from triops.store.engine import Store
from triops.store.repositories.dataops import DatasetVersionRow, get_dataset_version, insert_dataset_version

if TYPE_CHECKING:
    from triops.artifacts import ArtifactStore

MEDIA_TYPES = {
    "csv": "text/csv",
    "jsonl": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
    "arrow": "application/vnd.apache.arrow.file",
}
"""How a stored dataset's bytes are read back (in-memory frames are stored as Arrow IPC)."""


@dataclass(frozen=True, slots=True)
class Publication:
    """A dataset version about to be stored: what the ``dataset.publish`` gate is shown. ``passed`` is the
    contract check's verdict (None without a contract), ``score`` the 0–100 quality score."""

    name: str
    content_hash: str
    row_count: int
    contract_id: str | None
    passed: bool | None
    score: float | None
    dimensions: dict[str, float]


@dataclass(frozen=True, slots=True)
class Registered:
    version: DatasetVersionRow
    report: CheckReport | None
    profile: DatasetProfile
    score: QualityScore | None


def content_hash(source: Source) -> str:
    """sha256 of a file's bytes, or of the Arrow IPC serialisation of an in-memory frame."""
    digest = hashlib.sha256()
    if source.path is not None:
        with source.path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    digest.update(_ipc_bytes(source))
    return digest.hexdigest()


def _ipc_bytes(source: Source) -> bytes:
    buffer = io.BytesIO()
    source.lazy().collect().write_ipc(buffer, compression="uncompressed")
    return buffer.getvalue()


def register_dataset(
    store: Store,
    *,
    project_id: str,
    name: str,
    data: Any,
    contract: Contract | str | Path | None = None,
    clock: Clock | None = None,
    run_id: str | None = None,
    artifacts: ArtifactStore | None = None,
    privacy: Privacy | None = None,
    skip_unsupported: bool = False,
    publish_gate: Callable[[Publication], None] | None = None,
) -> Registered:
    """Store ``data`` as the next version of ``name``; keep its bytes in ``artifacts`` when given.
    ``publish_gate`` sees the checked, scored version first and raises to refuse it (nothing is stored)."""
    clock = clock or SystemClock()
    source = open_source(data, name=name)
    if isinstance(contract, str | Path):
        contract = load_contract(contract)
    privacy = privacy or Privacy()
    declared = protected_columns(contract, schema_object(contract)) if contract is not None else {}
    prof = profile(source, protected=declared)
    schema = {c.name: c.dtype for c in prof.columns}
    report = score = None
    if contract is not None:
        extra = {**prof.protected, **dict(privacy.extra)}
        stored_privacy = Privacy(salt=privacy.salt, reveal=False, extra=extra)
        report = check(
            contract, source, clock=clock, privacy=stored_privacy, skip_unsupported=skip_unsupported
        )
        wanted = [str(p.name) for p in schema_object(contract).properties or []]
        score = quality_score(report, wanted)
    digest, sha = content_hash(source), None
    if publish_gate is not None:
        publish_gate(
            Publication(
                name=name,
                content_hash=digest,
                row_count=prof.row_count,
                contract_id=contract.id if contract is not None else None,
                passed=report.passed if report is not None else None,
                score=score.score if score else None,
                dimensions=dict(score.dimensions) if score else {},
            )
        )
    if artifacts is not None:
        stored = (
            artifacts.put_file(source.path, MEDIA_TYPES[source.kind])
            if source.path is not None and source.kind in MEDIA_TYPES
            else artifacts.put_bytes(_ipc_bytes(source), MEDIA_TYPES["arrow"])
        )
        sha = stored.sha256
    row = store.write(
        lambda conn: insert_dataset_version(
            conn,
            project_id=project_id,
            name=name,
            content_hash=digest,
            row_count=prof.row_count,
            schema=schema,
            passed=report.passed if report is not None else True,
            now_ms=utc_ms(clock.now()),
            profile=prof.to_dict(),
            quality=report.to_dict() | {"score": score.to_dict() if score else None} if report else None,
            score=score.score if score else None,
            contract_id=contract.id if contract is not None else None,
            contract_version=contract.version if contract is not None else None,
            source_uri=source.uri,
            run_id=run_id,
            artifact_sha256=sha,
        )
    )
    return Registered(row, report, prof, score)


def diff_versions(
    store: Store, project_id: str, name: str, v1: int, v2: int, *, artifacts: ArtifactStore | None = None
) -> DatasetDiff:
    """Schema changes, row counts and per-column shift between two stored versions: counted from both
    versions' data when the artifact store holds it, else estimated from their profiles."""
    with store.connect() as conn:
        old = get_dataset_version(conn, project_id, name, v1)
        new = get_dataset_version(conn, project_id, name, v2)
    if artifacts is not None and _kept(artifacts, old) and _kept(artifacts, new):
        return diff_frames(_stored_frame(artifacts, old), _stored_frame(artifacts, new))
    return diff_rows(old, new)


def _kept(artifacts: ArtifactStore, version: DatasetVersionRow) -> bool:
    return version.artifact_sha256 is not None and artifacts.exists(version.artifact_sha256)


def _stored_frame(artifacts: ArtifactStore, version: DatasetVersionRow) -> Any:
    import polars as pl

    assert version.artifact_sha256 is not None
    kind = next(
        (k for k, v in MEDIA_TYPES.items() if version.source_uri and version.source_uri.endswith(f".{k}")),
        None,
    )
    data = artifacts.get_bytes(version.artifact_sha256)
    buffer = io.BytesIO(data)
    if kind == "csv" or (
        kind is None and version.source_uri and version.source_uri.endswith((".tsv", ".txt"))
    ):
        separator = "\t" if version.source_uri and version.source_uri.endswith(".tsv") else ","
        return pl.read_csv(buffer, separator=separator, infer_schema_length=10_000)
    if kind == "jsonl" or (version.source_uri or "").endswith(".ndjson"):
        return pl.read_ndjson(buffer)
    if kind == "parquet" or (version.source_uri or "").endswith(".pq"):
        return pl.read_parquet(buffer)
    return pl.read_ipc(buffer)


def version_frame(artifacts: ArtifactStore, version: DatasetVersionRow) -> Any:
    """The stored data of a dataset version as a polars frame (None when its bytes were not kept)."""
    return _stored_frame(artifacts, version) if _kept(artifacts, version) else None


def diff_rows(old: DatasetVersionRow, new: DatasetVersionRow) -> DatasetDiff:
    empty = {"row_count": 0, "columns": {}}
    a = old.profile or empty | {
        "row_count": old.row_count,
        "columns": {c: {"dtype": t} for c, t in old.schema.items()},
    }
    b = new.profile or empty | {
        "row_count": new.row_count,
        "columns": {c: {"dtype": t} for c, t in new.schema.items()},
    }
    return diff_profiles(a, b)
