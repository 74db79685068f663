"""FinOps you can act on, through the installed console script: a tagged run's cost by team and model,
a shared cost allocated as its own line, cost per model version, the required-tags rule, budget alerts in
the run's own output, and readable money."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TRIOPS = str(Path(sys.executable).parent / "triops")
PIPELINE = """
import time

from triops.mlops.pipelines.authoring import pipeline, step


@step(resources={"cpu": 8, "memory_gb": 16})
def work(n: int) -> int:
    time.sleep(0.5)  # half a second of 8 reserved cores: a cost in whole micro-euros
    return sum(range(n))


@pipeline
def train(n: int = 1000) -> None:
    work(n)
"""


def _triops(home: Path, *args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIOPS_")}
    env.update(TRIOPS_HOME=str(home), COLUMNS="200")
    if config is not None:
        env["TRIOPS_CONFIG"] = str(config)
    return subprocess.run(
        [TRIOPS, *args], env=env, capture_output=True, text=True, timeout=300, check=False, cwd=home
    )


def test_tagged_runs_are_reported_by_team_and_shared_cost_is_its_own_line(tmp_path: Path) -> None:
    script = tmp_path / "flow.py"
    script.write_text(PIPELINE, encoding="utf-8")
    for team in ("fraud", "churn"):
        done = _triops(tmp_path, "run", f"{script}:train", "--tag", f"team={team}", "--tag",
                       "model_version=m/1", "--environment", "local", "--no-cache", "--json")  # fmt: skip
        assert done.returncode == 0, done.stderr
    report = json.loads(_triops(tmp_path, "cost", "report", "--by", "team", "--json").stdout)
    assert {r["team"] for r in report} == {"fraud", "churn"}
    assert all(r["cost"].startswith("€") for r in report)
    period = subprocess.run(
        ["date", "-u", "+%Y-%m"], capture_output=True, text=True, check=True
    ).stdout.strip()
    done = _triops(tmp_path, "cost", "allocate", "GPU cluster idle", "--amount", "100", "--period", period,
                   "--by", "team", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    shares = json.loads(done.stdout)
    assert shares[-1]["team"] == "total" and shares[-1]["share"] == "€100.00"
    assert sum(r["share_micros"] for r in shares[:-1]) == 100_000_000
    report = json.loads(_triops(tmp_path, "cost", "report", "--by", "team", "--json").stdout)
    assert {r["source"] for r in report} == {"metered", "shared: GPU cluster idle"}
    table = _triops(tmp_path, "cost", "report", "--by", "team")
    assert "shared: GPU cluster idle" in table.stdout and "total" in table.stdout
    models = json.loads(_triops(tmp_path, "cost", "models", "--json").stdout)
    assert [m["model_version"] for m in models] == ["m/1"]


def test_required_tags_and_budget_alerts_show_where_they_happen(tmp_path: Path) -> None:
    script = tmp_path / "flow.py"
    script.write_text(PIPELINE, encoding="utf-8")
    config = tmp_path / "triops.toml"
    config.write_text('[finops]\nrequired_tags = ["team"]\n', encoding="utf-8")
    refused = _triops(tmp_path, "run", f"{script}:train", config=config)
    assert refused.returncode == 1
    assert "run lacks required tags: team" in refused.stdout + refused.stderr
    assert "Traceback" not in refused.stdout + refused.stderr
    done = _triops(tmp_path, "budget", "set", "--team", "fraud", "--amount", "0.000001", config=config)
    assert done.returncode == 0, done.stderr
    assert "€0.000001 per month" in done.stdout
    run = _triops(tmp_path, "run", f"{script}:train", "--tag", "team=fraud", config=config)
    assert "budget alert" in run.stdout, run.stdout + run.stderr
    listed = json.loads(_triops(tmp_path, "budget", "list", "--json", config=config).stdout)
    assert listed[0]["alerts"] == "50 %,80 %,100 %"
