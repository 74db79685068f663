"""``triops token create|list|revoke``: API tokens for the server (shown once, stored hashed)."""

from __future__ import annotations

from typing import Annotated

import typer

from triops.cli.context import console, open_store, open_workspace, print_json

app = typer.Typer(no_args_is_help=True)


@app.command("create", help="Create a token for a user; it is printed once and only its hash is stored.")
def create(
    user: Annotated[str, typer.Option("--user", help="user name (created if new)")],
    name: Annotated[str, typer.Option("--name", help="a label for the token")] = "cli",
    expires_days: Annotated[int | None, typer.Option("--expires-days", min=1)] = None,
) -> None:
    from triops.domain.clock import utc_ms
    from triops.store.repositories.tokens import create_token

    ws = open_workspace()
    now = utc_ms(ws.clock.now())
    expires = now + expires_days * 86_400_000 if expires_days else None
    actor = ws.settings.acting_user
    token_id, token = ws.store.write(lambda conn: create_token(conn, user, name, now, expires, actor))
    console().print(f"token {token_id} for user [bold]{user}[/] (shown once, store it now):", highlight=False)
    print(token)


@app.command("list", help="List tokens (never their values).")
def list_command(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    from rich.table import Table

    from triops.domain.clock import from_ms
    from triops.store.repositories.tokens import list_tokens

    with open_store().connect() as conn:
        rows = list_tokens(conn)
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
    from triops.domain.clock import utc_ms
    from triops.store.repositories.tokens import revoke_token

    ws = open_workspace()
    ws.store.write(lambda conn: revoke_token(conn, token_id, utc_ms(ws.clock.now()), ws.settings.acting_user))
    console().print(f"revoked {token_id}")


user_app = typer.Typer(no_args_is_help=True)


@user_app.command("create", help="Add a user or a service account (grant it roles with `triops role grant`).")
def user_create(
    name: str,
    service: Annotated[bool, typer.Option("--service", help="a service account, not a person")] = False,
) -> None:
    from triops.domain.clock import utc_ms
    from triops.store.repositories.tokens import ensure_user

    ws = open_workspace()
    now = utc_ms(ws.clock.now())
    ws.store.write(lambda conn: ensure_user(conn, name, now, "service" if service else "user"))
    console().print(f"{'service account' if service else 'user'} {name!r} ready")


@user_app.command("list", help="List users and service accounts.")
def user_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    from rich.table import Table

    from triops.domain.clock import from_ms
    from triops.store.repositories.tokens import list_users

    with open_store().connect() as conn:
        rows = list_users(conn)
    if as_json:
        print_json(rows)
        return
    table = Table("name", "kind", "created")
    for r in rows:
        table.add_row(str(r["name"]), str(r["kind"]), str(from_ms(int(str(r["created_ms"])))))
    console().print(table)
