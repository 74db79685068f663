"""What keeps ``make test`` within its time budget holds: xdist groups take effect, bytecode is cached."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.xdist_group("suite-setup")
def test_xdist_groups_take_effect_under_loadgroup(request: pytest.FixtureRequest) -> None:
    # pytest 9.2 with pytest-xdist 3.8 dropped the group suffix without a word (pytest-dev/pytest-xdist#1386):
    # every module fixture of a group was then set up on both workers
    loadgroup = bool(getattr(request.config.option, "loadgroup", False))  # set on xdist workers only
    assert request.node.nodeid.endswith("@suite-setup") == loadgroup, request.node.nodeid


def test_processes_the_tests_start_write_bytecode() -> None:
    assert "PYTHONDONTWRITEBYTECODE" not in os.environ and not sys.dont_write_bytecode
    child = subprocess.run(
        [sys.executable, "-c", "import sys; print(sys.flags.dont_write_bytecode)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert child.stdout.strip() == "0"
