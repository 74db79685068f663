"""Content-addressed artifacts: immutable blobs named by their sha256, on a local root or any fsspec URL.

Writes are atomic (a temporary name, then a rename) and idempotent: the same bytes are stored once.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any

from triops.domain.records import StoredArtifact
from triops.errors import ArtifactIntegrityError, InvalidInputError, NotFoundError
from triops.files import PRIVATE_FILE, make_private_dir, make_private_dirs

_CHUNK = 1 << 20
# downloads up to this size are read and checked whole before the first byte is sent
_VERIFY_FIRST = 64 << 20

__all__ = [
    "ArtifactStore",
    "ArtifactTooLarge",
    "ArtifactWriter",
    "StoredArtifact",
    "check_digest",
]

# Folders known to exist, per artifact root and process: steps open many short-lived ArtifactStores.
_MADE_DIRS: dict[str, set[str]] = {}
_TMP_SERIAL = itertools.count()


def _is_sha256(value: str) -> bool:
    return len(value) == 64 and not value.strip("0123456789abcdef")


class ArtifactStore:
    """Blobs under ``root/ab/cd/abcd…``; ``root`` is a local path or an fsspec URL (``s3://…``, ``memory://…``)."""

    def __init__(self, root: str | Path) -> None:
        self.root = str(root)
        self._local = "://" not in self.root or self.root.startswith("file://")
        self._made_dirs = _MADE_DIRS.setdefault(self.root, set())
        if self._local:
            self._path = Path(self.root.removeprefix("file://"))
            self._prefix = f"{self._path}{os.sep}"
            if str(self._path) not in self._made_dirs:
                make_private_dirs(self._path)
                self._made_dirs.add(str(self._path))
            self._fs: Any = None
        else:
            import fsspec

            self._fs, self._base = fsspec.core.url_to_fs(self.root)
            self._fs.makedirs(self._base, exist_ok=True)

    def _relative(self, sha256: str) -> str:
        if not _is_sha256(sha256):
            raise InvalidInputError(f"{sha256!r} is not a sha256 hex digest", hint="use the 64-character id")
        return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def location(self, sha256: str) -> str:
        rel = self._relative(sha256)
        # plain string joins: this runs for every step output, and pathlib costs more than the write
        return f"{self._prefix}{rel}" if self._local else f"{self._base}/{rel}"

    def exists(self, sha256: str) -> bool:
        loc = self.location(sha256)
        return os.path.exists(loc) if self._local else bool(self._fs.exists(loc))

    def put_bytes(self, data: bytes, media_type: str = "application/octet-stream") -> StoredArtifact:
        digest = hashlib.sha256(data).hexdigest()
        if self._local:
            self._put_local(digest, data)
        elif not self.exists(digest):
            self._write(digest, lambda fh: fh.write(data))
        return StoredArtifact(digest, len(data), media_type)

    def _put_local(self, digest: str, data: bytes) -> None:
        """A blob to a local root with the fewest system calls (every step output comes here): a stat,
        at most one mkdir, then create, write, close and rename a temporary file of this process."""
        loc = f"{self._prefix}{digest[:2]}/{digest[2:4]}/{digest}"
        if os.path.exists(loc):
            return
        parent = loc[: -len(digest) - 1]
        if parent not in self._made_dirs:  # one mkdir per fan-out folder, not per blob
            top = parent[:-3]
            if top not in self._made_dirs:  # its parent first: no mkdir that fails for want of it
                make_private_dir(top)
                self._made_dirs.add(top)
            make_private_dir(parent)
            self._made_dirs.add(parent)
        tmp = f"{parent}/.tmp-{os.getpid()}-{next(_TMP_SERIAL)}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        except (FileNotFoundError, FileExistsError):  # folder removed behind our back, or a stale name
            make_private_dirs(Path(parent))
            tmp = f"{parent}/.tmp-{os.getpid()}-{next(_TMP_SERIAL)}-{os.urandom(4).hex()}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
            os.replace(tmp, loc)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put_file(self, path: str | Path, media_type: str = "application/octet-stream") -> StoredArtifact:
        source = Path(path)
        if not source.is_file():
            raise NotFoundError(f"artifact file {source} does not exist", hint="check the path")
        hasher = hashlib.sha256()
        size = 0
        with source.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                hasher.update(chunk)
                size += len(chunk)
        digest = hasher.hexdigest()
        if not self.exists(digest):

            def copy(out: IO[bytes]) -> None:
                with source.open("rb") as src:
                    shutil.copyfileobj(src, out, _CHUNK)

            self._write(digest, copy)
        return StoredArtifact(digest, size, media_type)

    @contextmanager
    def writer(self, max_bytes: int | None = None) -> Iterator[ArtifactWriter]:
        """Stream a blob of unknown size in chunks: ``with store.writer() as w: w.write(chunk) …`` then
        ``w.commit(media_type)``. The bytes go to a private temporary file (hashed on the way), never to
        memory; a write past ``max_bytes`` raises ``ArtifactTooLarge``; without a commit nothing is kept."""
        folder = self._path if self._local else None
        if folder is not None:
            make_private_dirs(folder)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-")
        writer = ArtifactWriter(self, os.fdopen(fd, "wb"), Path(tmp), max_bytes)
        try:
            yield writer
        finally:
            writer.close()

    def _adopt(self, tmp: Path, digest: str) -> None:
        """Move a finished temporary file into place as blob ``digest`` (a rename on a local root)."""
        if self.exists(digest):
            return
        if not self._local:
            self._write(digest, lambda out: _copy_from(tmp, out))
            return
        target = Path(self.location(digest))
        if str(target.parent) not in self._made_dirs:
            make_private_dirs(target.parent)
            self._made_dirs.add(str(target.parent))
        os.replace(tmp, target)

    def _write(self, digest: str, writer: Any) -> None:
        loc = self.location(digest)
        if self._local:
            target = Path(loc)
            parent = str(target.parent)
            if parent not in self._made_dirs:  # one mkdir per fan-out folder, not per blob
                make_private_dirs(target.parent)
                self._made_dirs.add(parent)
            try:
                fd, tmp = tempfile.mkstemp(dir=parent, prefix=".tmp-")
            except FileNotFoundError:  # the folder was removed behind our back
                make_private_dirs(target.parent)
                fd, tmp = tempfile.mkstemp(dir=parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    writer(fh)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        else:
            tmp = f"{loc}.tmp-{os.getpid()}"
            self._fs.makedirs(loc.rsplit("/", 1)[0], exist_ok=True)
            with self._fs.open(tmp, "wb") as fh:
                writer(fh)
            self._fs.mv(tmp, loc)

    def get_bytes(self, sha256: str) -> bytes:
        """The blob's bytes, hashed once they are in memory (no second read): bytes that no longer hash to ``sha256`` (a swapped or
        damaged file) raise ``ArtifactIntegrityError`` naming the blob and both digests."""
        with self._raw(sha256) as fh:
            data: bytes = fh.read()
        check_digest(sha256, hashlib.sha256(data).hexdigest(), self.root)  # the bytes in hand, not a re-read
        return data

    @contextmanager
    def open(self, sha256: str, *, verify: bool = True) -> Iterator[IO[bytes]]:
        """The blob as a seekable binary file. With ``verify`` (the default) its bytes are hashed first and
        ``ArtifactIntegrityError`` raised if they do not hash to ``sha256``: a reader that seeks (Parquet,
        ``np.load``) cannot be checked as it reads. Prefer ``get_bytes`` or ``stream``, which hash in the
        same pass as the read; ``verify=False`` is for partial reads (a Parquet footer) that load nothing."""
        with self._raw(sha256) as fh:
            if verify:
                hasher = hashlib.sha256()
                while chunk := fh.read(_CHUNK):
                    hasher.update(chunk)
                check_digest(sha256, hasher.hexdigest(), self.root)
                fh.seek(0)
            yield fh

    def stream(self, sha256: str, small: int = _VERIFY_FIRST) -> Iterator[bytes]:
        """The blob in chunks for a download. Opened (and a blob up to ``small`` bytes read and checked)
        before the first chunk, so a missing or swapped small blob is an error before anything is sent; a
        larger one is hashed as it streams and a mismatch raises at its end, cutting the response short."""
        if self.size(sha256) <= small:
            return iter([self.get_bytes(sha256)])
        opened = ExitStack()
        raw = opened.enter_context(self._raw(sha256))

        def chunks() -> Iterator[bytes]:
            hasher = hashlib.sha256()
            with opened:
                while chunk := raw.read(_CHUNK):
                    hasher.update(chunk)
                    yield chunk
            check_digest(sha256, hasher.hexdigest(), self.root)

        return chunks()

    def size(self, sha256: str) -> int:
        loc = self.location(sha256)
        try:
            return os.path.getsize(loc) if self._local else int(self._fs.size(loc))
        except FileNotFoundError as exc:
            raise self._missing(sha256) from exc

    def _missing(self, sha256: str) -> NotFoundError:
        return NotFoundError(
            f"artifact {sha256} is not in the artifact store at {self.root}",
            hint="it may have been removed by hand; re-log it",
        )

    @contextmanager
    def _raw(self, sha256: str) -> Iterator[IO[bytes]]:
        loc = self.location(sha256)
        try:
            fh = open(loc, "rb") if self._local else self._fs.open(loc, "rb")  # noqa: SIM115
        except FileNotFoundError as exc:
            raise self._missing(sha256) from exc
        with fh:
            yield fh

    def local_path(self, sha256: str) -> Path | None:
        """The file path for a local root (for zero-copy reads), else None."""
        return Path(self.location(sha256)) if self._local else None


def check_digest(expected: str, found: str, where: str) -> None:
    """``ArtifactIntegrityError`` unless ``found`` (the hash of the bytes read) is ``expected`` (their name)."""
    if found != expected:
        raise ArtifactIntegrityError(
            f"artifact {expected} in {where} does not match its content: expected sha256 {expected}, "
            f"found {found}",
            hint="the blob was replaced or damaged after it was written; nothing was loaded from it. "
            "Restore it from a backup, or re-run what produced it",
            detail={"blob": expected, "expected": expected, "found": found},
        )


class ArtifactTooLarge(InvalidInputError):
    """An upload went past the configured size limit."""

    status = 413
    type_slug = "artifact-too-large"


def _copy_from(path: Path, out: IO[bytes]) -> None:
    with path.open("rb") as src:
        shutil.copyfileobj(src, out, _CHUNK)


class ArtifactWriter:
    """One streamed upload: ``write`` chunks, then ``commit``; see ``ArtifactStore.writer``."""

    def __init__(self, store: ArtifactStore, handle: IO[bytes], tmp: Path, max_bytes: int | None) -> None:
        self._store = store
        self._handle = handle
        self._tmp = tmp
        self._max = max_bytes
        self._hasher = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self._max is not None and self.size > self._max:
            raise ArtifactTooLarge(
                f"the artifact is larger than the limit of {self._max:,} bytes",
                hint="raise TRIOPS_MAX_ARTIFACT_BYTES on the server, or store it elsewhere",
            )
        self._hasher.update(chunk)
        self._handle.write(chunk)

    def commit(self, media_type: str = "application/octet-stream") -> StoredArtifact:
        self._handle.close()
        digest = self._hasher.hexdigest()
        self._store._adopt(self._tmp, digest)
        return StoredArtifact(digest, self.size, media_type)

    def close(self) -> None:
        self._handle.close()
        self._tmp.unlink(missing_ok=True)
