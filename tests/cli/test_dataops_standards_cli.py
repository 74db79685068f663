"""The DataOps commands through the real console script: personal data never printed or stored in clear
(``--show-restricted`` audited), a contract-diff CI gate, exact dataset diffs, an unknown key refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

EXE = Path(sys.executable).parent / "triops"
EMAILS = [f"someone{i}@example.org" for i in range(40)]
NINOS = [f"QQ{i:06d}A" for i in range(40)]
CONTRACT = """\
apiVersion: v3.1.0
kind: DataContract
id: claims
version: 1.0.0
status: active
schema:
  - name: claims
    properties:
      - name: id
        logicalType: integer
      - name: email
        logicalType: string
        classification: restricted
      - name: nino
        logicalType: string
      - name: amount
        logicalType: number
        logicalTypeOptions: {minimum: 0}
"""


def triops(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIOPS_")}
    env["COLUMNS"] = "250"
    return subprocess.run([str(EXE), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "claims.odcs.yaml").write_text(CONTRACT)
    pl.DataFrame(
        {
            "id": range(40),
            "email": EMAILS,
            "nino": NINOS,
            "amount": [-5.0 if i % 4 == 0 else 3.0 for i in range(40)],
        }
    ).write_csv(tmp_path / "claims.csv")
    return tmp_path


def _leaks(text: str) -> list[str]:
    return [v for v in (*EMAILS, *NINOS) if v in text]


def test_check_prints_no_personal_data_and_reveals_it_only_when_allowed_and_audited(workdir: Path) -> None:
    done = triops(workdir, "contract", "check", "claims.odcs.yaml", "claims.csv")
    assert done.returncode == 1, done.stderr
    assert _leaks(done.stdout + done.stderr) == []
    assert (
        "masked in samples: email (classification: restricted), nino (personal data: national_id)"
        in done.stdout
    )
    assert "failing rows (5 of 10 failing rows, by line number)" in done.stdout
    assert "10 failing at least one rule" in done.stdout
    assert done.stdout.count("[masked") >= 10  # masked cells show their token, not an empty cell
    as_json = triops(workdir, "contract", "check", "claims.odcs.yaml", "claims.csv", "--json")
    assert _leaks(as_json.stdout) == []
    shown = triops(workdir, "contract", "check", "claims.odcs.yaml", "claims.csv", "--show-restricted")
    assert shown.returncode == 1 and EMAILS[0] in shown.stdout
    audit = triops(workdir, "audit", "log", "--json")
    assert audit.returncode == 0, audit.stderr
    assert "dataset.restricted_read" in audit.stdout


def test_registered_versions_hold_no_personal_data(workdir: Path) -> None:
    done = triops(workdir, "datasets", "register", "claims", "claims.csv", "--contract", "claims.odcs.yaml")
    assert done.returncode == 1  # the amounts fail; stored as a failed version
    shown = triops(workdir, "datasets", "show", "claims", "--json")
    assert shown.returncode == 0, shown.stderr
    assert _leaks(shown.stdout) == []
    stored = json.loads(shown.stdout)
    assert stored["profile"]["columns"]["nino"]["protected"] == "personal data: national_id"


def test_datasets_diff_says_how_it_measured(workdir: Path) -> None:
    pl.read_csv(workdir / "claims.csv").head(30).write_csv(workdir / "later.csv")
    for data in ("claims.csv", "later.csv"):
        triops(workdir, "datasets", "register", "claims", data)
    done = triops(workdir, "datasets", "diff", "claims", "1", "2")
    assert done.returncode == 0, done.stderr
    assert "shift exact, from both versions' data" in done.stdout
    assert "identifier" in done.stdout  # id: every value distinct


def test_contract_diff_is_a_ci_gate(workdir: Path) -> None:
    tightened = CONTRACT.replace("{minimum: 0}", "{minimum: 1}")
    (workdir / "too-small.yaml").write_text(tightened)
    (workdir / "bumped.yaml").write_text(tightened.replace("version: 1.0.0", "version: 2.0.0"))
    assert triops(workdir, "contract", "diff", "claims.odcs.yaml", "too-small.yaml").returncode == 1
    assert triops(workdir, "contract", "diff", "claims.odcs.yaml", "bumped.yaml").returncode == 0


def test_a_misspelt_key_stops_the_check_naming_path_and_line(workdir: Path) -> None:
    (workdir / "typo.yaml").write_text(CONTRACT.replace("logicalTypeOptions: {minimum: 0}", "requried: true"))
    done = triops(workdir, "contract", "check", "typo.yaml", "claims.csv")
    assert done.returncode == 1
    said = done.stdout + done.stderr
    assert "line 18, schema[0].properties[3].requried: unknown key 'requried'" in said
    assert "Traceback" not in said


def test_a_contract_level_sla_reads_the_delivery_time_given(workdir: Path) -> None:
    sla = CONTRACT + "slaProperties:\n  - property: freshness\n    value: 1\n    unit: d\n"
    (workdir / "fresh.yaml").write_text(sla.replace("{minimum: 0}", "{minimum: -10}"))
    fresh = triops(workdir, "contract", "check", "fresh.yaml", "claims.csv")  # the file was just written
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    old = triops(
        workdir, "contract", "check", "fresh.yaml", "claims.csv", "--delivered-at", "2000-01-01T00:00:00Z"
    )
    assert old.returncode == 1
    assert "claims.freshness" in old.stdout and "delivered 2000-01-01" in old.stdout
