"""Helpers shared by the governance commands (``cli/governance.py`` and ``cli/compliance.py``): output,
the acting principal, the workspace's store and data files."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from triops.governance.rbac import Principal
    from triops.store.engine import Store

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
ProjectOpt = Annotated[
    str | None, typer.Option("--project", "-p", help="project name (default: every project)")
]


def _console() -> Console:
    from triops.cli.context import console

    return console()


def _json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def _say(text: str) -> None:
    _console().print(text, highlight=False, soft_wrap=True)


def _table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))  # names are shown literally, never as markup
    _console().print(table)


def _workspace_store() -> tuple[Store, Path, Path | None, str]:
    """(store, home, configured audit key path, acting user) of the CLI's workspace."""
    from triops.cli.context import open_workspace

    ws = open_workspace()
    return ws.store, Path(ws.settings.home), ws.settings.audit_key_path, ws.settings.acting_user


def _governance() -> Any:
    """``ws.governance`` of the CLI's workspace: local, or the server's over HTTP with ``--store http://…``."""
    from triops.cli.context import open_workspace

    return open_workspace().governance


def _actor(store: Store, user: str) -> Principal:
    from triops.governance.roles import acting_principal

    return acting_principal(store, user)


def _read_data_file(path: Path) -> Any:
    """A YAML or JSON file as plain data (YAML is a superset of JSON)."""
    import yaml

    from triops.errors import InvalidInputError

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(
            f"cannot read {path}: {exc}", hint="check the path and that it is UTF-8"
        ) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise InvalidInputError(f"{where}: YAML syntax error: {exc.problem}") from exc


# ------------------------------------------------------------------------------------------------- audit
