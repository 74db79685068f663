"""``triops prices|cost|budget``: the Typer sub-apps and the store-backed functions behind them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.finops.conftest import SIMPLE_CATALOG, usage, write_catalog
from typer.testing import CliRunner

from triops.cli import finops as cli
from triops.cli import finops_budget
from triops.domain.clock import utc_ms
from triops.errors import ConfigError, InvalidInputError
from triops.finops.prices import load_price_book
from triops.finops.service import FinOpsService
from triops.store.engine import Store

runner = CliRunner()
NOW = utc_ms(datetime.now(UTC))


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    return write_catalog(tmp_path)


@pytest.fixture
def filled(sqlite_store: Store, catalog: Path) -> Store:
    svc = FinOpsService(sqlite_store, load_price_book(catalog))
    svc.record_usage(
        [
            usage(run_id="a", started_ms=NOW - 60_000, tags={"team": "ml", "model_version": "churn@1"}),
            usage(run_id="b", project="fraud", started_ms=NOW - 60_000),
        ]
    )
    return sqlite_store


@pytest.fixture
def cli_store(filled: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    # the workspace's store is supplied by triops.cli.context; point the commands at the test store
    monkeypatch.setattr(cli, "_open_store", lambda catalog=None: filled)
    monkeypatch.setattr(finops_budget, "_open_store", lambda catalog=None: filled)
    return filled


def test_prices_show_json_lists_sources() -> None:
    result = runner.invoke(cli.prices_app, ["show", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {"environment", "resource", "price", "currency", "source", "source_date"} <= set(rows[0])
    assert any(r["environment"] == "gcp-us-central1" for r in rows)


def test_prices_show_table_and_validate(catalog: Path) -> None:
    result = runner.invoke(cli.prices_app, ["show", "--catalog", str(catalog)])
    assert result.exit_code == 0
    assert "price catalog" in result.output
    result = runner.invoke(cli.prices_app, ["validate", "--catalog", str(catalog)])
    assert result.exit_code == 0
    assert "valid" in result.output


def test_prices_validate_refuses_overlaps(tmp_path: Path) -> None:
    bad = write_catalog(
        tmp_path, SIMPLE_CATALOG + SIMPLE_CATALOG.split("[[prices]]", 1)[1].join(["[[prices]]", ""])
    )
    result = runner.invoke(cli.prices_app, ["validate", "--catalog", str(bad)])
    assert result.exit_code == 1
    assert isinstance(result.exception, ConfigError)
    assert "overlap" in str(result.exception)


def test_cost_report_function(filled: Store, catalog: Path) -> None:
    month = datetime.now(UTC).strftime("%Y-%m")
    rows = cli.cost_report(filled, by="project", period=month, catalog=catalog)
    assert {r["project"]: r["cost"] for r in rows} == {"churn": "$0.0396", "fraud": "$0.0396"}
    shown = cli.cost_report(filled, by="project", period=month, catalog=catalog, with_total=True)
    assert shown[-1]["project"] == "total" and shown[-1]["cost"] == "$0.0792"  # adds up as printed
    model = cli.cost_report(filled, by="model", catalog=catalog)
    assert "churn@1" in [r["model_version"] for r in model]


def test_cost_commands_through_typer(cli_store: Store, catalog: Path, tmp_path: Path) -> None:
    result = runner.invoke(cli.cost_app, ["report", "--by", "run", "--json", "--catalog", str(catalog)])
    assert result.exit_code == 0, result.output
    assert {r["run_id"] for r in json.loads(result.output)} == {"a", "b"}
    result = runner.invoke(cli.cost_app, ["report", "--by", "step", "--catalog", str(catalog)])
    assert result.exit_code == 0
    assert "cost by step" in result.output
    result = runner.invoke(cli.cost_app, ["forecast", "--json", "--catalog", str(catalog)])
    assert result.exit_code == 0
    assert {f["project"] for f in json.loads(result.output)["forecasts"]} == {"churn", "fraud"}
    result = runner.invoke(cli.cost_app, ["forecast", "--catalog", str(catalog)])
    assert result.exit_code == 0
    assert "month-end forecast" in result.output
    result = runner.invoke(cli.cost_app, ["recommend", "--json", "--catalog", str(catalog)])
    assert result.exit_code == 0
    assert isinstance(json.loads(result.output), list)
    out = tmp_path / "costs.csv"
    result = runner.invoke(
        cli.cost_app, ["export", "--format", "focus", "--out", str(out), "--catalog", str(catalog)]
    )
    assert result.exit_code == 0
    assert "wrote 4 FOCUS 1.2 rows" in result.output
    result = runner.invoke(cli.cost_app, ["import", str(out), "--catalog", str(catalog)])
    assert result.exit_code == 0
    assert "imported 4 FOCUS rows" in result.output


def test_budget_commands_through_typer(cli_store: Store, catalog: Path) -> None:
    result = runner.invoke(
        cli.budget_app,
        ["set", "--project", "churn", "--amount", "0.05", "--currency", "USD", "--catalog", str(catalog)],
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli.budget_app, ["list", "--json", "--catalog", str(catalog)])
    rows = json.loads(result.output)
    assert rows[0]["name"] == "churn"
    assert rows[0]["spent"] == "$0.0396"
    assert rows[0]["amount"] == "$0.05"
    assert rows[0]["alerts"] == "50 %"  # the alert that fired shows where the analyst looks
    assert rows[0]["pct"] == "79.2"
    result = runner.invoke(
        cli.budget_app, ["burn-down", "--project", "churn", "--json", "--catalog", str(catalog)]
    )
    burn = json.loads(result.output)
    assert (
        burn["budget"]["name"] == "churn" and burn["spent"][-1] == 39_600 and burn["amount_micros"] == 50_000
    )
    assert len(burn["spent"]) + len(burn["forecast"]) - 1 == burn["days"]
    result = runner.invoke(
        cli.budget_app, ["burn-down", "--project", "churn", "--days", "--catalog", str(catalog)]
    )
    assert result.exit_code == 0 and "spent by" in result.output and "forecast" in result.output
    result = runner.invoke(cli.budget_app, ["burn-down", "--team", "churn", "--catalog", str(catalog)])
    assert result.exit_code == 1 and "budget team 'churn' (month) does not exist" in str(result.exception)
    result = runner.invoke(
        cli.budget_app, ["set", "--project", "churn", "--amount", "-1", "--catalog", str(catalog)]
    )
    assert result.exit_code == 1
    assert "not positive" in str(result.exception)


def test_budget_set_function_validates_owner_and_thresholds(filled: Store, catalog: Path) -> None:
    with pytest.raises(InvalidInputError, match="exactly one"):
        cli.budget_set(filled, project="a", team="b", amount="1", catalog=catalog)
    with pytest.raises(InvalidInputError, match="not integers"):
        cli.budget_set(filled, team="ml", amount="1", thresholds="half", catalog=catalog)
    row = cli.budget_set(filled, team="ml", amount="0.01", currency="USD", period="quarter", catalog=catalog)
    assert row["scope"] == "team"
    assert row["period"] == "quarter"
    assert cli.budget_list(filled, catalog=catalog)[0]["pct"] == "792.0"  # both runs are team ml


def test_export_refuses_unknown_format(filled: Store, catalog: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="format"):
        cli.cost_export(filled, out=tmp_path / "x.csv", fmt="csv", catalog=catalog)
