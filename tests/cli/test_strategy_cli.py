"""CLI of the strategy tools, driven through typer's CliRunner on the strategy sub-app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from triops.cli.strategy import app
from triops.errors import InvalidInputError
from triops.strategy.scenarios import load_bank

runner = CliRunner()


def test_simulate_compare_prints_a_side_by_side_table() -> None:
    res = runner.invoke(app, ["simulate", "--compare", "siloed,integrated", "--runs", "200"])
    assert res.exit_code == 0, res.output
    assert "siloed" in res.output
    assert "integrated" in res.output
    assert "projects in production" in res.output


def test_simulate_json_is_reproducible() -> None:
    args = ["simulate", "--compare", "partial", "--practices", "model_monitoring", "--runs", "100", "--json"]
    one = json.loads(runner.invoke(app, args).output)
    two = json.loads(runner.invoke(app, args).output)
    assert one == two
    assert [a["name"] for a in one["approaches"]] == ["partial", "custom"]


def test_simulate_sources_lists_every_parameter_with_a_source() -> None:
    res = runner.invoke(app, ["simulate", "--sources", "--json"])
    rows = json.loads(res.output)
    assert {"cancel_rate", "cloud_waste", "shock.budget_cut.probability"} <= {r["name"] for r in rows}
    assert all(r["source"] for r in rows)


def test_simulate_bad_inputs_raise_clear_errors() -> None:
    res = runner.invoke(app, ["simulate", "--practices", "magic", "--runs", "10"])
    assert isinstance(res.exception, InvalidInputError)
    assert "known practices" in str(res.exception)
    res = runner.invoke(app, ["simulate", "--level", "expert", "--set", "cloud_waste=3", "--runs", "10"])
    assert "'cloud_waste' = 3 is outside its range [0, 1]" in str(res.exception)
    res = runner.invoke(app, ["simulate", "--level", "expert", "--set", "cloud_waste", "--runs", "10"])
    assert "NAME=NUMBER" in str(res.exception)


def test_assess_scenarios_from_file(tmp_path: Path) -> None:
    answers = tmp_path / "a.yaml"
    answers.write_text("data-schema-change: b\nfin-untagged-spend: a\n")
    res = runner.invoke(app, ["assess", "scenarios", "--answers", str(answers), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert {p["pillar"] for p in data["pillars"]} == {"dataops", "finops"}
    assert data["feedback"][1]["score"] == 0


def test_assess_scenarios_unknown_id_or_choice(tmp_path: Path) -> None:
    answers = tmp_path / "a.yaml"
    answers.write_text("data-schema-change: q\n")
    res = runner.invoke(app, ["assess", "scenarios", "--answers", str(answers)])
    assert "no choice 'q'" in str(res.exception)
    answers.write_text("who-knows: a\n")
    res = runner.invoke(app, ["assess", "scenarios", "--answers", str(answers)])
    assert "unknown scenario id 'who-knows'" in str(res.exception)


def test_assess_scenarios_interactive_gives_feedback_after_each_answer() -> None:
    mlops = load_bank().for_pillars(["mlops"])
    res = runner.invoke(app, ["assess", "scenarios", "--pillar", "mlops"], input="b\n" * len(mlops))
    assert res.exit_code == 0, res.output
    flat = " ".join(res.output.split())
    for s in mlops:
        assert " ".join(s.choice("b").explanation.split()) in flat
    assert "scenario results by pillar" in res.output
    assert res.output.count("Your choice") == len(mlops)


def test_assess_maturity_with_files_then_roadmap(tmp_path: Path) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text("skills: 2\nteam_integration: 1\n")
    evidence = tmp_path / "evidence.json"
    evidence.write_text(json.dumps({"runs_tracked": 30, "audit_verified": True}))
    result = tmp_path / "result.json"
    res = runner.invoke(
        app,
        ["assess", "maturity", "--answers", str(answers), "--evidence", str(evidence), "--out", str(result)],
    )
    assert res.exit_code == 0, res.output
    assert "evidence" in res.output
    assert "self-reported" in res.output
    saved = json.loads(result.read_text())
    assert saved["kind"] == "triops.maturity/v1"
    md = runner.invoke(app, ["roadmap", "--from", str(result)])
    assert md.exit_code == 0, md.output
    assert md.output.startswith("# 30-60-90-day roadmap")
    js = runner.invoke(
        app, ["roadmap", "--from", str(result), "--format", "json", "--out", str(tmp_path / "r.json")]
    )
    assert js.exit_code == 0
    assert json.loads((tmp_path / "r.json").read_text())["actions"]


def test_assess_maturity_interactive_skips_dimensions_with_evidence(tmp_path: Path) -> None:
    evidence = tmp_path / "e.json"
    evidence.write_text(json.dumps({"runs_tracked": 3}))
    res = runner.invoke(app, ["assess", "maturity", "--evidence", str(evidence), "--json"], input="2\n" * 40)
    assert res.exit_code == 0, res.output
    data = json.loads(res.output[res.output.index('{\n  "kind"') :])
    tracking = next(d for d in data["dimensions"] if d["dimension"] == "experiment_tracking")
    assert tracking["source"] == "evidence"


@pytest.mark.parametrize(
    ("content", "message"),
    [("vibes: 2\n", "unknown question id 'vibes'"), ("skills: 9\n", "answer to 'skills' is 9")],
)
def test_assess_maturity_bad_answers(tmp_path: Path, content: str, message: str) -> None:
    answers = tmp_path / "a.yaml"
    answers.write_text(content)
    res = runner.invoke(app, ["assess", "maturity", "--answers", str(answers)])
    assert message in str(res.exception)


def test_roadmap_refuses_a_file_that_is_not_an_assessment(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text("[1, 2")
    assert "is not JSON" in str(runner.invoke(app, ["roadmap", "--from", str(bad)]).exception)
    bad.write_text("{}")
    assert "not a maturity assessment" in str(runner.invoke(app, ["roadmap", "--from", str(bad)]).exception)


def test_wardley_default_check_and_render(tmp_path: Path) -> None:
    owm = tmp_path / "map.owm"
    res = runner.invoke(app, ["wardley", "default", "--out", str(owm), "--svg", str(tmp_path / "d.svg")])
    assert res.exit_code == 0, res.output
    assert "anchor Citizen need" in owm.read_text()
    assert "ok:" in runner.invoke(app, ["wardley", "check", str(owm)]).output
    res = runner.invoke(app, ["wardley", "render", str(owm)])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "map.svg").read_text().startswith("<svg")


def test_wardley_check_names_file_and_line(tmp_path: Path) -> None:
    owm = tmp_path / "bad.owm"
    owm.write_text("title t\ncomponent A [0.5, 7]\n")
    res = runner.invoke(app, ["wardley", "check", str(owm)])
    assert isinstance(res.exception, InvalidInputError)
    assert "bad.owm: line 2: component evolution 7 is outside [0, 1]" in str(res.exception)
