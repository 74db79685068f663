"""``triops models list|show|alias|promote|card`` through typer's CliRunner on the models sub-app."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

from triops.cli import context
from triops.cli.models import app, card_text, show_data, workspace_registry
from triops.errors import ConflictError, NotFoundError
from triops.mlops.evaluation.records import evaluate_version
from triops.mlops.registry.service import ModelRegistry

runner = CliRunner()


def _data(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"age": rng.integers(18, 65, n), "rr": rng.random(n)})
    frame["ui"] = np.where(frame.rr + rng.normal(0, 0.3, n) > 0.5, "yes", "no")
    return frame


@pytest.fixture
def registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_store_url: str
) -> Iterator[ModelRegistry]:
    monkeypatch.setenv("TRIOPS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TRIOPS_USER", raising=False)
    context.close_workspace()
    context.STATE.store_url = sqlite_store_url
    reg = workspace_registry()
    data = _data()
    for c in (0.01, 1.0):
        reg.register(
            "benefits",
            LogisticRegression(C=c).fit(data[["age", "rr"]], data.ui),
            training_frame=data[["age", "rr"]],
        )
    yield reg
    context.close_workspace()
    context.STATE.store_url = None


def test_list_as_table_and_json(registry: ModelRegistry) -> None:
    res = runner.invoke(app, ["list"])
    assert res.exit_code == 0, res.output
    assert "benefits" in res.output
    rows = json.loads(runner.invoke(app, ["list", "--json"]).output)
    assert rows[0]["latest_version"] == 2


def test_alias_then_show_by_alias(registry: ModelRegistry) -> None:
    res = runner.invoke(app, ["alias", "benefits", "champion", "1"])
    assert res.exit_code == 0, res.output
    assert "benefits@champion → benefits/1" in res.output
    shown = json.loads(runner.invoke(app, ["show", "benefits@champion", "--json"]).output)
    assert shown["version"] == 1
    assert shown["aliases"] == ["champion"]
    assert runner.invoke(app, ["alias", "benefits", "champion", "--delete"]).exit_code == 0
    assert registry.list_models()[0]["aliases"] == {}


def test_promote_valid_and_invalid(registry: ModelRegistry) -> None:
    res = runner.invoke(app, ["promote", "benefits/2", "staging"])
    assert res.exit_code == 0, res.output
    assert "now in staging" in res.output
    res = runner.invoke(app, ["promote", "benefits/1", "production"])
    assert isinstance(res.exception, ConflictError)
    assert "staging, archived" in str(res.exception)


def test_unknown_reference_propagates_not_found(registry: ModelRegistry) -> None:
    res = runner.invoke(app, ["show", "benefits/9"])
    assert isinstance(res.exception, NotFoundError)
    assert "versions: 1, 2" in str(res.exception)


def test_card_formats_and_file_output(registry: ModelRegistry, tmp_path: Path) -> None:
    evaluate_version(registry, "benefits/2", _data(), target="ui", resamples=20)
    res = runner.invoke(app, ["card", "benefits/2", "--format", "md"])
    assert res.exit_code == 0, res.output
    assert "# Model card: benefits version 2" in res.output
    out = tmp_path / "card.html"
    assert runner.invoke(app, ["card", "benefits/2", "--format", "html", "--out", str(out)]).exit_code == 0
    assert out.read_text().startswith("<!doctype html>")
    assert json.loads(card_text(registry, "benefits/2", "json"))["completeness"] > 0.5
    assert show_data(registry, "benefits/2")["card_completeness"] is not None
    shown = runner.invoke(app, ["show", "benefits/2"])
    assert "roc_auc" in shown.output
