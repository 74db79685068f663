"""``triops server``: FastAPI under uvicorn."""

from __future__ import annotations

import ipaddress
from typing import Annotated

import typer

from triops.cli.context import close_workspace, console, open_workspace
from triops.errors import ConfigError


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8765,
    dev: Annotated[bool, typer.Option("--dev", help="no authentication; loopback only")] = False,
    scheduler: Annotated[
        bool,
        typer.Option("--scheduler/--no-scheduler", help="run scheduled monitors (monitor create --every)"),
    ] = True,
) -> None:
    if dev and not _is_loopback(host):
        raise ConfigError(
            f"--dev serves without authentication and is refused on {host}",
            hint="use --host 127.0.0.1 with --dev, or drop --dev and use tokens (`triops token create`)",
        )
    import os

    import uvicorn

    ws = open_workspace()  # opens (and migrates) the store now, so a bad URL fails before the server starts
    if ws.is_remote:
        raise ConfigError(
            f"{ws.url} is a triops server already; a server serves a store",
            hint="pass a sqlite:/// or postgresql+psycopg:// URL with --store",
        )
    os.environ["TRIOPS_STORE_URL"] = ws.url
    # One engine per process: the app opens the store again, so this check's engine is closed first
    # (two engines on one SQLite file in one process is how a server lost confirmed writes).
    close_workspace()
    os.environ["TRIOPS_SERVER_DEV"] = "1" if dev else "0"
    os.environ["TRIOPS_SERVER_SCHEDULER"] = "1" if scheduler else "0"
    mode = "[yellow]dev mode, no auth[/]" if dev else "bearer tokens required"
    console().print(f"triops server on http://{host}:{port} ({mode}); API at /api/v1, docs at /api/v1/docs")
    # The interfaces do not import each other: uvicorn loads the app by name.
    # no access log: at "warning" uvicorn drops its lines anyway, but still formats each one's path first
    uvicorn.run(
        "triops.server.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
    )
