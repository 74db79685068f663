"""``triops monitor create|run|list|show|labels`` and ``triops alerts list|promote``: model monitoring from the
shell."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from triops.cli.context import console, open_workspace, print_json
from triops.errors import InvalidInputError

app = typer.Typer(no_args_is_help=True)
alerts_app = typer.Typer(no_args_is_help=True)

REF = Annotated[str, typer.Argument(help="MODEL@ALIAS or MODEL/VERSION", metavar="MODEL@ALIAS")]
AS_JSON = Annotated[bool, typer.Option("--json", help="print JSON")]


def _local() -> Any:
    """The workspace, a store or a server (``--store http://…``): ``ws.monitoring`` is the same on both."""
    return open_workspace()


def _read(path: Path | None, what: str) -> str | None:
    """A file's text for the service (which takes text with a newline, or a path on its own machine)."""
    if path is None:
        return None
    if not path.is_file():
        raise InvalidInputError(f"{what}: no file {str(path)!r}")
    text = path.read_text(encoding="utf-8")
    return text if "\n" in text else text + "\n"


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _windows_table(title: str, windows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table(title=title)
    for col in (
        "window",
        "from",
        "rows",
        "labelled",
        "PSI max",
        "KS min p",
        "JS max",
        "pred. KS",
        "AUC [95%]",
        "quality",
    ):
        table.add_column(col)
    for w in windows:
        f = w["facts"]
        auc = f["performance"].get("roc_auc")
        pred = f["prediction_drift"].get("ks")
        table.add_row(
            str(w["seq"]),
            _when(f["window"]["start_ms"]),
            str(w["rows"]),
            str(w["labelled"]),
            _fmt(f["drift"]["psi"]["max"]),
            _fmt(f["drift"]["ks"]["min_p"]),
            _fmt(f["drift"]["js"]["max"]),
            _fmt(pred["value"] if pred else None),
            "-" if not auc else f"{auc['value']:.3f} [{_fmt(auc['lower'])}, {_fmt(auc['upper'])}]",
            _fmt(f["quality"].get("passed")),
        )
    console().print(table)


@app.command("create", help="Set up (or replace) the monitor of a model version.")
def create(
    ref: REF,
    reference: Annotated[
        str | None, typer.Option(help="DATASET[/VERSION]; default: the training dataset")
    ] = None,
    window: Annotated[str, typer.Option(help="rows per window (1000) or a duration (15m, 1h, 1d)")] = "1000",
    feature: Annotated[list[str] | None, typer.Option("--feature", "-f", help="a feature (repeat)")] = None,
    sensitive: Annotated[
        list[str] | None, typer.Option("--sensitive", "-s", help="a sensitive column")
    ] = None,
    bins: Annotated[int, typer.Option(min=2, max=1000)] = 10,
    contract: Annotated[Path | None, typer.Option(help="the training contract (ODCS YAML)")] = None,
    policies: Annotated[
        Path | None, typer.Option(help="alert policies (YAML, see docs/monitoring.md)")
    ] = None,
    every: Annotated[
        str | None,
        typer.Option(help="run on a schedule this often (30s, 15m, 1h): triops server runs it, or --due"),
    ] = None,
    evaluation: Annotated[
        str | None,
        typer.Option(
            help="dataset of the production rows in clear, with prediction_id (the loop's paired test)"
        ),
    ] = None,
    as_json: AS_JSON = False,
) -> None:
    contract_text, policies_text = _read(contract, "--contract"), _read(policies, "--policies")
    settings = _local().monitoring.create(
        ref,
        reference=reference,
        window=window,
        features=feature or None,
        sensitive=sensitive or (),
        bins=bins,
        contract=contract_text,
        policies=policies_text,
        every=every,
        evaluation=evaluation,
    )
    if as_json:
        print_json(settings)
        return
    console().print(
        f"monitor of {settings['model']}/{settings['version']}: windows of {settings['window']}, "
        f"features {', '.join(settings['features'])}"
        + (f", sensitive {', '.join(settings['sensitive'])}" if settings["sensitive"] else "")
        + (f"; runs every {settings['every_s']} s" if settings.get("every_s") else "")
    )


def _run_due(as_json: bool) -> None:
    outcomes = _local().monitoring.run_due()
    if as_json:
        print_json(outcomes)
        return
    if not outcomes:
        console().print("no monitor is due")
    for o in outcomes:
        ref = f"{o['model']}/{o['version']}"
        if o["status"] == "ok":
            console().print(
                f"{ref} (as {o['runner']}): {o['windows']} window(s) evaluated, {o['alerts']} alert(s)"
            )
        else:
            console().print(f"[red]{ref} (as {o['runner']}) failed:[/] {o.get('error')}")


@app.command(
    "run", help="Evaluate the windows that are due and raise alerts (--due: every scheduled monitor)."
)
def run(
    ref: Annotated[
        str | None, typer.Argument(help="MODEL@ALIAS or MODEL/VERSION", metavar="MODEL@ALIAS")
    ] = None,
    due: Annotated[
        bool, typer.Option("--due", help="run every scheduled monitor that is due, each as its runner (cron)")
    ] = False,
    as_json: AS_JSON = False,
) -> None:
    if due == (ref is not None):
        raise InvalidInputError(
            "give MODEL@ALIAS or --due, not both or neither",
            hint="triops monitor run benefits@champion, or triops monitor run --due",
        )
    if due:
        _run_due(as_json)
        return
    assert ref is not None
    result = _local().monitoring.run(ref)
    if as_json:
        print_json(result)
        return
    if result.get("note"):
        console().print(result["note"])
    if result["windows"]:
        _windows_table(f"evaluated windows of {ref}", result["windows"])
    else:
        console().print("no window is due")
    if result["pending"]:
        console().print(f"{result['pending']} prediction(s) wait for their window to complete")
    for alert in result["alerts"]:
        action = alert.get("action") or {}
        console().print(
            f"[red]ALERT[/] {alert['policy']} ({alert['severity']}) on {alert['model']}/{alert['version']}"
            + (f" — retrain: {action.get('status')}" if action else "")
        )


@app.command("list", help="Every monitor you may read, with its latest window's drift and quality.")
def list_monitors(as_json: AS_JSON = False) -> None:
    rows = _local().monitoring.monitors()
    if as_json:
        print_json(rows)
        return
    from rich.table import Table

    table = Table(title="monitors")
    for col in ("model", "project", "window", "features", "windows", "latest from", "PSI max", "quality"):
        table.add_column(col)
    for m in rows:
        facts = (m.get("latest") or {}).get("facts") or {}
        drift = facts.get("drift") or {}
        table.add_row(
            f"{m['model']}/{m['version']}",
            m["project"],
            str(m["window"]),
            ", ".join(m["features"] or []) or "-",
            str(m["windows"]),
            _when(m["latest"]["start_ms"]) if m.get("latest") else "-",
            _fmt((drift.get("psi") or {}).get("max")),
            _fmt((facts.get("quality") or {}).get("passed")),
        )
    console().print(table)


@app.command("show", help="The monitor's settings, evaluated windows and alerts.")
def show(
    ref: REF,
    window: Annotated[int | None, typer.Option(help="show this window's full report")] = None,
    as_json: AS_JSON = False,
) -> None:
    ws = _local()
    if window is not None:
        data = ws.monitoring.window(ref, window)
        if as_json:
            print_json(data)
            return
        console().print_json(json.dumps(data["report"], default=str))
        return
    shown = ws.monitoring.show(ref)
    if as_json:
        print_json(shown)
        return
    mon = shown["monitor"]
    console().print(f"monitor of {mon['model']}/{mon['version']}, windows of {mon['window']}")
    _windows_table(f"windows of {ref}", shown["windows"])
    console().print(f"{len(shown['alerts'])} alert(s); see `triops alerts list --model {mon['model']}`")


@app.command("labels", help="Log delayed labels from a CSV/Parquet file with prediction ids and labels.")
def labels(
    path: Annotated[Path, typer.Argument(help="a file with columns id (prediction id) and label")],
    id_column: Annotated[str, typer.Option("--id-column")] = "id",
    label_column: Annotated[str, typer.Option("--label-column")] = "label",
    as_json: AS_JSON = False,
) -> None:
    import polars as pl

    if not path.is_file():
        raise InvalidInputError(f"no file {str(path)!r}")
    frame = pl.read_parquet(path) if path.suffix in (".parquet", ".pq") else pl.read_csv(path)
    for column in (id_column, label_column):
        if column not in frame.columns:
            raise InvalidInputError(
                f"{path.name} has no column {column!r}", hint=f"columns: {', '.join(frame.columns)}"
            )
    result = _local().monitoring.log_labels(
        [str(v) for v in frame.get_column(id_column).to_list()], frame.get_column(label_column).to_list()
    )
    if as_json:
        print_json(result)
        return
    console().print(
        f"stored {result['stored']} label(s); {len(result['unknown'])} unknown id(s), "
        f"{len(result['already_labelled'])} already labelled"
    )
    for unknown in result["unknown"][:10]:
        console().print(f"  unknown: {unknown}")


@alerts_app.command("list", help="Alerts raised by monitors, newest first.")
def list_alerts(
    model: Annotated[str | None, typer.Option(help="only this model")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10_000)] = 50,
    as_json: AS_JSON = False,
) -> None:
    rows = _local().monitoring.alerts(model, limit=limit)
    if as_json:
        print_json(rows)
        return
    from rich.table import Table

    table = Table(title="alerts")
    for col in ("when", "id", "model", "policy", "severity", "window", "webhook", "action"):
        table.add_column(col)
    for a in rows:
        delivery, action = a.get("delivery") or {}, a.get("action") or {}
        table.add_row(
            _when(a["created_ms"]),
            a["id"],
            f"{a['model']}/{a['version']}",
            a["policy"],
            a["severity"],
            str(a["facts"]["window"]["index"]),
            "-"
            if not delivery
            else (
                "sent" if delivery.get("ok") else f"failed: {delivery.get('error') or delivery.get('status')}"
            ),
            "-" if not action else str(action.get("status")),
        )
    console().print(table)


@alerts_app.command(
    "promote", help="Move champion to the version an alert's retraining produced, once its gate passes."
)
def promote(
    alert_id: Annotated[str, typer.Argument(help="the alert's id (triops alerts list)")],
    as_json: AS_JSON = False,
) -> None:
    action = _local().monitoring.promote(alert_id)
    if as_json:
        print_json(action)
        return
    from triops.cli.demo_loop import timeline_table

    console().print(f"champion → {action['new_version']} (promoted by {action['promoted_by']})")
    console().print(timeline_table(action.get("steps") or [], action.get("currency")))
