"""The SQLite file: this process keeps its locks, new files are private, damage anywhere is one clear error,
and the durability setting is the one chosen."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from triops import Workspace
from triops.errors import StoreCorruptError
from triops.files import make_private_dirs
from triops.settings import Settings
from triops.store.engine import Store, create_store

TRIOPS = str(Path(sys.executable).parent / "triops")


def _posix_locks(path: Path) -> list[str]:
    """This process's POSIX locks on ``path`` as /proc/locks lists them, without the line's ordinal (it moves
    when other processes take or drop locks)."""
    st = path.stat()
    device = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    mine = str(os.getpid())
    lines = Path("/proc/locks").read_text().splitlines()
    return [
        line.split(":", 1)[1].strip()
        for line in lines
        if "POSIX" in line and mine in line.split() and device in line.split()
    ]


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs Linux /proc/locks")
def test_opening_the_store_again_keeps_the_locks_this_process_holds(sqlite_store_url: str) -> None:
    """Closing any descriptor of the database file drops all of the process's POSIX locks on it: a second
    open must not read the file outside SQLite while the first engine holds connections."""
    path = Path(sqlite_store_url.removeprefix("sqlite:///"))
    first = create_store(sqlite_store_url)
    with first.connect() as conn:
        conn.exec_driver_sql("SELECT count(*) FROM runs").scalar()
        held = _posix_locks(path)
        assert held, "an open WAL connection holds a shared lock on the database file"
        second = create_store(sqlite_store_url)
        second.dispose()
        assert _posix_locks(path) == held
    first.dispose()


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("umask_022")
def test_new_store_and_artifacts_are_private_whatever_the_umask(tmp_path: Path) -> None:
    home = tmp_path / "fresh" / "home"
    with Workspace.open(settings=Settings(home=home)) as ws, ws.start_run("perm") as run:
        run.log_metric("x", 1.0)
        stored = run.log_artifact(b"secret bytes", name="blob.bin")
    assert _mode(home) == 0o700
    assert _mode(home / "triops.db") == 0o600
    for sidecar in ("triops.db-wal", "triops.db-shm"):
        if (home / sidecar).exists():
            assert _mode(home / sidecar) == 0o600
    blob = home / "artifacts" / stored.sha256[:2] / stored.sha256[2:4] / stored.sha256
    assert _mode(blob) == 0o600
    for folder in (home / "artifacts", blob.parent, blob.parent.parent):
        assert _mode(folder) == 0o700, folder


@pytest.mark.usefixtures("umask_022")
def test_private_dirs_leave_existing_folders_alone(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    make_private_dirs(tmp_path / "a" / "b")
    assert _mode(tmp_path) == 0o755
    assert _mode(tmp_path / "a") == 0o700 and _mode(tmp_path / "a" / "b") == 0o700


@pytest.mark.parametrize(("choice", "pragma"), [("NORMAL", 1), ("FULL", 2), ("full", 2)])
def test_synchronous_is_the_documented_choice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, choice: str, pragma: int
) -> None:
    monkeypatch.setenv("TRIOPS_SQLITE_SYNCHRONOUS", choice)
    with (
        Workspace.open(settings=Settings.load(), artifact_root=tmp_path / "a") as ws,
        ws.store.connect() as conn,
    ):
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == pragma


def test_default_synchronous_is_normal() -> None:
    assert Settings().sqlite_synchronous == "NORMAL"


def _damaged_store(tmp_path: Path) -> Path:
    """A real store of a few hundred runs whose middle pages are overwritten (the header is intact)."""
    path = tmp_path / "damaged.db"
    with Workspace.open(f"sqlite:///{path}", settings=Settings(home=tmp_path)) as ws:
        for i in range(300):
            with ws.start_run("dmg", name=f"run-{i}") as run:
                run.log_params({"model": "m" * 200, "i": i})
                run.log_metric("auc", i / 300)
        with ws.store.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = 4096
    pages = path.stat().st_size // page_size
    assert pages > 20
    with path.open("r+b") as fh:  # no connection is open: writing with plain file I/O is safe here
        for page in range(pages // 3, 2 * pages // 3):
            fh.seek(page * page_size)
            fh.write(bytes((page * 7 + j) % 251 for j in range(page_size)))
    return path


def test_a_store_damaged_in_the_middle_is_one_error_naming_the_file(tmp_path: Path) -> None:
    path = _damaged_store(tmp_path)
    store: Store | None = None
    with pytest.raises(StoreCorruptError) as info:
        store = create_store(f"sqlite:///{path}")
        with store.connect() as conn:
            conn.exec_driver_sql("SELECT * FROM params").fetchall()
    if store is not None:
        store.dispose()
    assert str(path) in str(info.value) and "backup" in str(info.value)


def test_the_cli_reports_a_damaged_store_in_one_line(tmp_path: Path) -> None:
    path = _damaged_store(tmp_path)
    done = subprocess.run(
        [TRIOPS, "--store", f"sqlite:///{path}", "runs", "list", "--limit", "100000"],
        capture_output=True,
        text=True,
        env={**os.environ, "TRIOPS_HOME": str(tmp_path), "COLUMNS": "400"},
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout
    assert "Traceback" not in done.stderr and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "backup" in lines[0], done.stderr
