"""``triops token create|list|revoke``: API tokens for the server (shown once, stored hashed)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from triops.cli.context import console, open_workspace, print_json

app = typer.Typer(no_args_is_help=True)


@app.command("create", help="Create a token for a user; it is printed once and only its hash is stored.")
def create(
    user: Annotated[str, typer.Option("--user", help="user name (created if new)")],
    name: Annotated[str, typer.Option("--name", help="a label for the token")] = "cli",
    expires_days: Annotated[int | None, typer.Option("--expires-days", min=1)] = None,
) -> None:
    issued = open_workspace().governance.create_token(user, name=name, expires_days=expires_days)
    console().print(
        f"token {issued.id} for user [bold]{user}[/] (shown once, store it now):", highlight=False
    )
    print(issued.token)


@app.command("list", help="List tokens (never their values).")
def list_command(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    from rich.table import Table

    from triops.domain.clock import from_ms

    rows = open_workspace().governance.tokens()
    if as_json:
        print_json(rows)
        return
    table = Table("id", "user", "name", "prefix", "created", "state")
    for r in rows:
        state = "revoked" if r["revoked_ms"] else "active"
        table.add_row(
            str(r["id"]),
            str(r["user"]),
            str(r["name"]),
            f"{r['prefix']}…",
            str(from_ms(int(str(r["created_ms"])))),
            state,
        )
    console().print(table)


@app.command("revoke", help="Revoke a token by id.")
def revoke(token_id: str) -> None:
    open_workspace().governance.revoke_token(token_id)
    console().print(f"revoked {token_id}")


user_app = typer.Typer(no_args_is_help=True)


@user_app.command("create", help="Add a user or a service account (grant it roles with `triops role grant`).")
def user_create(
    name: str,
    service: Annotated[bool, typer.Option("--service", help="a service account, not a person")] = False,
) -> None:
    open_workspace().governance.create_user(name, service=service)
    console().print(f"{'service account' if service else 'user'} {name!r} ready")


@user_app.command("list", help="List users and service accounts.")
def user_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    from rich.table import Table

    from triops.domain.clock import from_ms

    rows = open_workspace().governance.users()
    if as_json:
        print_json(rows)
        return
    table = Table("name", "kind", "created")
    for r in rows:
        table.add_row(str(r["name"]), str(r["kind"]), str(from_ms(int(str(r["created_ms"])))))
    console().print(table)


@user_app.command("disable", help="Disable a user: their tokens stop working at once (audited).")
def user_disable(
    name: str,
    enable: Annotated[bool, typer.Option("--enable", help="enable a disabled user again")] = False,
) -> None:
    open_workspace().governance.disable_user(name, disabled=not enable)
    console().print(f"user {name!r} {'enabled' if enable else 'disabled'}")


def whoami(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Who this command acts as: on a local store the OS user (``TRIOPS_USER`` is only a display name),
    through a server the token's user."""
    ws = open_workspace()
    principal = ws.principal
    display = None if ws.is_remote else ws.settings.display_name
    roles = {p: sorted(r.value for r in held) for p, held in principal.roles.items()}
    data: dict[str, object] = {
        "principal": principal.name,
        "kind": principal.kind,
        "display_name": display,
        "mode": "server (token-authenticated)" if ws.is_remote else "local store (single-user: the OS user)",
        "store": ws.url,
        "roles": roles,
    }
    if as_json:
        print_json(data)
        return
    out = console()
    shown = f"{principal.name} (display name {display!r})" if display else principal.name
    out.print(f"principal: [bold]{escape(shown)}[/]", highlight=False)
    out.print(f"mode: {data['mode']}", highlight=False)
    held = ", ".join(f"{r} in {p}" for p, rs in sorted(roles.items()) for r in rs) or "none"
    out.print(f"roles: {escape(held)}", highlight=False)
