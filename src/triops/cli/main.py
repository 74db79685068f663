"""The ``triops`` entry point: global options, sub-command registration and error handling.

A ``TriopsError`` becomes one red line on stderr (what, where, how to fix) and exit code 1, a usage error
one line and exit code 2, Ctrl-C "interrupted" and 130; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from triops.cli import (
    context,
    dataops,
    datasets,
    db,
    finops,
    governance,
    imports,
    kpis,
    models,
    monitor,
    pipelines,
    runs,
    serve,
    server,
    strategy,
    tokens,
)
from triops.cli.context import STATE

app = typer.Typer(
    name="triops",
    help="triops: DataOps, MLOps and FinOps as one auditable loop.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _global_options(
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            envvar="TRIOPS_STORE_URL",
            help="store URL: sqlite:///…, postgresql+psycopg://…, http(s)://…",
        ),
    ] = None,
    token: Annotated[
        str | None, typer.Option("--token", envvar="TRIOPS_TOKEN", help="bearer token for a server")
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="show tracebacks on errors")] = False,
) -> None:
    STATE.store_url = store
    STATE.token = token
    STATE.debug = debug


app.add_typer(runs.app, name="runs", help="List, show and compare runs.")
app.add_typer(imports.app, name="import", help="Import from other tools: MLflow stores (docs/mlflow.md).")
app.add_typer(db.app, name="db", help="Store maintenance (migrations).")
app.add_typer(tokens.app, name="token", help="API tokens for the server.")
app.add_typer(tokens.user_app, name="user", help="Users and service accounts.")
app.add_typer(finops.prices_app, name="prices", help="The price catalog: show and validate.")
app.add_typer(finops.cost_app, name="cost", help="Costs: report, forecast, recommend, FOCUS export/import.")
app.add_typer(finops.budget_app, name="budget", help="Budgets with alerts and hard stops.")
app.add_typer(governance.audit_app, name="audit", help="Verify and export the tamper-evident audit log.")
app.add_typer(governance.policy_app, name="policy", help="Policies as code (CEL) and gate checks.")
app.add_typer(governance.gate_app, name="gate", help="Recorded gate decisions: list.")
app.add_typer(governance.approval_app, name="approval", help="Approval requests with separation of duties.")
app.add_typer(governance.role_app, name="role", help="Roles per project: grant, revoke, list.")
app.add_typer(governance.inventory_app, name="inventory", help="The AI use-case inventory (OMB M-25-21).")
app.add_typer(
    governance.compliance_app, name="compliance", help="Evidence against NIST AI RMF and the EU AI Act."
)
app.add_typer(dataops.app, name="contract", help="Data contracts (ODCS v3): init, check, diff.")
app.add_typer(dataops.openlineage_app, name="openlineage", help="OpenLineage events: validate.")
app.add_typer(datasets.app, name="datasets", help="Dataset versions: register, list, show, diff, profile.")
app.add_typer(models.app, name="models", help="Model registry: list, show, alias, promote, card.")
app.add_typer(monitor.app, name="monitor", help="Model monitoring: create, run, list, show, labels.")
app.add_typer(monitor.alerts_app, name="alerts", help="Alerts raised by model monitors.")
strategy.register(app)
app.command("run", help="Run a pipeline: triops run path/to/file.py:pipeline --param k=v")(pipelines.run_cli)
app.command("lineage", help="Where an artifact or run came from, or what was made from it.")(
    pipelines.lineage_cli
)
runs.app.command("resume", help="Re-run a failed, killed or lost pipeline run from its failed step.")(
    pipelines.resume_cli
)
app.command("whoami", help="Who you act as: the OS user on a local store, the token's user on a server.")(
    tokens.whoami
)
app.command("init", help="Create a workspace store in ./.triops (or TRIOPS_HOME / --store).")(db.init)
app.command("server", help="Run the triops REST API server.")(server.serve)
app.command("kpis", help="The shared KPI scorecard per project (--record stores a snapshot).")(kpis.kpis_cli)
app.command("serve", help="Serve a model: triops serve MODEL@ALIAS (follows the alias as it moves).")(
    serve.serve_model
)


@app.command("demo", help="Run the end-to-end demo on R's Ecdat::Benefits data (nothing is downloaded).")
def _demo() -> None:
    from triops.cli.demo import demo

    demo()


def run(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (used by the console script and by tests).

    Every failure is one line on stderr: 2 for a usage error, 1 for any other error, 130 when interrupted;
    ``--debug`` shows the traceback instead.
    """
    from triops.errors import TriopsError

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        # outside standalone mode click hands back a typer.Exit's code instead of raising it
        code = app(args=args, prog_name="triops", standalone_mode=False)
        if code == 130:  # typer turns Ctrl-C inside a command into Exit(130), and hands the code back
            return _interrupted()
        return code if isinstance(code, int) else 0
    except TriopsError as exc:
        return _fail(exc, str(exc), 1, args)
    except KeyboardInterrupt:
        return _interrupted()
    except typer.Abort as exc:  # a prompt got Ctrl-C or the end of its input
        if isinstance(exc.__context__, KeyboardInterrupt):
            return _interrupted()
        return _fail(exc, _NO_INPUT, 1, args)
    except EOFError as exc:  # Ctrl-D at a rich prompt
        return _fail(exc, _NO_INPUT, 1, args)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    except _ClickError as exc:  # click's usage errors (typer has carried its own copy of click since 0.26)
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare group: its help, not an error line
            typer.echo(exc.format_message(), err=True)
            return exc.exit_code
        return _fail(exc, _usage_message(exc), exc.exit_code, args)
    except Exception as exc:
        message = f"unexpected {type(exc).__name__}: {exc} — run again with --debug and report the traceback"
        return _fail(exc, message, 1, args)
    finally:
        context.close_workspace()


_NO_INPUT = "the input ended before an answer (Ctrl-D) — answer the prompt, or pass the answers as a file"
_ClickError = typer.TyperException


def _usage_message(exc: typer.TyperException) -> str:
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else "triops"
    return f"{exc.format_message()} — see `{where} --help`"


def _fail(exc: BaseException, message: str, code: int, args: list[str]) -> int:
    err = context.err_console()
    if context.STATE.debug or "--debug" in args:
        err.print_exception(show_locals=False)
    else:
        from triops.cli.text import one_line, safe

        # messages quote input (OWM coordinates, masked tokens, values): never read as markup
        err.print(f"[bold red]error:[/] {safe(one_line(message))}", highlight=False, soft_wrap=True)
    return code


def _interrupted() -> int:
    context.err_console().print("[yellow]interrupted[/]", highlight=False)
    return 130


def entry() -> None:
    sys.exit(run())


if __name__ == "__main__":
    entry()
