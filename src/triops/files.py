"""Private files and folders on the local disk: created 0600 / 0700 whatever the process's umask.

A store holds every param and token hash of a workspace, and artifacts hold its data and models: another
local user must not be able to read them. Existing files and folders are left as they are.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def make_private_dirs(path: Path) -> None:
    """Create ``path`` and its missing parents as 0700 (mkdir's own mode is filtered by the umask)."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:  # made by another process meanwhile: theirs to set
            continue
        os.chmod(folder, PRIVATE_DIR)


def _umask() -> int | None:
    """The process's umask from ``/proc/self/status`` (Linux ≥ 4.7), read without changing it."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        return None
    return None


def make_private_dir(path: str) -> None:
    """Create the folder ``path`` (0700) whose parent is expected to exist; parents are made only if
    missing. The hot path of content-addressed writes: one ``mkdir``, and no ``chmod`` when the umask
    leaves the owner's bits alone (it is read once per process)."""
    try:
        os.mkdir(path, PRIVATE_DIR)
    except FileExistsError:
        return
    except FileNotFoundError:
        # the usual miss of a fan-out folder: only its parent is new too, made the same cheap way
        parent = os.path.dirname(path.rstrip("/"))
        if not parent or parent == path:
            raise
        make_private_dir(parent)
        make_private_dir(path)
        return
    if _OWNER_MASKED[0]:
        os.chmod(path, PRIVATE_DIR)


_mask = _umask()
_OWNER_MASKED = [_mask is None or bool(_mask & PRIVATE_DIR)]


def create_private_file(path: Path) -> bool:
    """Make an empty 0600 file at ``path`` (and 0700 folders above it) if there is none; True if made."""
    make_private_dirs(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)
    return True
