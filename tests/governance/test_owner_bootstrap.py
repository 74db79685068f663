"""The first user of a fresh SQLite workspace becomes its owner, also when several processes open it at once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from triops import Workspace
from triops.governance.roles import list_bindings
from triops.settings import Settings

OPENER = textwrap.dedent(
    """
    import sys
    from triops import Workspace
    from triops.settings import Settings
    url, home = sys.argv[1], sys.argv[2]
    ws = Workspace.open(url, settings=Settings(home=home))
    print("READY", flush=True)
    print("ROLES", sorted(str(r) for roles in ws.principal.roles.values() for r in roles), flush=True)
    ws.start_run("race", name="owner")  # the owner's first write
    """
)


def test_processes_opening_a_fresh_store_together_all_act_as_its_owner(tmp_path: Path) -> None:
    db = tmp_path / "fresh.db"
    url = f"sqlite:///{db}"
    Workspace.open(url, settings=Settings(home=tmp_path)).close()  # schema in place, nobody bound yet
    script = tmp_path / "opener.py"
    script.write_text(OPENER)
    # Holding the write lock lets every process see the store without an owner and then queue to become it:
    # the window in which a concurrent open used to act with no role at all.
    blocker = sqlite3.connect(db, timeout=30)
    blocker.execute("BEGIN IMMEDIATE")
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), url, str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            assert proc.stdout.readline().startswith("READY"), proc.stderr.read() if proc.stderr else ""
        time.sleep(1.5)  # each has read the empty binding table and waits for the write lock
    finally:
        blocker.rollback()
        blocker.close()
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        assert "admin" in out, f"a process acted without the owner's role: {out!r}"
    with Workspace.open(url, settings=Settings(home=tmp_path)) as ws:
        assert [(b.principal, b.role) for b in list_bindings(ws.store)] == [
            (ws.settings.acting_user, "admin")
        ]
