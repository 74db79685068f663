"""``triops serve MODEL@ALIAS``: one model endpoint under uvicorn (the predict routes of ``triops server``
alone), following the alias as it moves."""

from __future__ import annotations

from typing import Annotated

import typer

from triops.cli.context import close_workspace, console, open_workspace
from triops.cli.server import _is_loopback
from triops.errors import ConfigError


def serve_model(
    ref: Annotated[str, typer.Argument(help="MODEL@ALIAS, e.g. benefits@champion", metavar="MODEL@ALIAS")],
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8766,
    workers: Annotated[int, typer.Option(min=1, max=64, help="worker processes")] = 1,
    dev: Annotated[bool, typer.Option("--dev", help="no authentication; loopback only")] = False,
) -> None:
    if dev and not _is_loopback(host):
        raise ConfigError(
            f"--dev serves without authentication and is refused on {host}",
            hint="use --host 127.0.0.1 with --dev, or drop --dev and use tokens (`triops token create`)",
        )
    import os

    import uvicorn

    from triops.workspace.serving import split_ref

    model, alias = split_ref(ref)
    ws = open_workspace()
    if ws.is_remote:
        raise ConfigError(
            f"{ws.url} is a triops server; serve a model from the store itself",
            hint="pass a sqlite:/// or postgresql+psycopg:// URL with --store",
        )
    version = ws.models.get(f"{model}@{alias}")  # a missing model or alias fails here, naming the aliases
    if version.signature is None:
        raise ConfigError(f"model {version.ref} has no input signature; it cannot be served")
    # the deployment gate, before anything listens (each worker checks it again as it loads the version)
    version = ws.serving.check_deployment(f"{model}@{alias}")
    os.environ["TRIOPS_STORE_URL"] = ws.url
    close_workspace()  # one engine per process: the app opens the store again
    os.environ["TRIOPS_SERVER_DEV"] = "1" if dev else "0"
    os.environ["TRIOPS_SERVE_REF"] = f"{model}@{alias}"
    mode = "[yellow]dev mode, no auth[/]" if dev else "bearer tokens required"
    console().print(
        f"serving {model}@{alias} (now version {version.version}) on "
        f"http://{host}:{port}/api/v1/models/{model}@{alias}/predict ({mode}, {workers} worker(s))"
    )
    uvicorn.run(
        "triops.server.serving_app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )
