"""Numbers you can trust: exact drift from the data, estimated drift on the same bins (within a stated
tolerance), identifiers not read as drift, a score that never rounds a failure to 100, true sample numbering."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from triops.dataops.checks import check
from triops.dataops.contracts import parse_contract
from triops.dataops.dataset_diff import ESTIMATE_TOLERANCE, diff_frames, diff_profiles
from triops.dataops.demo import benefits_contract, corrupt_batch, load_benefits
from triops.dataops.profile import profile
from triops.dataops.quality import format_score, quality_score
from triops.workspace import Workspace


def _sample(seed: int, n: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "x": rng.normal(50, 10, n),
            "k": rng.integers(0, 30, n),
            "c": rng.choice(list("abcdefghijklmnopqrstuvwxyz"), n),
            "id": np.arange(n),
        }
    )


@pytest.mark.parametrize("seed", range(4))
def test_estimated_drift_agrees_with_exact_on_one_distribution(seed: int) -> None:
    old, new = _sample(seed, 5000), _sample(seed + 100, 3000)
    exact = {s.column: s for s in diff_frames(old, new).shifts}
    estimated = diff_profiles(profile(old).to_dict(), profile(new).to_dict())
    assert estimated.method == "estimated"
    for s in estimated.shifts:
        if s.psi is not None:
            assert exact[s.column].psi is not None
            assert abs(s.psi - exact[s.column].psi) <= ESTIMATE_TOLERANCE, (s, exact[s.column])
            assert s.level == exact[s.column].level == "stable"


def test_benefits_samples_of_one_distribution_are_stable_both_ways() -> None:
    benefits = load_benefits()
    old, new = benefits.sample(3000, seed=1), benefits.sample(1500, seed=2)
    exact = diff_frames(old, new)
    estimated = diff_profiles(profile(old).to_dict(), profile(new).to_dict())
    for diff in (exact, estimated):
        levels = {s.column: s.level for s in diff.shifts}
        assert levels.pop("rownames") == "identifier"
        assert set(levels.values()) <= {"stable", "not compared"}, levels


def test_a_real_shift_is_major_both_ways() -> None:
    old = _sample(1, 4000)
    new = old.with_columns(pl.col("x") + 15)
    assert {s.column: s.level for s in diff_frames(old, new).shifts}["x"] == "major"
    estimated = diff_profiles(profile(old).to_dict(), profile(new).to_dict())
    assert {s.column: s.level for s in estimated.shifts}["x"] == "major"


def test_datasets_diff_is_exact_when_both_versions_are_kept(tmp_path: Path) -> None:
    ws = Workspace.open(f"sqlite:///{tmp_path / 'ws.db'}", artifact_root=tmp_path / "artifacts")
    try:
        benefits = load_benefits()
        benefits.sample(3000, seed=1).write_csv(tmp_path / "a.csv")
        ws.datasets.register("b", tmp_path / "a.csv", contract=benefits_contract())
        ws.datasets.register("b", benefits.sample(1500, seed=2))
        ws.datasets.register("b", benefits.head(100), keep_data=False)
        exact = ws.datasets.diff("b", 1, 2)
        assert exact.method == "exact"
        assert {s.column: s.level for s in exact.shifts}["sex"] == "stable"  # measured from the data
        assert ws.datasets.diff("b", 1, 3).method == "estimated"
    finally:
        ws.close()


def test_score_never_reads_100_when_anything_failed() -> None:
    assert format_score(100.0) == "100"
    assert format_score(99.99999) == "99.99"  # rounded down: anything short of 100 never prints 100
    assert format_score(87.6549) == "87.65"
    assert format_score(None) == "-"
    bad = corrupt_batch(load_benefits(), rows=4000)
    report = check(benefits_contract(), bad)
    score = quality_score(report).score
    assert not report.passed and score < 100 and format_score(score) != "100"
    assert report.rows_failing is not None and 0 < report.rows_failing < report.row_count


def test_rows_failing_counts_each_row_once_with_duplicates() -> None:
    body = (
        "apiVersion: v3.1.0\nkind: DataContract\nid: t\nversion: 1.0.0\nstatus: active\nschema:\n  - name: t\n"
        "    properties:\n      - name: id\n        logicalType: integer\n        unique: true\n"
        "      - name: v\n        logicalType: integer\n        logicalTypeOptions: {minimum: 0}\n"
    )
    df = pl.DataFrame({"id": [1, 1, 2, 3, 3, 3, 4], "v": [-1, 0, -1, 0, 0, -1, 0]})
    report = check(parse_contract(body), df)
    # failing: rows 0,1 (id 1 repeated), 2 (v), 3,4,5 (id 3 repeated): 6 distinct rows
    assert (report.rows_failing, report.rows_failing_exact) == (6, True)


def test_samples_carry_the_files_line_numbers(tmp_path: Path) -> None:
    body = (
        "apiVersion: v3.1.0\nkind: DataContract\nid: t\nversion: 1.0.0\nstatus: active\nschema:\n  - name: t\n"
        "    properties:\n      - name: note\n        logicalType: string\n"
        "      - name: v\n        logicalType: integer\n        logicalTypeOptions: {minimum: 0}\n"
    )
    plain = tmp_path / "plain.csv"
    plain.write_text("note,v\na,1\nb,-1\nc,2\n")
    sample = check(parse_contract(body), plain).results[-1].samples[0]
    assert (sample["row"], sample["line"]) == (2, 3)  # header on line 1
    quoted = tmp_path / "quoted.csv"
    quoted.write_text('note,v\n"two\nlines",1\nb,-1\n')
    sample = check(parse_contract(body), quoted).results[-1].samples[0]
    assert (sample["row"], sample["line"]) == (2, 4)  # the first record spans lines 2 and 3
    frame = check(parse_contract(body), pl.DataFrame({"note": ["a", "b"], "v": [1, -1]}))
    assert "line" not in frame.results[-1].samples[0] and frame.results[-1].samples[0]["row"] == 2
