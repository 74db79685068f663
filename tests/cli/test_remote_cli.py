"""The two-machine set-up of the README, on loopback: ``triops server`` runs as its own process over its own
store; the CLI and the SDK work on it with ``--store http://…`` and a token from another TRIOPS_HOME that
has no store at all. Every command group is exercised remotely."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import polars as pl
import pytest
from tests.dataops.helpers import PEOPLE, good_people

from triops import Workspace
from triops.cli import context
from triops.cli.main import run

EXE = Path(sys.executable).parent / "triops"
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Server:
    url: str
    admin_token: str
    viewer_token: str
    home: Path


def _triops(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(EXE), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Machine A: a store, two users with tokens, and `triops server` serving it."""
    home = tmp_path_factory.mktemp("machine-a")
    store = f"sqlite:///{home}/triops.db"
    code = home / "code"  # the pipelines installed on machine A
    code.mkdir()
    (code / "remote_pipes.py").write_text((REPO / "tests/contract/contract_pipelines.py").read_text())
    env = {**os.environ, "TRIOPS_HOME": str(home), "PYTHONPATH": str(code)}
    env.pop("TRIOPS_STORE_URL", None)
    env.pop("TRIOPS_USER", None)  # `init` makes the OS user the store's admin; everyone else uses a token
    _triops(["--store", store, "init"], env)
    for user, role in (("ops", "admin"), ("vic", "viewer")):
        _triops(["--store", store, "user", "create", user], env)
        _triops(["--store", store, "role", "grant", user, role], env)
    admin_token = (
        _triops(["--store", store, "token", "create", "--user", "ops"], env).strip().splitlines()[-1]
    )
    viewer_token = (
        _triops(["--store", store, "token", "create", "--user", "vic"], env).strip().splitlines()[-1]
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server_env = {**env, "TRIOPS_SERVER_PIPELINE_MODULES": '["remote_pipes"]'}
    proc = subprocess.Popen(
        [str(EXE), "--store", store, "server", "--port", str(port)],
        env=server_env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        yield Server(url, admin_token, viewer_token, home)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def remote(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Server:
    """Machine B: its own TRIOPS_HOME (no store), the server's URL and a token in the environment."""
    monkeypatch.setenv("TRIOPS_HOME", str(tmp_path / "machine-b"))
    monkeypatch.setenv("TRIOPS_STORE_URL", server.url)
    monkeypatch.setenv("TRIOPS_TOKEN", server.admin_token)
    return server


def cli(capsys: pytest.CaptureFixture[str], *args: str, code: int = 0) -> str:
    context.close_workspace()
    result = run(["--store", os.environ["TRIOPS_STORE_URL"], "--token", os.environ["TRIOPS_TOKEN"], *args])
    out = capsys.readouterr()
    assert result == code, out.out + out.err
    return out.out


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> object:
    return json.loads(cli(capsys, *args, "--json"))


def test_datasets_models_and_runs_over_the_cli(
    remote: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, contract = tmp_path / "people.csv", tmp_path / "people.yaml"
    good_people().write_csv(data)
    contract.write_text(PEOPLE)
    cli(capsys, "datasets", "register", "people", str(data), "--contract", str(contract), "--project", "hr")
    bad = tmp_path / "bad.csv"
    good_people().with_columns(pl.Series("id", [1, 1, 2, 3])).write_csv(bad)
    cli(
        capsys,
        "datasets",
        "register",
        "people",
        str(bad),
        "--contract",
        str(contract),
        "--project",
        "hr",
        code=1,
    )
    versions = cli_json(capsys, "datasets", "list", "people", "--project", "hr")
    assert [(v["version"], v["passed"]) for v in versions] == [(1, True), (2, False)]  # type: ignore[union-attr]
    shown = cli_json(capsys, "datasets", "show", "people", "--version", "2", "--project", "hr")
    assert shown["passed"] is False  # type: ignore[index]
    assert cli_json(capsys, "datasets", "diff", "people", "1", "2", "--project", "hr")["row_delta"] == 0  # type: ignore[index]
    assert cli_json(capsys, "models", "list") == []
    out = cli(capsys, "run", "remote_pipes:numbers", "--param", "n=4", "--project", "calc", "--json")
    run_id = json.loads(out[out.index("{") :])["run_id"]
    assert any(r["id"] == run_id for r in cli_json(capsys, "runs", "list"))  # type: ignore[union-attr]
    assert cli_json(capsys, "runs", "show", run_id)["steps"]  # type: ignore[index]
    assert cli_json(capsys, "lineage", run_id)["kind"] == "run"  # type: ignore[index]
    cli(capsys, "run", "pipelines/train.py:train", code=1)  # a server never imports a client's file


def test_finops_and_governance_over_the_cli(
    remote: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(capsys, "budget", "set", "--project", "calc", "--amount", "100")
    assert [b["name"] for b in cli_json(capsys, "budget", "list")] == ["calc"]  # type: ignore[union-attr]
    assert isinstance(cli_json(capsys, "cost", "report", "--by", "step"), list)
    assert "forecasts" in cli_json(capsys, "cost", "forecast")  # type: ignore[operator]
    assert isinstance(cli_json(capsys, "cost", "recommend"), list)
    focus = tmp_path / "focus.csv"
    cli(capsys, "cost", "export", "--out", str(focus))
    assert focus.exists()
    assert cli_json(capsys, "prices", "show")
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "name: needs-auc\ngate: model.stage\nrules:\n  - name: auc\n    expr: metrics.auc >= 0.7\n"
    )
    cli(capsys, "policy", "add", str(policy))
    assert [p["name"] for p in cli_json(capsys, "policy", "list")] == ["needs-auc"]  # type: ignore[union-attr]
    cli(capsys, "role", "grant", "dora", "viewer", "--project", "hr")
    assert any(b["principal"] == "dora" for b in cli_json(capsys, "role", "list"))  # type: ignore[union-attr]
    cli(capsys, "user", "create", "svc-ci", "--service")
    assert any(u["name"] == "svc-ci" for u in cli_json(capsys, "user", "list"))  # type: ignore[union-attr]
    token = cli(capsys, "token", "create", "--user", "svc-ci").strip().splitlines()[-1]
    assert token.startswith("tri_") and all("token" not in t for t in cli_json(capsys, "token", "list"))  # type: ignore[union-attr]
    use_case = tmp_path / "uc.yaml"
    use_case.write_text(
        "name: triage\npurpose: rank claims\nstage: initiated\nhigh_impact: not-high-impact\n"
    )
    cli(capsys, "inventory", "add", str(use_case))
    assert [u["name"] for u in cli_json(capsys, "inventory", "list")] == ["triage"]  # type: ignore[union-attr]
    assert cli_json(capsys, "compliance", "report", "--framework", "nist-ai-rmf")["items"]  # type: ignore[index]
    assert cli_json(capsys, "audit", "verify")["ok"] is True  # type: ignore[index]
    assert cli_json(capsys, "audit", "log", "--limit", "3")
    exported = tmp_path / "audit.jsonl"
    cli(capsys, "audit", "export", "--out", str(exported))
    cli(capsys, "audit", "verify", "--file", str(exported))
    assessment = cli_json(capsys, "assess", "maturity", "--no-interactive")
    assert assessment["pillars"]  # type: ignore[index]


def test_a_viewer_token_is_refused_naming_the_permission(remote: Server) -> None:
    env = {**os.environ, "TRIOPS_TOKEN": remote.viewer_token}
    done = subprocess.run(
        [str(EXE), "--store", remote.url, "budget", "set", "--project", "calc", "--amount", "5"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    said = done.stdout + done.stderr  # the CLI prints its one error line with the rest of its output
    assert done.returncode == 1 and "budget.write" in said and "Traceback" not in said


def test_the_sdk_on_machine_b_sees_what_the_cli_wrote(remote: Server) -> None:
    with Workspace.open(remote.url, token=remote.admin_token) as ws:
        assert ws.principal.name == "ops"
        with ws.start_run("from-b") as active:
            active.log_metric("auc", 0.8)
        assert ws.runs.get(active.id).metrics == {"auc": 0.8}
        assert ws.scorecard().kpis
