"""Real processes on one store: a `triops server` subprocess, the console script and SDK scripts."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

TRIOPS = str(Path(sys.executable).parent / "triops")
_TOKEN_ID = re.compile(r"token\s+(\S+)\s+for\s+user")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_env(home: Path) -> dict[str, str]:
    """A clean environment: no TRIOPS_* of the caller. A process on the store acts as the OS user (the admin
    the tests make); anyone else goes through the server with a token."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIOPS_")}
    env.update({"TRIOPS_HOME": str(home), "COLUMNS": "250", "NO_COLOR": "1"})
    return env


@dataclass
class ServerProcess:
    proc: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start_server(store_url: str, home: Path, *extra: str) -> ServerProcess:
    port = free_port()
    proc = subprocess.Popen(
        [TRIOPS, "--store", store_url, "server", "--port", str(port), *extra],
        env=process_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240  # a loaded machine starts a Python process slowly
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                return ServerProcess(proc, url)
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"triops server did not start (exit {proc.poll()})")
        time.sleep(0.1)


def cli(store_url: str, home: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """The real console script in a subprocess."""
    return subprocess.run(
        [TRIOPS, "--store", store_url, *args],
        env=process_env(home),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def cli_ok(store_url: str, home: Path, *args: str) -> str:
    done = cli(store_url, home, *args)
    assert done.returncode == 0, (
        f"triops {' '.join(args)} exited {done.returncode}: {done.stderr}{done.stdout}"
    )
    return done.stdout


def create_token(store_url: str, home: Path, user: str, name: str) -> tuple[str, str]:
    """(token id, token) made by `triops token create`."""
    out = cli_ok(store_url, home, "token", "create", "--user", user, "--name", name)
    match = _TOKEN_ID.search(out)
    assert match is not None, out
    return match.group(1), out.strip().splitlines()[-1]
