"""Stored text never drives the terminal: control characters are shown as escapes by every CLI print."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from rich.table import Table

from triops import Workspace
from triops.cli.text import TerminalConsole, escape_controls, one_line, safe
from triops.settings import Settings

TRIOPS = str(Path(sys.executable).parent / "triops")
EVIL = "evil\x1b]0;pwned\x07\x1b[2J\x00\x9b31m\u202etxt[/]"


def _is_clean(text: str) -> bool:
    return not any(
        (ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F or c in "\u202a\u202b\u202c\u202d\u202e"
        for c in text
    )


@given(st.text())
def test_escaped_text_has_no_control_characters(text: str) -> None:
    assert _is_clean(escape_controls(text))
    assert "\n" not in one_line(text) and _is_clean(one_line(text))


def test_escapes_are_visible() -> None:
    assert escape_controls("a\x1bb\x00") == "a\\x1bb\\x00"
    assert one_line("a\nb") == "a\\x0ab"


def _render(*objects: object, terminal: bool = False) -> str:
    buffer = io.StringIO()
    TerminalConsole(file=buffer, width=200, force_terminal=terminal, color_system=None).print(*objects)
    return buffer.getvalue()


def test_the_console_escapes_prints_and_table_cells() -> None:
    table = Table("name")
    table.add_row(EVIL)
    out = _render(f"run {EVIL}", table)
    assert _is_clean(out)
    assert "\\x1b]0;pwned" in out and "\\x9b31m" in out


def test_stored_markup_and_links_do_not_style_the_terminal() -> None:
    out = _render(f"[bold]{safe('[/]x')}[/] [link=file:///etc/passwd]click[/link]", terminal=True)
    assert "[/]x" in out and "\x1b]8;" not in out and "click" in out


def test_runs_list_and_show_print_stored_escape_sequences_escaped(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/esc.db"
    with Workspace.open(url, settings=Settings(home=tmp_path)) as ws:
        with ws.start_run("esc", name="plain") as run:
            run.log_param("note", "fine")
        with ws.store.begin() as conn:  # as a store written before names were checked might hold
            conn.execute(sa.text("UPDATE runs SET name = :n"), {"n": EVIL})
            conn.execute(sa.text("UPDATE params SET value = :n"), {"n": EVIL})
    env = {**os.environ, "TRIOPS_HOME": str(tmp_path), "COLUMNS": "300"}
    for args in (["runs", "list"], ["runs", "show", run.id], ["runs", "compare", run.id, run.id]):
        done = subprocess.run(
            [TRIOPS, "--store", url, *args], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr
        assert _is_clean(done.stdout), args
        assert "\\x1b" in done.stdout, args
