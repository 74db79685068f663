"""``triops contract init|check|diff`` and ``triops openlineage validate`` through typer's CliRunner on the dataops sub-app."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from triops.cli.dataops import app, openlineage_app, render_dataset_diff
from triops.cli.main import run
from triops.dataops.contracts import load_contract
from triops.dataops.dataset_diff import diff_frames
from triops.dataops.demo import benefits_contract_path, corrupt_batch, load_benefits
from triops.errors import DataContractError, InvalidInputError
from triops.store.engine import Store

runner = CliRunner()
CONTRACT = str(benefits_contract_path())
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("data")
    benefits = load_benefits()
    benefits.write_csv(root / "benefits.csv")
    corrupt_batch(benefits, seed=5).write_csv(root / "bad.csv")
    return {"good": root / "benefits.csv", "bad": root / "bad.csv", "root": root}


def test_check_passes_and_prints_a_table(files: dict[str, Path]) -> None:
    res = runner.invoke(app, ["check", CONTRACT, str(files["good"])])
    assert res.exit_code == 0, res.output
    assert "4,877 rows against benefits@1.0.0" in res.output
    assert "check passed" in res.output
    assert "quality score 100/100 (4,877 rows checked, 0 failing at least one rule" in res.output


def test_check_exits_non_zero_on_an_error_failure_with_samples(files: dict[str, Path]) -> None:
    res = runner.invoke(app, ["check", CONTRACT, str(files["bad"])])
    assert res.exit_code == 1
    assert "FAIL" in res.output
    assert "failing rows (5 of" in res.output and "by line number" in res.output


def test_check_json_carries_every_result(files: dict[str, Path]) -> None:
    res = runner.invoke(app, ["check", CONTRACT, str(files["bad"]), "--json"])
    assert res.exit_code == 1
    report = json.loads(res.output)
    assert report["passed"] is False
    failing = {r["rule"]: r for r in report["results"] if not r["passed"]}
    assert failing["age.range"]["failing_rows"] == 25
    assert len(failing["age.range"]["samples"]) == 20
    assert report["quality"]["score"] < 100


def test_init_drafts_a_contract_the_data_passes(files: dict[str, Path]) -> None:
    out = files["root"] / "draft.yaml"
    res = runner.invoke(app, ["init", str(files["good"]), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert load_contract(out).schema_ is not None
    check = runner.invoke(app, ["check", str(out), str(files["good"]), "--json"])
    assert check.exit_code == 0, check.output
    printed = runner.invoke(app, ["init", str(files["good"])])
    assert printed.output.startswith("# Drafted by `triops contract init` (ODCS v3.1.0)")
    assert "\napiVersion: v3.1.0\n" in printed.output


def test_diff_shows_breaking_changes_and_advice(tmp_path: Path) -> None:
    old = Path(CONTRACT)
    new = tmp_path / "new.yaml"
    new.write_text(old.read_text().replace("minimum: 16", "minimum: 18"))
    res = runner.invoke(app, ["diff", str(old), str(new)])
    assert res.exit_code == 1, res.output  # breaking, but NEW still says 1.0.0: a CI gate fails
    assert "breaking" in res.output and "range tightened" in res.output
    assert "suggested version 2.0.0" in res.output
    as_json = json.loads(runner.invoke(app, ["diff", str(old), str(new), "--json"]).output)
    assert (as_json["bump"], as_json["version_ok"]) == ("major", False)


def test_bad_inputs_raise_clear_errors(tmp_path: Path, files: dict[str, Path]) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: v3.0.2\nschema: [\n")
    res = runner.invoke(app, ["check", str(broken), str(files["good"])])
    assert isinstance(res.exception, DataContractError)
    assert "line" in str(res.exception)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    res = runner.invoke(app, ["check", CONTRACT, str(empty)])
    assert isinstance(res.exception, InvalidInputError)


def test_render_dataset_diff_prints_shift(capsys: pytest.CaptureFixture[str]) -> None:
    benefits = load_benefits()
    render_dataset_diff(diff_frames(benefits, benefits.head(2000)), title="benefits v1 → v2")
    # rich prints through its own console; the call must simply not fail on real data


def test_render_demo_prints_the_stop(sqlite_store: Store) -> None:
    from triops.cli.dataops import render_demo
    from triops.dataops.demo import run_dataops_demo
    from triops.store.repositories.runs import ensure_project

    with sqlite_store.begin() as conn:
        project = ensure_project(conn, "demo", 0)
    render_demo(run_dataops_demo(sqlite_store, project))


def _lineage_events(root: Path) -> tuple[Path, Path]:
    from triops.dataops.openlineage import emit, run_event

    good = root / "events.jsonl"
    good.unlink(missing_ok=True)
    start = run_event(
        "START", run_id="0190e3c2-7d5a-7b3e-9c1a-2f4b6d8e0a1c", job_name="benefits.train", event_time=NOW
    )
    emit([start, start], good)
    bad = root / "bad-events.jsonl"
    broken = json.loads(good.read_text().splitlines()[0]) | {"eventType": "DONE"}
    bad.write_text(good.read_text() + json.dumps(broken) + "\n")
    return good, bad


def test_openlineage_validate_accepts_what_emit_writes(files: dict[str, Path]) -> None:
    good, _ = _lineage_events(files["root"])
    res = runner.invoke(openlineage_app, ["validate", str(good)])
    assert res.exit_code == 0, res.output
    assert "2 events against https://openlineage.io/spec/2-0-2/OpenLineage.json: all valid" in res.output


def test_openlineage_validate_names_line_and_path_and_exits_1(files: dict[str, Path]) -> None:
    _, bad = _lineage_events(files["root"])
    res = runner.invoke(openlineage_app, ["validate", str(bad)])
    assert res.exit_code == 1
    assert "line 3 $.eventType: 'DONE' is not one of" in res.output
    res = runner.invoke(openlineage_app, ["validate", str(bad), "--json"])
    report = json.loads(res.output)
    assert (report["events"], report["valid"]) == (3, False)
    assert [(p["line"], p["path"]) for p in report["problems"]] == [(3, "$.eventType")]


def test_openlineage_validate_of_a_missing_file_is_one_red_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["openlineage", "validate", str(tmp_path / "none.jsonl")]) == 1
    assert "error: no events file at" in capsys.readouterr().err


def test_the_triops_entry_point_passes_a_failed_check_exit_code_on(files: dict[str, Path]) -> None:
    """``run`` is what the console script calls: a command's non-zero exit must reach the shell."""
    assert run(["contract", "check", CONTRACT, str(files["good"]), "--json"]) == 0
    assert run(["contract", "check", CONTRACT, str(files["bad"]), "--json"]) == 1
    _, bad = _lineage_events(files["root"])
    assert run(["openlineage", "validate", str(bad)]) == 1


def test_check_prints_names_and_values_that_look_like_markup_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from triops.cli import context

    monkeypatch.setenv("COLUMNS", "400")
    monkeypatch.setattr(context, "_CONSOLE", None)  # a console as wide as the table, so no cell wraps
    (tmp_path / "d.csv").write_text("[key],v\n1,[red]x\n1,[red]x\n", encoding="utf-8")
    (tmp_path / "c.yaml").write_text(
        "apiVersion: v3.1.0\nkind: DataContract\nid: c\nversion: 1.0.0\nstatus: active\nschema:\n"
        "  - name: d\n    properties:\n      - name: '[key]'\n        logicalType: integer\n        unique: true\n"
    )
    res = runner.invoke(app, ["check", str(tmp_path / "c.yaml"), str(tmp_path / "d.csv")])
    assert res.exit_code == 1, res.output
    assert "│ [key].unique " in res.output and "│ [red]x " in res.output
