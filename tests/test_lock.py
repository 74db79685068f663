"""Installs reproduce: uv.lock matches pyproject.toml, a changed dependency makes the check fail, and the
installed versions are the locked ones."""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UV = ROOT / ".venv-tools" / "bin" / "uv"


def _uv_lock_check(project: Path) -> subprocess.CompletedProcess[str]:
    if not UV.exists():
        pytest.fail(f"{UV} is missing: `make test` installs the pinned uv there")
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    return subprocess.run(
        [str(UV), "lock", "--check"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _copy_project(tmp_path: Path) -> Path:
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def test_the_lock_matches_pyproject(tmp_path: Path) -> None:
    done = _uv_lock_check(_copy_project(tmp_path))
    assert done.returncode == 0, done.stderr


def test_a_dependency_changed_without_make_lock_fails_the_check(tmp_path: Path) -> None:
    project = _copy_project(tmp_path)
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    assert '"typer>=0.26,<0.30"' in text
    pyproject.write_text(text.replace('"typer>=0.26,<0.30"', '"typer>=0.25,<0.30"', 1))
    done = _uv_lock_check(project)
    assert done.returncode != 0 and "needs to be updated" in done.stderr


def test_the_makefile_pins_uv_and_installs_from_the_lock() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^UV_VERSION := \d+\.\d+\.\d+$", makefile, re.M)
    assert "sync --locked" in makefile and "lock --check" in makefile


def test_installed_versions_are_the_locked_ones() -> None:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    locked: dict[str, set[str]] = {}
    for package in lock["package"]:
        locked.setdefault(package["name"], set()).add(package["version"])
    for name in ("typer", "fastapi", "sqlalchemy", "pydantic", "rich", "ruff", "mypy"):
        assert importlib.metadata.version(name) in locked[name], name
