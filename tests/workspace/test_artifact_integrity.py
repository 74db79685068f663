"""Artifacts are re-hashed as they are read: a blob swapped on disk after it was written is refused, naming
the blob and both digests, by the artifact store, a pipeline step reading a cached output, ``ws.models.load``,
and, over a real server, the remote workspace and the download routes (a problem, never the bytes)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression
from tests.mlops.pipelines.pipelines_example import numbers
from tests.server.conftest import start_server

from triops import Workspace
from triops.artifacts import ArtifactStore
from triops.domain.clock import utc_ms
from triops.errors import ArtifactIntegrityError
from triops.settings import Settings
from triops.store.repositories.tokens import create_token


def swap(store: ArtifactStore, sha256: str, data: bytes) -> str:
    """Replace the blob's bytes behind the store's back; the digest of what is there now."""
    path = Path(store.location(sha256))
    path.chmod(0o600)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def tiny_model() -> LogisticRegression:
    x = pl.DataFrame({"a": [0.0, 1.0, 2.0, 3.0] * 5})
    return LogisticRegression().fit(x.to_numpy(), [0, 1, 0, 1] * 5)


def test_a_swapped_blob_is_refused_by_the_store(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    stored = store.put_bytes(b"the real bytes")
    assert store.get_bytes(stored.sha256) == b"the real bytes"
    found = swap(store, stored.sha256, b"other bytes")
    with pytest.raises(ArtifactIntegrityError) as info:
        store.get_bytes(stored.sha256)
    assert info.value.detail == {"blob": stored.sha256, "expected": stored.sha256, "found": found}
    assert f"expected sha256 {stored.sha256}, found {found}" in str(info.value)
    with pytest.raises(ArtifactIntegrityError), store.open(stored.sha256):
        pass  # a seekable file: checked before it is handed out
    with pytest.raises(ArtifactIntegrityError):
        store.stream(stored.sha256)  # a small download: checked before the first byte
    streamed = store.stream(stored.sha256, small=0)  # a large one: hashed as it streams, refused at the end
    assert next(streamed) == b"other bytes"
    with pytest.raises(ArtifactIntegrityError):
        next(streamed)
    with store.open(stored.sha256, verify=False) as fh:  # partial reads (a Parquet footer) are not checks
        assert fh.read() == b"other bytes"


def test_a_cache_hit_and_a_model_read_from_a_swapped_blob_are_refused(tmp_path: Path) -> None:
    ws = Workspace.open(
        f"sqlite:///{tmp_path / 's.db'}", artifact_root=tmp_path / "a", settings=Settings(home=tmp_path)
    )
    try:
        first = ws.run_pipeline(numbers, {"n": 4}).raise_for_status()
        doubled = first.outputs["doubled/output"].sha256
        swap(ws.artifacts, doubled, b"[0,0,0,0]")
        # `doubled` is a cache hit; `total` re-runs (new offset) and must not read the swapped list
        second = ws.run_pipeline(numbers, {"n": 4, "offset": 1})
        assert second.statuses["doubled"] == "CACHED"
        assert second.status == "FAILED" and doubled in (second.error or "")
        assert "does not match its content" in (second.step("total").error or "")

        version = ws.models.register("m", tiny_model(), git_commit=None, onnx=False)
        swap(ws.artifacts, version.artifact_sha256, Path(ws.artifacts.location(doubled)).read_bytes())
        with pytest.raises(ArtifactIntegrityError, match=version.artifact_sha256):
            ws.models.load("m/1")
    finally:
        ws.close()


def test_a_swapped_blob_is_refused_through_a_real_server(sqlite_store_url: str, tmp_path: Path) -> None:
    ws = Workspace.open(sqlite_store_url, artifact_root=tmp_path / "a", settings=Settings(home=tmp_path))
    version = ws.models.register("m", tiny_model(), git_commit=None, onnx=False)
    with ws.start_run("default") as run:
        run.log_artifact(b"report v1", name="report.txt")
    logged = ws.runs.get(run.id).artifacts[0].sha256
    _, token = ws.store.write(lambda c: create_token(c, ws.settings.acting_user, "t", utc_ms(ws.clock.now())))
    server, thread, url = start_server(ws)
    remote = Workspace.open(url, token=token, settings=Settings(home=tmp_path))
    try:
        assert isinstance(remote.models.load("m/1").model, LogisticRegression)
        swap(ws.artifacts, version.artifact_sha256, b"PK not the model")
        with pytest.raises(ArtifactIntegrityError, match=version.artifact_sha256):
            remote.models.load("m/1")
        swap(ws.artifacts, logged, b"report v2")
        headers = {"Authorization": f"Bearer {token}"}
        answer = httpx.get(f"{url}/api/v1/runs/{run.id}/artifacts/report.txt", headers=headers)
        assert answer.status_code == 500
        assert answer.json()["type"].endswith("/artifact-integrity") and logged in answer.text
        assert "report v2" not in answer.text
    finally:
        remote.close()
        server.should_exit = True
        thread.join(timeout=10)
        ws.close()
