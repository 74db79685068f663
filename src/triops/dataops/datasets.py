"""Dataset versions as a service: hash, profile, check and score data, then store it as the next version.

``register_dataset`` is what ``ws.datasets.register(name, data, contract=…)`` calls. The passed flag comes
from the check report and nothing else, so a failed check is stored as a failed version, never as passed.
``diff_versions`` is the pure part of ``triops datasets diff NAME V1 V2``.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from triops.dataops.checks import check
from triops.dataops.contracts import Contract, columns, load_contract, schema_object
from triops.dataops.dataset_diff import DatasetDiff, diff_profiles
from triops.dataops.profile import DatasetProfile, profile
from triops.dataops.quality import QualityScore, quality_score
from triops.dataops.report import CheckReport
from triops.dataops.sources import Source, open_source
from triops.domain.clock import Clock, SystemClock, utc_ms
from triops.store.engine import Store
from triops.store.repositories.dataops import DatasetVersionRow, get_dataset_version, insert_dataset_version


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
    buffer = io.BytesIO()
    source.lazy().collect().write_ipc(buffer, compression="uncompressed")
    digest.update(buffer.getvalue())
    return digest.hexdigest()


def register_dataset(
    store: Store,
    *,
    project_id: str,
    name: str,
    data: Any,
    contract: Contract | str | Path | None = None,
    clock: Clock | None = None,
    run_id: str | None = None,
) -> Registered:
    clock = clock or SystemClock()
    source = open_source(data, name=name)
    if isinstance(contract, str | Path):
        contract = load_contract(contract)
    prof = profile(source)
    schema = {c.name: c.dtype for c in prof.columns}
    report = score = None
    if contract is not None:
        report = check(contract, source, clock=clock)
        wanted = [str(p.name) for p in columns(schema_object(contract))]
        score = quality_score(report, wanted)
    digest = content_hash(source)
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
        )
    )
    return Registered(row, report, prof, score)


def diff_versions(store: Store, project_id: str, name: str, v1: int, v2: int) -> DatasetDiff:
    """Schema changes, row counts and per-column shift between two stored versions (from their profiles)."""
    with store.connect() as conn:
        old = get_dataset_version(conn, project_id, name, v1)
        new = get_dataset_version(conn, project_id, name, v2)
    return diff_rows(old, new)


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
