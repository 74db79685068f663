"""``triops kpis`` through the installed console script: the same scorecard as the home page, snapshots
with --record, --json for scripts, and a bad kpis.toml as one error line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from triops import Workspace
from triops.settings import Settings

TRIOPS = str(Path(sys.executable).parent / "triops")


def _triops(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIOPS_")}
    env.update(TRIOPS_HOME=str(home), COLUMNS="160")
    return subprocess.run([TRIOPS, *args], env=env, capture_output=True, text=True, timeout=180, check=False)


def _seed(home: Path) -> None:
    with Workspace.open(settings=Settings(home=home)) as ws, ws.start_run("churn") as run:
        run.log_metric("auc", 0.7)


def test_kpis_prints_every_kpi_with_no_data_yet_and_records_snapshots(tmp_path: Path) -> None:
    _seed(tmp_path)
    done = _triops(tmp_path, "kpis")
    assert done.returncode == 0, done.stderr
    assert "KPIs of churn" in done.stdout
    assert "no data yet" in done.stdout
    assert "pending approvals" in done.stdout
    recorded = _triops(tmp_path, "kpis", "--record", "--json")
    assert recorded.returncode == 0, recorded.stderr
    rows = json.loads(recorded.stdout)["churn"]
    assert {r["name"] for r in rows} >= {"data quality score", "cost per run", "audit verified"}
    by_name = {r["name"]: r for r in rows}
    assert by_name["data quality score"]["value"] is None
    assert by_name["audit verified"]["value"] == 1.0
    again = json.loads(_triops(tmp_path, "kpis", "--json").stdout)["churn"]
    assert {r["name"]: r for r in again}["audit verified"]["history"] == [1.0]


def test_a_bad_definitions_file_is_one_error_line_naming_the_key(tmp_path: Path) -> None:
    _seed(tmp_path)
    bad = tmp_path / "k.toml"
    bad.write_text("[[kpi]]\nname = 'x'\nformula = 'a'\ncolour = 'red'\n", encoding="utf-8")
    done = _triops(tmp_path, "kpis", "--definitions", str(bad))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "colour" in done.stderr
    unknown = _triops(tmp_path, "kpis", "--project", "nope")
    assert unknown.returncode == 1
    assert "nope" in unknown.stderr
