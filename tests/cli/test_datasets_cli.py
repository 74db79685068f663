"""``triops datasets register|list|show|diff|profile`` through the ``triops`` entry point, on SQLite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from triops.cli.main import run
from triops.dataops.demo import benefits_contract_path, corrupt_batch, load_benefits

CONTRACT = str(benefits_contract_path())


def _text(capsys: pytest.CaptureFixture[str]) -> str:
    """What was printed on stdout and stderr, with the terminal's line wrapping undone."""
    captured = capsys.readouterr()
    return " ".join((captured.out + captured.err).split())


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    benefits = load_benefits()
    benefits.write_parquet(tmp_path / "benefits.parquet")
    corrupt_batch(benefits, seed=5).write_csv(tmp_path / "bad.csv")
    people = tmp_path / "people.csv"
    people.write_text("id,email\n1,ann@example.org\n2,bo@example.org\n3,\n", encoding="utf-8")
    return {
        "store": f"sqlite:///{tmp_path}/t.db",
        "good": str(tmp_path / "benefits.parquet"),
        "bad": str(tmp_path / "bad.csv"),
        "people": str(people),
    }


def test_register_list_show_and_diff(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--store", files["store"], "datasets"]
    assert run([*base, "register", "benefits", files["good"], "-c", CONTRACT, "-p", "ui"]) == 0
    assert "dataset benefits v1: 4,877 rows, contract benefits@1.0.0 passed" in _text(capsys)
    # a failing check still registers the version, as not passed, and says which rules failed
    assert run([*base, "register", "benefits", files["bad"], "-c", CONTRACT, "-p", "ui"]) == 1
    out = _text(capsys)
    assert "age.range" in out and "v2: 1,500 rows" in out and "stored as not passed" in out
    assert run([*base, "list", "-p", "ui", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(v["version"], v["passed"], v["row_count"]) for v in listed] == [
        (1, True, 4877),
        (2, False, 1500),
    ]
    assert run([*base, "show", "benefits", "-p", "ui", "-v", "2"]) == 0
    out = _text(capsys)
    assert "age.range: 25 failing rows" in out and "profile of 1,500 rows" in out
    assert run([*base, "diff", "benefits", "1", "2", "-p", "ui", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["new_rows"] == 1500


def test_profile_flags_personal_data_without_registering(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["--store", files["store"], "datasets", "profile", files["people"], "--json"]) == 0
    profile = json.loads(capsys.readouterr().out)
    assert profile["row_count"] == 3
    assert profile["columns"]["email"]["personal_data"] == "email"
    assert run(["--store", files["store"], "datasets", "list"]) == 1
    assert "project 'default' has no datasets" in _text(capsys)


def test_register_refuses_a_missing_file_and_an_unknown_version(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--store", files["store"], "datasets"]
    assert run([*base, "register", "benefits", "nope.csv"]) == 1
    assert "nope.csv does not exist" in _text(capsys)
    assert run([*base, "register", "benefits", files["good"]]) == 0
    capsys.readouterr()
    assert run([*base, "show", "benefits", "-v", "7"]) == 1
    assert "dataset 'benefits' version 7 does not exist" in _text(capsys)


def test_profile_prints_names_and_values_that_look_like_markup_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from triops.cli import context

    monkeypatch.setenv("COLUMNS", "400")
    monkeypatch.setattr(context, "_CONSOLE", None)  # a console as wide as the table, so no cell wraps
    data = tmp_path / "odd.csv"
    data.write_text("[tag],code\n1,[red]x\n2,[red]x\n3,[blue]y\n", encoding="utf-8")
    assert run(["--store", f"sqlite:///{tmp_path}/t.db", "datasets", "profile", str(data)]) == 0
    out = _text(capsys)
    assert "[tag]" in out and "[red]x (2)" in out and "[blue]y" in out
