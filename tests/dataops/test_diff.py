"""Contract diff (breaking or not, semver advice) and dataset-version diff (schema, rows, shift)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from triops.dataops.contracts import parse_contract
from triops.dataops.dataset_diff import diff_frames, diff_profiles, psi, shift_level
from triops.dataops.diff import BREAKING, NON_BREAKING, PATCH, bump_version, diff_contracts
from triops.dataops.profile import profile

BASE = """\
apiVersion: v3.1.0
kind: DataContract
id: t
version: {version}
status: active
schema:
  - name: t
    properties:
{props}"""
AGE = "      - name: age\n        logicalType: {t}\n        required: {req}\n        logicalTypeOptions: {{minimum: {lo}, maximum: {hi}}}\n"
NAME = "      - name: name\n        logicalType: string\n"


def _c(
    version: str = "1.0.0",
    t: str = "integer",
    req: str = "false",
    lo: int = 0,
    hi: int = 120,
    extra: str = NAME,
) -> object:
    return parse_contract(BASE.format(version=version, props=AGE.format(t=t, req=req, lo=lo, hi=hi) + extra))


def _levels(old: object, new: object) -> list[tuple[str, str | None, str]]:
    return [(c.level, c.column, c.what) for c in diff_contracts(old, new).changes]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("new", "level", "text"),
    [
        (dict(extra=""), BREAKING, "column removed"),
        (dict(t="number"), NON_BREAKING, "type widened integer → number"),
        (dict(t="boolean"), BREAKING, "type narrowed"),
        (dict(lo=18), BREAKING, "range tightened"),
        (dict(hi=150), NON_BREAKING, "range loosened"),
        (dict(req="true"), BREAKING, "nullable → required"),
        (dict(extra=NAME + "      - name: x\n"), NON_BREAKING, "optional column added"),
        (dict(extra=NAME + "      - name: x\n        required: true\n"), BREAKING, "required column added"),
    ],
)
def test_changes_are_classified(new: dict[str, str], level: str, text: str) -> None:
    changes = _levels(_c(), _c(**new))  # type: ignore[arg-type]
    assert any(lv == level and text in what for lv, _, what in changes), changes


def test_semver_advice() -> None:
    breaking = diff_contracts(_c(), _c(version="1.1.0", extra=""))  # type: ignore[arg-type]
    assert (breaking.bump, breaking.suggested_version, breaking.version_ok) == ("major", "2.0.0", False)
    assert "use at least 2.0.0" in breaking.advice()
    minor = diff_contracts(_c(), _c(version="1.1.0", hi=200))  # type: ignore[arg-type]
    assert (minor.bump, minor.version_ok) == ("minor", True)
    same = diff_contracts(_c(), _c())  # type: ignore[arg-type]
    assert same.bump == "none" and same.changes == ()


def test_description_change_is_a_patch() -> None:
    new = _c(extra="      - name: name\n        logicalType: string\n        description: who\n")
    assert _levels(_c(), new) == [(PATCH, "name", "description changed")]


def test_valid_values_removed_is_breaking_and_added_is_not() -> None:
    rule = "        quality:\n          - name: v\n            metric: invalidValues\n            arguments: {{validValues: [{v}]}}\n            mustBe: 0\n"
    old = _c(extra=NAME + rule.format(v="a, b"))
    assert (BREAKING, "name", "rule v valid values removed: b") in _levels(
        old, _c(extra=NAME + rule.format(v="a"))
    )
    assert (NON_BREAKING, "name", "rule v valid values added: c") in _levels(
        old, _c(extra=NAME + rule.format(v="a, b, c"))
    )


def test_bump_version() -> None:
    assert [bump_version("1.2.3", b) for b in ("major", "minor", "patch", "none")] == [
        "2.0.0",
        "1.3.0",
        "1.2.4",
        "1.2.3",
    ]
    assert bump_version("v2", "minor") == "2.1.0"


def test_dataset_diff_finds_schema_changes_and_shift() -> None:
    rng = np.random.default_rng(1)
    old = pl.DataFrame({"x": rng.normal(0, 1, 3000), "c": rng.choice(["a", "b"], 3000), "gone": [1] * 3000})
    new = pl.DataFrame({"x": rng.normal(1.0, 1, 4000), "c": rng.choice(["a", "b"], 4000), "new": [1] * 4000})
    for result in (diff_frames(old, new), diff_profiles(profile(old).to_dict(), profile(new).to_dict())):
        assert (result.old_rows, result.new_rows, result.row_delta) == (3000, 4000, 1000)
        assert (result.added, result.removed) == (("new",), ("gone",))
        shifts = {s.column: s for s in result.shifts}
        assert shifts["x"].level == "major" and shifts["x"].ks is not None and shifts["x"].ks > 0.3
        assert shifts["c"].level == "stable"


def test_dataset_diff_reports_type_changes() -> None:
    result = diff_frames(pl.DataFrame({"a": [1, 2]}), pl.DataFrame({"a": ["1", "2"]}))
    assert result.retyped == (("a", "Int64", "String"),)


def test_psi_is_zero_for_identical_shares_and_levels_are_ordered() -> None:
    shares = np.array([0.2, 0.3, 0.5])
    assert psi(shares, shares) == pytest.approx(0.0)
    assert [shift_level(v) for v in (0.05, 0.2, 0.4)] == ["stable", "moderate", "major"]
