"""``triops run``, ``triops runs resume`` and ``triops lineage``: the functions behind the commands."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from tests.mlops.pipelines import pipeline_support as support
from typer.testing import CliRunner

from triops.artifacts import ArtifactStore
from triops.cli import pipelines as cli
from triops.errors import InvalidInputError
from triops.store.engine import Store

artifacts, lite = support.artifacts, support.lite
TARGET = "tests.mlops.pipelines.pipelines_example"


def _console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=160, force_terminal=False, color_system=None), buffer


def test_run_shows_the_steps_and_a_summary(lite: Store, artifacts: ArtifactStore) -> None:
    console, buffer = _console()
    result = cli.run_command(lite, artifacts, f"{TARGET}:numbers", ["n=3", "offset=2"], console=console)
    assert result.status == "FINISHED"
    text = buffer.getvalue()
    for expected in ("make_numbers", "doubled", "total", "DONE", f"run {result.run_id}", "FINISHED"):
        assert expected in text
    console, buffer = _console()
    again = cli.run_command(lite, artifacts, f"{TARGET}:numbers", ["n=3", "offset=2"], console=console)
    assert set(again.statuses.values()) == {"CACHED"} and "3 cached" in buffer.getvalue()
    fresh = cli.run_command(lite, artifacts, f"{TARGET}:numbers", ["n=3"], no_cache=True, as_json=True)
    assert set(fresh.statuses.values()) == {"DONE"}
    assert json.loads(json.dumps(fresh.to_dict()))["steps"][0]["step"] == "make_numbers"


def test_a_failed_run_says_how_to_resume_and_resume_finishes_it(
    lite: Store, artifacts: ArtifactStore, tmp_path: Path
) -> None:
    marker = tmp_path / "ok"
    console, buffer = _console()
    failed = cli.run_command(
        lite, artifacts, f"{TARGET}:fails_unless_marker", [f"marker={marker}"], console=console
    )
    assert failed.status == "FAILED"
    assert f"triops runs resume {failed.run_id}" in buffer.getvalue()
    marker.touch()
    console, buffer = _console()
    resumed = cli.resume_command(lite, artifacts, failed.run_id, console=console)
    assert resumed.status == "FINISHED" and "CACHED" in buffer.getvalue()


def test_lineage_prints_a_tree(lite: Store, artifacts: ArtifactStore) -> None:
    result = cli.run_command(lite, artifacts, f"{TARGET}:numbers", ["n=2"], as_json=True)
    console, buffer = _console()
    cli.lineage_command(lite, result.run_id, depth=5, console=console)
    text = buffer.getvalue()
    assert "total/output" in text and "step make_numbers" in text
    console, buffer = _console()
    cli.lineage_command(lite, result.outputs["total/output"].sha256, as_json=True, console=console)
    assert json.loads(buffer.getvalue())["children"][0]["label"] == "total"


def test_params_parse_json_values_and_refuse_malformed_pairs() -> None:
    assert cli.parse_params(["n=3", 'names=["a","b"]', "label=x=y"]) == {
        "n": "3",
        "names": ["a", "b"],
        "label": "x=y",
    }
    with pytest.raises(InvalidInputError, match="key=value"):
        cli.parse_params(["n"])
    with pytest.raises(InvalidInputError, match="not valid JSON"):
        cli.parse_params(["n=[1,"])


def test_an_unknown_param_lists_the_valid_ones(lite: Store, artifacts: ArtifactStore) -> None:
    with pytest.raises(InvalidInputError, match=r"valid parameters: n: int = 5, offset: int = 0"):
        cli.run_command(lite, artifacts, f"{TARGET}:numbers", ["rows=3"], as_json=True)


def test_the_typer_command_refuses_a_malformed_param_before_opening_anything() -> None:
    result = CliRunner().invoke(cli.app, ["run", f"{TARGET}:numbers", "--param", "oops"])
    assert isinstance(result.exception, InvalidInputError)
