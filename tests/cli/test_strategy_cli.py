"""CLI of the strategy tools: through typer's CliRunner on the strategy sub-app, and through the real console
script where exit codes and stderr matter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from triops.cli.strategy import app
from triops.errors import InvalidInputError
from triops.strategy.scenarios import load_bank, start_quiz
from triops.strategy.simparams import load_parameters
from triops.strategy.simresult import assumptions_line

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
WIDE = {"COLUMNS": "200"}


@pytest.fixture
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh, wide shared console: the CLI's console is made once per process, at the width of that moment."""
    from triops.cli import context

    monkeypatch.setenv("COLUMNS", "400")
    monkeypatch.setattr(context, "_CONSOLE", None)


def _triops(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "triops"
    env = {**os.environ, "TRIOPS_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run([str(exe), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


# ---- simulate ---------------------------------------------------------------------------------------------


def test_simulate_table_carries_header_assumptions_currency_and_net_value(wide: None) -> None:
    res = runner.invoke(
        app, ["simulate", "--compare", "siloed,integrated", "--runs", "200", "--seed", "5"], env=WIDE
    )
    assert res.exit_code == 0, res.output
    flat = " ".join(res.output.split())
    for part in (
        "level standard",
        "seed 5",
        "200 runs × 5 projects × 104 weeks",
        "shocks: budget cut",
        "overrides: none",
    ):
        assert part in flat
    assert "net value (value - cost) (k EUR)" in flat and "return on investment" in flat
    assert " ".join(assumptions_line(False, len(load_parameters().assumed_effects())).split()) in flat


def test_simulate_neutral_is_one_flag_and_says_so() -> None:
    res = runner.invoke(
        app, ["simulate", "--compare", "siloed,integrated", "--runs", "100", "--neutral", "--json"]
    )
    data = json.loads(res.output)
    assert data["neutral"] is True and data["assumptions"].startswith("Neutral run")
    assert "practice effects: neutral (no effect)" in data["header"]


def test_simulate_json_is_reproducible_and_levers_work_at_intro() -> None:
    args = [
        "simulate",
        "--level",
        "intro",
        "--levers",
        "data_checks,control_costs",
        "--runs",
        "100",
        "--json",
    ]
    one = json.loads(runner.invoke(app, args).output)
    assert one == json.loads(runner.invoke(app, args).output)
    assert [a["name"] for a in one["approaches"]] == ["siloed", "your levers"]
    assert one["approaches"][1]["practices"] == [
        "experiment_tracking",
        "data_contracts",
        "cost_tagging",
        "budget_hard_stops",
    ]


def test_simulate_levels_differ_in_what_can_be_changed() -> None:
    intro = json.loads(runner.invoke(app, ["simulate", "--controls", "--level", "intro", "--json"]).output)
    expert = json.loads(runner.invoke(app, ["simulate", "--controls", "--level", "expert", "--json"]).output)
    assert len(intro["levers"]) == 3 and intro["practices"] == [] and intro["parameters"] == []
    assert len(expert["practices"]) == 8 and "cancel_rate" in expert["parameters"]
    res = runner.invoke(app, ["simulate", "--level", "intro", "--practices", "cost_tagging", "--runs", "10"])
    assert "custom practice mixes need level 'standard' or 'expert'" in str(res.exception)


def test_simulate_sensitivity_ranks_assumed_effects(wide: None) -> None:
    res = runner.invoke(
        app,
        [
            "simulate",
            "--sensitivity",
            "--compare",
            "siloed,integrated",
            "--runs",
            "100",
            "--weeks",
            "50",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    swings = [r["swing"] for r in data["rows"]]
    assert swings == sorted(swings, reverse=True)
    assert data["assumptions"] and "integrated minus siloed" in data["outcome"]
    table = runner.invoke(app, ["simulate", "--sensitivity", "--runs", "50", "--weeks", "30"], env=WIDE)
    assert "Which assumptions move the outcome most" in table.output


def test_simulate_sources_marks_the_assumed_effects() -> None:
    rows = json.loads(runner.invoke(app, ["simulate", "--sources", "--json"]).output)
    by_name = {r["name"]: r for r in rows}
    assert by_name["data_contracts.data_incident_rate"]["assumed_effect"] is True
    assert by_name["cancel_rate"]["assumed_effect"] is False
    assert all(r["source"] for r in rows)


def test_simulate_bad_inputs_raise_clear_errors() -> None:
    res = runner.invoke(app, ["simulate", "--practices", "magic", "--runs", "10"])
    assert "known practices" in str(res.exception)
    res = runner.invoke(app, ["simulate", "--level", "expert", "--set", "cloud_waste=3", "--runs", "10"])
    assert "'cloud_waste' = 3 is outside its range [0, 1]" in str(res.exception)
    res = runner.invoke(app, ["simulate", "--level", "expert", "--set", "cloud_waste", "--runs", "10"])
    assert "NAME=NUMBER" in str(res.exception)


# ---- assess scenarios ---------------------------------------------------------------------------------------


def test_assess_scenarios_interactive_numbers_questions_and_names_the_best_choice(wide: None) -> None:
    quiz = start_quiz(load_bank(), level="manager", seed=3, count=5)
    key = quiz.answer_key()
    answers = []
    for q in quiz.questions:  # always wrong, in capitals, after one invalid try on the first
        wrong = next(letter for letter in q.letters if letter != key[q.scenario_id])
        answers.append(wrong.upper())
    text = "x\n" + "\n".join(answers) + "\n"
    res = runner.invoke(
        app,
        ["assess", "scenarios", "--level", "manager", "--seed", "3", "--count", "5"],
        input=text,
        env=WIDE,
    )
    assert res.exit_code == 0, res.output
    flat = " ".join(res.output.split())
    assert "Question 1 of 5" in flat and "Question 5 of 5" in flat
    assert "'x' is not one of a, b, c" in flat
    for q in quiz.questions:
        s = load_bank().get(q.scenario_id)
        assert f"Best choice ({key[q.scenario_id]}): {' '.join(s.choices[s.best_index].text.split())}" in flat
        assert f"Read next: {s.read_next}" in flat
    assert "Weakest:" in flat and "answering at random would score about" in flat


def test_assess_scenarios_sheet_then_answers_file_of_the_same_attempt(tmp_path: Path) -> None:
    sheet = runner.invoke(app, ["assess", "scenarios", "--level", "novice", "--seed", "8", "--sheet"])
    assert sheet.exit_code == 0 and "attempt 8" in sheet.output
    assert (
        sheet.output
        == runner.invoke(app, ["assess", "scenarios", "--level", "novice", "--seed", "8", "--sheet"]).output
    )
    key = json.loads(
        runner.invoke(
            app, ["assess", "scenarios", "--level", "novice", "--seed", "8", "--key", "--json"]
        ).output
    )["answer_key"]
    answers = tmp_path / "a.yaml"
    answers.write_text("\n".join(f"{sid}: {letter.upper()}" for sid, letter in key.items()))
    res = runner.invoke(
        app, ["assess", "scenarios", "--level", "novice", "--seed", "8", "--answers", str(answers), "--json"]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["percent"] == 100 and data["answered"] == data["total"] == len(key)


def test_assess_scenarios_answers_need_the_seed_and_valid_letters(tmp_path: Path) -> None:
    answers = tmp_path / "a.yaml"
    answers.write_text("data-schema-change: q\n")
    res = runner.invoke(app, ["assess", "scenarios", "--answers", str(answers)])
    assert "pass the --seed" in str(res.exception)
    res = runner.invoke(app, ["assess", "scenarios", "--seed", "1", "--answers", str(answers)])
    assert "answer 'q' to 'data-schema-change'" in str(res.exception)
    answers.write_text("who-knows: a\n")
    res = runner.invoke(app, ["assess", "scenarios", "--seed", "1", "--answers", str(answers)])
    assert "'who-knows' is not in this attempt" in str(res.exception)


# ---- assess maturity, progress, roadmap ----------------------------------------------------------------------


def test_assess_maturity_prints_the_figures_and_marks_claims(tmp_path: Path, wide: None) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text("skills: 2\nteam_integration: 1\ndata_versioning: 3\n")
    evidence = tmp_path / "evidence.json"
    evidence.write_text(
        json.dumps({"dataset_versions": 2, "model_versions": 2, "model_versions_with_training_data": 1})
    )
    result = tmp_path / "result.json"
    res = runner.invoke(
        app,
        ["assess", "maturity", "--answers", str(answers), "--evidence", str(evidence), "--out", str(result)],
    )
    assert res.exit_code == 0, res.output
    assert "claimed" in res.output and "self-reported" in res.output and "what the store shows" in res.output
    saved = json.loads(result.read_text())
    assert saved["kind"] == "triops.maturity/v2"
    versioning = next(d for d in saved["dimensions"] if d["dimension"] == "data_versioning")
    assert "model versions linked to their training dataset versions: 1 of 2 (50%)" in versioning["figures"]
    assert versioning["claim_above_evidence"] and (versioning["level"], versioning["claimed"]) == (2, 3)
    md = runner.invoke(app, ["roadmap", "--from", str(result)])
    assert md.exit_code == 0 and md.output.startswith("# 30-60-90-day roadmap")
    js = runner.invoke(
        app, ["roadmap", "--from", str(result), "--format", "json", "--out", str(tmp_path / "r.json")]
    )
    assert js.exit_code == 0
    assert json.loads((tmp_path / "r.json").read_text())["actions"]


def test_assess_maturity_asks_only_what_the_store_cannot_show(tmp_path: Path) -> None:
    evidence = tmp_path / "e.json"
    evidence.write_text(json.dumps({"runs_tracked": 3}))
    res = runner.invoke(app, ["assess", "maturity", "--evidence", str(evidence), "--json"], input="2\n" * 40)
    assert res.exit_code == 0, res.output
    assert res.output.count("Level [0/1/2/3/4]") == 3  # the three dimensions no store can show
    data = json.loads(res.output[res.output.index('{\n  "kind"') :])
    tracking = next(d for d in data["dimensions"] if d["dimension"] == "experiment_tracking")
    assert tracking["source"] == "evidence" and tracking["figures"]


def test_assess_maturity_on_the_store_verifies_the_audit_log_and_progress_shows_change(
    tmp_path: Path,
) -> None:
    from triops.cli.context import open_workspace

    ws = open_workspace()
    with ws.start_run("p") as run:
        run.log_param("alpha", 1)
        run.log_metric("auc", 0.7)
    answers = tmp_path / "a.yaml"
    answers.write_text("skills: 0\n")
    first = runner.invoke(app, ["assess", "maturity", "--answers", str(answers), "--json"])
    assert first.exit_code == 0, first.output
    audit = next(d for d in json.loads(first.output)["dimensions"] if d["dimension"] == "audit_trail")
    # the only event is the owner's bootstrap when the store was created; the chain verifies
    assert audit["figures"] == ["audit events: 1", "audit log verified: yes"]
    answers.write_text("skills: 2\n")
    assert runner.invoke(app, ["assess", "maturity", "--answers", str(answers)]).exit_code == 0
    rows = json.loads(runner.invoke(app, ["assess", "progress", "--json"]).output)
    assert len(rows) == 2
    assert {"dimension": "skills", "name": "Skills and learning", "from": 0, "to": 2} in rows[1]["changes"]
    shown = runner.invoke(app, ["assess", "progress"])
    assert "Skills and learning: 0 → 2" in shown.output
    plan = runner.invoke(app, ["roadmap"])
    assert plan.exit_code == 0 and "## Days 1–30" in plan.output


def test_roadmap_without_a_stored_assessment_says_what_to_do(tmp_path: Path) -> None:
    res = runner.invoke(app, ["roadmap"])
    assert isinstance(res.exception, InvalidInputError)
    assert "no stored maturity assessment" in str(res.exception)
    bad = tmp_path / "x.json"
    bad.write_text("[1, 2")
    assert "is not JSON" in str(runner.invoke(app, ["roadmap", "--from", str(bad)]).exception)
    bad.write_text("{}")
    assert "not a maturity assessment" in str(runner.invoke(app, ["roadmap", "--from", str(bad)]).exception)


def test_assess_maturity_bad_answers(tmp_path: Path) -> None:
    answers = tmp_path / "a.yaml"
    for content, message in (
        ("vibes: 2\n", "unknown question id 'vibes'"),
        ("skills: 9\n", "answer to 'skills' is 9"),
    ):
        answers.write_text(content)
        res = runner.invoke(app, ["assess", "maturity", "--answers", str(answers), "--no-store"])
        assert message in str(res.exception)


# ---- wardley ----------------------------------------------------------------------------------------------


def test_wardley_default_check_and_render(tmp_path: Path) -> None:
    owm = tmp_path / "map.owm"
    res = runner.invoke(app, ["wardley", "default", "--out", str(owm), "--svg", str(tmp_path / "d.svg")])
    assert res.exit_code == 0, res.output
    assert "anchor Citizen need" in owm.read_text()
    assert "ok:" in runner.invoke(app, ["wardley", "check", str(owm)]).output
    res = runner.invoke(app, ["wardley", "render", str(owm)])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "map.svg").read_text().startswith("<svg")


def test_wardley_check_reports_every_error_at_once(tmp_path: Path) -> None:
    owm = tmp_path / "bad.owm"
    owm.write_text("title t\ncomponent A [0.5, 7]\nwhatever this is\ncomponent B [x, 0.1]\nA->Ghost\n")
    res = runner.invoke(app, ["wardley", "check", str(owm), "--json"])
    assert res.exit_code == 1
    data = json.loads(res.output)
    assert [e["line"] for e in data["errors"]] == [2, 4]
    assert any("line 3" in w for w in data["warnings"]) and any("Ghost" in w for w in data["warnings"])


def test_wardley_render_warns_about_what_it_does_not_draw(tmp_path: Path, wide: None) -> None:
    owm = tmp_path / "m.owm"
    owm.write_text("component A [0.5, 0.5]\nA->Nowhere\n")
    res = runner.invoke(app, ["wardley", "render", str(owm)], env=WIDE)
    assert res.exit_code == 0
    assert "not drawn: link A->Nowhere not drawn: 'Nowhere' is not on the map" in " ".join(res.output.split())


def test_wardley_from_store_draws_the_records(tmp_path: Path) -> None:
    from triops.cli.context import open_workspace

    with open_workspace().start_run("benefits") as run:
        run.log_metric("auc", 0.7)
    res = runner.invoke(
        app, ["wardley", "from-store", "--out", str(tmp_path / "r.owm"), "--svg", str(tmp_path / "r.svg")]
    )
    assert res.exit_code == 0, res.output
    text = (tmp_path / "r.owm").read_text()
    assert "anchor Public need" in text and "benefits (service)" in text
    assert "Experiment tracking" in text and "Not in the records:" in text
    assert (tmp_path / "r.svg").read_text().startswith("<svg")


# ---- through the console script ---------------------------------------------------------------------------


def test_console_script_exit_codes_and_one_red_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.owm"
    bad.write_text("component A [0.5, 2]\ncomponent B [x, 0.1]\n")
    done = _triops("wardley", "check", str(bad), cwd=tmp_path, home=tmp_path / "home")
    assert done.returncode == 1 and "line 1: component evolution 2 is outside [0, 1]" in done.stdout
    # bracketed text that looks like rich markup is printed as written, in check lines and in the error line
    assert "(coordinates are [visibility, evolution])" in done.stdout and "[x, 0.1]" in done.stdout
    done = _triops("wardley", "render", str(bad), cwd=tmp_path, home=tmp_path / "home")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "(coordinates are [visibility, evolution])" in done.stderr and "[x, 0.1]" in done.stderr
    answers = tmp_path / "a.yaml"
    answers.write_text("data-schema-change: a\n")
    done = _triops("assess", "scenarios", "--answers", str(answers), cwd=tmp_path, home=tmp_path / "home")
    out = done.stdout + done.stderr
    assert done.returncode == 1 and "pass the --seed" in out and "Traceback" not in out
    assert len([line for line in out.splitlines() if line.startswith("error:")]) == 1


@pytest.mark.parametrize("doc", ["README.md", "docs/strategy.md"])
def test_the_simulation_tables_in_the_docs_carry_the_assumptions_line(doc: str) -> None:
    text = " ".join((ROOT / doc).read_text().split())
    line = assumptions_line(False, len(load_parameters().assumed_effects()))
    assert " ".join(line.split()) in text


def test_the_run_sheet_uses_only_commands_and_options_that_exist() -> None:
    import re

    from triops.cli.main import app as root

    sheet = (
        (ROOT / "docs/strategy.md").read_text().split("## A 45-minute run-sheet", 1)[1].split("\n## ", 1)[0]
    )
    commands = re.findall(r"`(?:TRIOPS_HOME=\S+ )?triops ([^`]+)`", sheet)
    assert len(commands) >= 15
    for command in commands:
        words = command.split()
        path = [w for w in words[:2] if not w.startswith("-")]
        path = path[:1] if path[0] in ("simulate", "roadmap", "demo") else path
        result = runner.invoke(root, [*path, "--help"], env={"COLUMNS": "300"})
        assert result.exit_code == 0 and "Usage" in result.output, command
        help_text = result.output
        for option in (w.split("=")[0] for w in words if w.startswith("--")):
            assert option in help_text, (command, option)
