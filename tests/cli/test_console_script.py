"""The installed console script (``.venv/bin/triops``) in subprocesses: usage errors, errors, the end of the
input at a prompt and Ctrl-C are one line on stderr with exit 2, 1 or 130, never a traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

TRIOPS = str(Path(sys.executable).parent / "triops")


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIOPS_")}
    return {**env, "TRIOPS_HOME": str(home), "COLUMNS": "100"}


def _triops(
    home: Path, *args: str, stdin: int | None = subprocess.DEVNULL
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TRIOPS, *args], env=_env(home), stdin=stdin, capture_output=True, text=True, timeout=120, check=False
    )


def _one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["runs", "show"], "run_id"),
        (["runs", "list", "--bogus"], "--bogus"),
        (["nosuchcmd"], "nosuchcmd"),
        (["simulate", "--runs", "abc"], "--runs"),
        (["compliance", "report"], "--framework"),
    ],
    ids=["missing-argument", "unknown-option", "unknown-command", "bad-value", "missing-option"],
)
def test_a_usage_error_is_one_line_on_stderr_and_exit_2(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    done = _triops(tmp_path, *args)
    assert done.returncode == 2, done.stderr
    line = _one_error_line(done)
    assert expected in line and "--help" in line
    assert done.stdout == ""


def test_an_error_is_one_line_on_stderr_and_exit_1(tmp_path: Path) -> None:
    done = _triops(tmp_path, "runs", "show", "no-such-run")
    assert done.returncode == 1
    assert "does not exist" in _one_error_line(done)
    assert done.stdout == ""


def test_debug_shows_the_traceback_of_a_usage_error(tmp_path: Path) -> None:
    done = _triops(tmp_path, "--debug", "runs", "show")
    assert done.returncode == 2 and "Traceback" in done.stderr


def test_the_end_of_the_input_at_a_prompt_is_one_line_and_exit_1(tmp_path: Path) -> None:
    done = _triops(tmp_path, "assess", "scenarios")  # stdin is empty: Ctrl-D at the first prompt
    assert done.returncode == 1
    assert "input ended" in _one_error_line(done)


def _sigint_as_at_a_terminal() -> None:
    # A suite started in the background (`make test &`, nohup, some CI runners) ignores SIGINT, children
    # inherit that, and Python then installs no KeyboardInterrupt handler: the Ctrl-C below would be lost and
    # the test would wait 60 s and fail. A user's terminal delivers SIGINT with its default disposition.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_inside_a_command_says_interrupted_and_exits_130(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [TRIOPS, "assess", "scenarios"],
        env=_env(tmp_path),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_sigint_as_at_a_terminal,
    )
    seen = threading.Event()
    out: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        while chunk := proc.stdout.read(1):
            out.append(chunk)
            if "Your answer" in "".join(out[-200:]):
                seen.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert seen.wait(120), "the prompt never appeared"
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.stderr is not None
    err = proc.stderr.read()
    assert err.strip() == "interrupted" and "Traceback" not in err
