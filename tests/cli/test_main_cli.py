"""The foundation commands through the real entry point: output, --json, and one-red-line errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from triops import Workspace
from triops.cli.main import run
from triops.settings import Settings


@pytest.fixture
def populated(tmp_path: Path) -> tuple[str, list[str]]:
    url = f"sqlite:///{tmp_path}/cli.db"
    ids = []
    with Workspace.open(url, settings=Settings(home=tmp_path)) as ws:
        for i, model in enumerate(["rf", "lr"]):
            with ws.start_run("cli", name=f"run-{model}") as r:
                r.log_param("model", model)
                r.log_metric("auc", 0.7 + i / 10)
            ids.append(r.id)
    return url, ids


def test_runs_list_json_is_machine_readable(
    populated: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    url, ids = populated
    assert (
        run(["--store", url, "runs", "list", "--project", "cli", "--order-by", "metrics.auc desc", "--json"])
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in data] == [ids[1], ids[0]]
    assert data[0]["params"] == {"model": "lr"}


def test_runs_list_table_and_show_and_compare(
    populated: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    url, ids = populated
    assert run(["--store", url, "runs", "list", "--filter", "params.model = 'rf'"]) == 0
    out = capsys.readouterr().out
    assert "1 runs" in out and ids[0][-12:] in out
    assert run(["--store", url, "runs", "show", ids[0][-12:]]) == 0  # a unique tail is enough
    assert "run-rf" in capsys.readouterr().out
    assert run(["--store", url, "runs", "compare", *ids]) == 0
    assert "params.model" in capsys.readouterr().out


def test_errors_are_one_red_line_and_exit_1(
    populated: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = populated
    assert run(["--store", url, "runs", "show", "missing-id"]) == 1
    captured = capsys.readouterr()
    err = captured.err
    assert err.startswith("error:") and "does not exist" in err and "triops runs list" in err
    assert "Traceback" not in err and captured.out == "" and len(err.splitlines()) == 1
    assert run(["--store", url, "runs", "list", "--filter", "metrics.auc >"]) == 1
    assert "column 14" in capsys.readouterr().err


def test_debug_shows_the_traceback(
    populated: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = populated
    assert run(["--debug", "--store", url, "runs", "show", "missing-id"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_bad_store_url_names_the_schemes(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--store", "ftp://x/y", "runs", "list"]) == 1
    out = capsys.readouterr().err
    assert "ftp://x/y" in out and "postgresql+psycopg://" in out


def test_token_create_prints_a_token_once_and_stores_its_hash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/tok.db"
    assert run(["--store", url, "token", "create", "--user", "alice"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith("tri_") and len(token) > 40
    assert token.encode() not in (tmp_path / "tok.db").read_bytes()
    assert run(["--store", url, "token", "list", "--json"]) == 0
    listed = capsys.readouterr().out
    assert "alice" in listed and token not in listed


def test_init_and_db_upgrade(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path}/new.db"
    assert run(["--store", url, "init"]) == 0
    assert "workspace ready" in capsys.readouterr().out
    assert run(["--store", url, "db", "upgrade"]) == 0
    assert "already at revision" in capsys.readouterr().out


def test_dev_mode_is_refused_off_loopback(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["server", "--dev", "--host", "0.0.0.0"]) == 1
    assert "refused" in capsys.readouterr().err


def test_the_server_command_serves_the_api(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    exe = Path(sys.executable).parent / "triops"
    proc = subprocess.Popen(
        [str(exe), "--store", f"sqlite:///{tmp_path}/srv.db", "server", "--dev", "--port", str(port)],
        env={**os.environ, "TRIOPS_HOME": str(tmp_path)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120  # a loaded machine starts processes slowly
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz")
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert response.json()["status"] == "ok"
        ws = Workspace.open(f"http://127.0.0.1:{port}")
        with ws.start_run("srv") as r:
            r.log_metric("x", 1.0)
        assert ws.runs.get(r.id).metrics == {"x": 1.0}
        ws.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_users_and_tokens_are_audited_without_the_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/aud.db"
    assert run(["--store", url, "user", "create", "ci-bot", "--service"]) == 0
    assert run(["--store", url, "user", "list", "--json"]) == 0
    assert '"service"' in capsys.readouterr().out
    assert run(["--store", url, "token", "create", "--user", "ci-bot"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert run(["--store", url, "audit", "export", "--out", str(tmp_path / "audit.jsonl")]) == 0
    exported = (tmp_path / "audit.jsonl").read_text()
    assert "token.create" in exported and "user.create" in exported
    assert token not in exported
