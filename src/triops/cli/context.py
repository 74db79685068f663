"""What every command shares: the global options (store URL, debug) and opening the workspace once."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from triops.store.engine import Store
    from triops.workspace import Workspace


@dataclass
class CliState:
    store_url: str | None = None
    token: str | None = None
    debug: bool = False
    workspace: Workspace | None = None


STATE = CliState()


def open_workspace() -> Workspace:
    """The workspace named by ``--store`` / TRIOPS_STORE_URL (default: SQLite under ./.triops)."""
    if STATE.workspace is None:
        from triops.workspace import Workspace

        STATE.workspace = Workspace.open(STATE.store_url, token=STATE.token)
    return STATE.workspace


def open_store() -> Store:
    return open_workspace().store


def close_workspace() -> None:
    if STATE.workspace is not None:
        STATE.workspace.close()
        STATE.workspace = None


_CONSOLE: Console | None = None
_ERR_CONSOLE: Console | None = None


def console() -> Console:
    """The console for output (stdout); it escapes control characters in stored text (cli/text.py)."""
    global _CONSOLE
    if _CONSOLE is None:
        from triops.cli.text import TerminalConsole

        _CONSOLE = TerminalConsole()
    return _CONSOLE


def err_console() -> Console:
    """The console for errors and warnings (stderr), escaping like ``console()``."""
    global _ERR_CONSOLE
    if _ERR_CONSOLE is None:
        from triops.cli.text import TerminalConsole

        _ERR_CONSOLE = TerminalConsole(stderr=True)
    return _ERR_CONSOLE


def jsonable(data: Any) -> Any:
    """Replace non-finite floats (NaN, ±inf) by their wire strings, recursively."""
    if isinstance(data, float):
        from triops.domain.wire import float_to_wire

        return float_to_wire(data)
    if isinstance(data, dict):
        return {k: jsonable(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [jsonable(v) for v in data]
    return data


class LazyConsole:
    """Stands for the shared Console and creates it on first use, so a command module can keep a
    module-level ``console`` without importing rich when ``triops --help`` only imports the module."""

    def __getattr__(self, name: str) -> Any:
        return getattr(console(), name)


def print_json(data: Any) -> None:
    """Machine-readable output for ``--json``: plain JSON on stdout, non-finite floats as strings."""
    sys.stdout.write(json.dumps(jsonable(data), indent=2, default=str, allow_nan=False) + "\n")
