"""``triops monitor create|run|show|labels`` and ``triops alerts list`` as a stranger runs them: the console
script in a subprocess, on a store with a served model and logged traffic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.mlops.serving.helpers import claimants, register_served

from triops import Workspace
from triops.governance.rbac import Principal
from triops.settings import Settings

EXE = str(Path(sys.executable).parent / "triops")
POLICIES = """\
alerts:
  - name: drifted
    expr: drift.psi.max > 0.2
"""


@pytest.fixture
def store(tmp_path: Path) -> tuple[dict[str, str], list[str]]:
    """A store with one served model and two windows of traffic (the second shifted); env and the ids of
    the first window's predictions."""
    url = f"sqlite:///{tmp_path / 'triops.db'}"
    ws = Workspace.open(url, artifact_root=tmp_path / "artifacts", settings=Settings(home=tmp_path))
    owner = ws.acting_as(Principal.owner(os.environ.get("USER") or "root"))
    register_served(owner)
    normal = claimants(200, seed=1)[["age", "tenure", "income"]]
    shifted = normal.assign(age=normal.age + 30)
    first = owner.serving.predict("claims@champion", normal)
    time.sleep(0.005)
    owner.serving.predict("claims@champion", shifted)
    owner.serving.close()
    ws.close()
    env = {
        **os.environ,
        "TRIOPS_HOME": str(tmp_path),
        "TRIOPS_STORE_URL": url,
        "TRIOPS_ARTIFACT_ROOT": str(tmp_path / "artifacts"),
    }
    return env, [f"{first.request_id}/{i}" for i in range(200)]


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], env=env, capture_output=True, text=True, timeout=300, check=False)


def test_monitor_commands_end_to_end(store: tuple[dict[str, str], list[str]], tmp_path: Path) -> None:
    env, first_ids = store
    policies = tmp_path / "alerts.yaml"
    policies.write_text(POLICIES)
    created = _cli(
        env, "monitor", "create", "claims@champion", "--window", "200", "--policies", str(policies),
        "--every", "1h",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert "windows of 200" in created.stdout and "age, tenure" in created.stdout
    assert "runs every 3600 s" in created.stdout
    due = _cli(env, "monitor", "run", "--due")  # what cron runs: nothing is due for an hour
    assert due.returncode == 0 and "no monitor is due" in due.stdout, due.stderr

    ran = _cli(env, "monitor", "run", "claims@champion", "--json")
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)
    assert [w["seq"] for w in result["windows"]] == [0, 1]
    assert [a["policy"] for a in result["alerts"]] == ["drifted"]

    labels = tmp_path / "labels.csv"
    truth = claimants(200, seed=1)["ui"].tolist()
    labels.write_text(
        "id,label\n" + "".join(f"{i},{y}\n" for i, y in zip(first_ids, truth, strict=True)) + "nope,1\n"
    )
    logged = _cli(env, "monitor", "labels", str(labels))
    assert logged.returncode == 0, logged.stderr
    assert "stored 200 label(s); 1 unknown id(s)" in logged.stdout and "unknown: nope" in logged.stdout

    again = _cli(env, "monitor", "run", "claims@champion")
    assert again.returncode == 0, again.stderr
    assert "evaluated windows" in again.stdout and "AUC" in again.stdout

    shown = _cli(env, "monitor", "show", "claims@champion")
    assert shown.returncode == 0, shown.stderr
    assert "windows of 200" in shown.stdout and "1 alert(s)" in shown.stdout

    monitors = _cli({**env, "COLUMNS": "200"}, "monitor", "list")
    assert monitors.returncode == 0, monitors.stderr
    assert "claims/1" in monitors.stdout and "age, tenure" in monitors.stdout and "│ 2 " in monitors.stdout

    listed = _cli(env, "alerts", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [alert] = json.loads(listed.stdout)
    assert alert["policy"] == "drifted" and alert["model"] == "claims"


def test_monitor_bad_input_is_one_line(store: tuple[dict[str, str], list[str]], tmp_path: Path) -> None:
    env, _ = store
    missing = _cli(env, "monitor", "create", "claims@champion", "--policies", str(tmp_path / "none.yaml"))
    assert missing.returncode != 0 and "none.yaml" in missing.stderr and "Traceback" not in missing.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("alerts:\n  - name: x\n    expr: 'drift.psi.max >'\n")
    invalid = _cli(env, "monitor", "create", "claims@champion", "--policies", str(bad))
    assert invalid.returncode == 1 and "alerts[0].expr is not valid CEL" in invalid.stderr
    assert "Traceback" not in invalid.stderr
    neither = _cli(env, "monitor", "run")
    assert neither.returncode == 1 and "MODEL@ALIAS or --due" in neither.stderr
    unmonitored = _cli(env, "monitor", "run", "claims@champion")
    assert unmonitored.returncode == 1 and "has no monitor" in unmonitored.stderr
    no_alias = _cli(env, "monitor", "show", "claims@nope")
    assert no_alias.returncode == 1 and "no alias 'nope'" in no_alias.stderr
    no_alert = _cli(env, "alerts", "promote", "nope")
    assert no_alert.returncode == 1 and "no alert 'nope'" in no_alert.stderr
    assert "Traceback" not in no_alert.stderr
