"""Dataset versions and contract checks through the public SDK, with the same assertions on local SQLite,
local PostgreSQL and a real server (``ws.datasets`` local or remote)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from tests.dataops.helpers import PEOPLE, good_people

from triops import Workspace
from triops.dataops.report import CheckReport
from triops.errors import NotFoundError
from triops.store.repositories.dataops import DatasetVersionRow


def _bad_people() -> pl.DataFrame:
    return good_people().with_columns(pl.Series("id", [1, 1, 2, 3]))  # a duplicate id breaks `unique`


def test_a_version_is_registered_with_its_report_profile_and_score(
    platform: Workspace, tmp_path: Path
) -> None:
    data = tmp_path / "people.csv"
    good_people().write_csv(data)
    registered = platform.datasets.register("people", data, contract=PEOPLE, project="hr")
    version = registered.version
    assert isinstance(version, DatasetVersionRow)
    assert (version.name, version.version, version.row_count, version.passed) == ("people", 1, 4, True)
    assert version.contract_id == "people" and version.contract_version == "1.0.0"
    assert registered.report is not None and registered.report.passed
    assert registered.score is not None and 0 <= registered.score.score <= 100
    assert registered.profile.row_count == 4 and registered.profile.column("age").logical_type == "integer"


def test_a_version_that_fails_its_contract_is_stored_as_failed(platform: Workspace) -> None:
    registered = platform.datasets.register("people", _bad_people(), contract=PEOPLE, project="hr")
    assert registered.version.passed is False
    assert registered.report is not None and not registered.report.passed
    assert any(r.column == "id" and not r.passed for r in registered.report.results)
    stored = platform.datasets.get("people", 1, project="hr")
    assert stored.passed is False and stored.quality is not None


def test_versions_list_get_and_diff(platform: Workspace) -> None:
    platform.datasets.register("people", good_people(), project="hr")
    platform.datasets.register("people", good_people().with_columns(pl.col("age") + 30), project="hr")
    platform.datasets.register("places", pl.DataFrame({"city": ["Oslo"]}), project="hr")
    assert [(v.name, v.version) for v in platform.datasets.versions(project="hr")] == [
        ("people", 1),
        ("people", 2),
        ("places", 1),
    ]
    assert [v.version for v in platform.datasets.versions("people", project="hr")] == [1, 2]
    assert platform.datasets.get("people", project="hr").version == 2
    diff = platform.datasets.diff("people", 1, 2, project="hr")
    assert diff.row_delta == 0 and {s.column for s in diff.shifts} >= {"age"}
    with pytest.raises(NotFoundError):
        platform.datasets.get("people", 9, project="hr")


def test_check_reports_without_registering(platform: Workspace) -> None:
    report = platform.datasets.check(PEOPLE, _bad_people())
    assert isinstance(report, CheckReport) and not report.passed
    assert platform.datasets.check(PEOPLE, good_people()).passed
    with pytest.raises(NotFoundError):
        platform.datasets.versions(project="nobody-registered-here")


def test_a_version_has_a_lineage_node(platform: Workspace) -> None:
    platform.datasets.register("people", good_people(), project="hr")
    node = platform.datasets.lineage("people", 1, project="hr")
    assert node.kind == "dataset" and node.label == "people/1"
