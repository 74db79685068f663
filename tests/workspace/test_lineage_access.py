"""Lineage as the acting principal may see it: the same bytes made in two projects link both projects' step
runs; a viewer of one project sees only that project's, and a run of the other project is as absent as an
id that does not exist (same error, same words)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.governance.permission_matrix import _tiny

from triops import Workspace
from triops.errors import NotFoundError
from triops.governance.roles import load_principal
from triops.settings import Settings


def test_lineage_shows_only_readable_projects(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    admin = Workspace.open(url, artifact_root=tmp_path / "a", settings=Settings(home=tmp_path))
    mine = admin.run_pipeline(_tiny, project="benefits", use_cache=False).raise_for_status()
    theirs = admin.run_pipeline(_tiny, project="payroll", use_cache=False).raise_for_status()
    admin.governance.grant("vera", "viewer", "benefits")
    numbers = mine.outputs["_numbers/output"].sha256
    assert numbers == theirs.outputs["_numbers/output"].sha256  # content-addressed: one blob, two projects
    everyone = {n.run_id for n in admin.lineage(numbers, direction="down").walk() if n.kind == "step"}
    assert everyone == {mine.run_id, theirs.run_id}
    admin.close()

    opened = Workspace.open(url, artifact_root=tmp_path / "a", settings=Settings(home=tmp_path))
    with opened.store.connect() as conn:  # vera, in code (on a local store TRIOPS_USER names no one)
        vera = opened.acting_as(load_principal(conn, "vera"))
    try:
        seen = {n.run_id for n in vera.lineage(numbers, direction="down").walk() if n.kind == "step"}
        assert seen == {mine.run_id}
        assert vera.pipelines.lineage(mine.run_id).run_id == mine.run_id
        with pytest.raises(NotFoundError) as hidden:
            vera.lineage(theirs.run_id)
        with pytest.raises(NotFoundError) as absent:
            vera.lineage(theirs.run_id[:-4] + "ffff")
        assert str(hidden.value).replace(theirs.run_id, "ID") == str(absent.value).replace(
            theirs.run_id[:-4] + "ffff", "ID"
        )
        with pytest.raises(NotFoundError, match="does not exist"):
            vera.runs.get(theirs.run_id)
        assert vera.runs.get(mine.run_id).project == "benefits"
    finally:
        opened.close()
