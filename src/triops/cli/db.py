"""``triops init`` and ``triops db upgrade``."""

from __future__ import annotations

from typing import Annotated

import typer

from triops.cli.context import STATE, console, open_workspace

app = typer.Typer(no_args_is_help=True)


def init(
    admin: Annotated[
        str | None,
        typer.Option(
            "--admin", help="make this user the first workspace admin (only while nobody holds a role)"
        ),
    ] = None,
) -> None:
    ws = open_workspace()
    where = ws.url
    if not ws.is_remote:
        from rich.markup import escape

        from triops.governance.roles import bootstrap_owner

        first = admin or ws.settings.acting_user
        if bootstrap_owner(ws.store, first, ws.clock) is not None:
            console().print(f"{first} is the workspace admin")
            if first != ws.settings.acting_user:
                console().print(
                    "[yellow]note:[/] "
                    + escape(
                        f"opened directly, this store acts as the OS user {ws.settings.acting_user!r}, who "
                        f"holds no role in it: {first!r} administers it by running triops as that OS user "
                        "(docs/security.md)"
                    ),
                    highlight=False,
                )
        elif admin is not None:
            from triops.errors import ConflictError

            raise ConflictError(
                "this workspace already has role bindings; the first admin was made before",
                hint="an admin grants roles: triops role grant USER admin",
            )
    console().print(f"[green]workspace ready[/] at {where}")
    if not ws.is_remote:
        console().print(f"artifacts under {ws.artifacts.root}")
    console().print("next: [bold]triops demo[/] or, in Python, [bold]triops.Workspace.open()[/]")


@app.command("upgrade", help="Apply pending schema migrations (also done on every open).")
def upgrade_command() -> None:
    from triops.settings import Settings
    from triops.store.engine import create_store
    from triops.store.migrate import upgrade
    from triops.workspace.local import default_sqlite_url

    settings = Settings.load()
    url = STATE.store_url or settings.store_url or default_sqlite_url(settings.home)
    if url.startswith(("http://", "https://")):
        from triops.errors import ConfigError

        raise ConfigError(
            f"{url} is a triops server: it upgrades its own store when it starts",
            hint="run `triops db upgrade` on the server's machine, against its store URL",
        )
    store = create_store(url)
    try:
        before, after = upgrade(store)
    finally:
        store.dispose()
    if before == after:
        console().print(f"store already at revision {after}")
    else:
        console().print(f"[green]upgraded[/] store from {before or 'empty'} to {after}")
