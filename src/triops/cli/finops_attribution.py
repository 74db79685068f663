"""``triops cost allocate|allocations|models``: shared or idle cost allocated in proportion to each group's
own metered cost, and cost per model version and per 1,000 predictions. Plain functions take the FinOps
service (tested directly); the Typer commands open the workspace's."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from triops.cli.finops import CatalogOpt, JsonOpt, _open_store, _print, _service, console, cost_app


def cost_allocate(
    service: Any,
    *,
    label: str,
    amount: str,
    currency: str,
    period: str,
    by: str = "project",
    catalog: Path | None = None,
) -> list[dict[str, Any]]:
    """Allocate and store; rows of (key, share) formatted so that they add up to the amount as printed."""
    from triops.finops.money import format_column

    result = _service(service, catalog).allocate(label, amount, currency, period, by=by)
    shares = result["shares"]
    lines, total = format_column(list(shares.values()), currency)
    rows = [
        {by: k, "share": text, "share_micros": v} for (k, v), text in zip(shares.items(), lines, strict=True)
    ]
    rows.append({by: "total", "share": total, "share_micros": sum(shares.values())})
    return rows


@cost_app.command("allocate")
def cost_allocate_cmd(
    label: Annotated[str, typer.Argument(help="what the shared cost is, e.g. 'GPU cluster idle'")],
    amount: Annotated[str, typer.Option(help="the shared amount, e.g. 1200 or 99.50")],
    period: Annotated[str, typer.Option(help="2026-11, 2026-Q4 or 2026")],
    currency: Annotated[str, typer.Option(help="ISO 4217 code")] = "EUR",
    by: Annotated[str, typer.Option(help="project | team | model | dataset | pipeline")] = "project",
    catalog: CatalogOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Allocate a shared or idle cost over a period in proportion to each group's metered cost; it shows as
    its own line ("shared: LABEL") in `triops cost report --by BY`. Re-running replaces it."""
    rows = cost_allocate(
        _open_store(catalog),
        label=label,
        amount=amount,
        currency=currency,
        period=period,
        by=by,
        catalog=catalog,
    )
    if not as_json:
        rows = [{k: v for k, v in r.items() if k != "share_micros"} for r in rows]
    _print(rows, as_json, f"{label!r} allocated by {by} in {period}")


def cost_allocations(
    service: Any, *, period: str | None = None, catalog: Path | None = None
) -> list[dict[str, Any]]:
    from triops.finops.money import format_money

    return [
        {
            "label": a["label"],
            "period": a["period"],
            "by": a["by"],
            "amount": format_money(int(a["amount_micros"]), a["currency"]),
            "groups": len(a["shares"]),
            "source": a["source"],
        }
        for a in _service(service, catalog).allocations(period=period)
    ]


@cost_app.command("allocations")
def cost_allocations_cmd(
    period: Annotated[str | None, typer.Option(help="2026-11, 2026-Q4 or 2026")] = None,
    catalog: CatalogOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Shared-cost allocations: stored ones and those of [[finops.shared]] in triops.toml."""
    _print(cost_allocations(_open_store(catalog), period=period, catalog=catalog), as_json, "allocations")


def cost_models(
    service: Any,
    *,
    project: str | None = None,
    period: str | None = None,
    currency: str | None = None,
    catalog: Path | None = None,
) -> list[dict[str, Any]]:
    rows = _service(service, catalog).model_costs(project=project, period=period, currency=currency)
    return [
        {
            "model_version": r["model_version"],
            "cost": r["cost"],
            "predictions": r["predictions"],
            "per 1,000 predictions": r["per_1k_predictions"] or "-",
            "records": r["records"],
        }
        for r in rows
    ]


@cost_app.command("models")
def cost_models_cmd(
    project: Annotated[str | None, typer.Option(help="one project (default: all)")] = None,
    period: Annotated[str | None, typer.Option(help="2026-11, 2026-Q4 or 2026")] = None,
    currency: Annotated[str | None, typer.Option(help="report currency (needs catalog rates)")] = None,
    catalog: CatalogOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Cost per model version (its training runs and its serving) and per 1,000 predictions served."""
    rows = cost_models(
        _open_store(catalog), project=project, period=period, currency=currency, catalog=catalog
    )
    if not rows and not as_json:
        console.print("no cost is attributed to a model version yet")
        return
    _print(rows, as_json, "cost per model version")


def parse_tags(pairs: list[str]) -> dict[str, str]:
    """``--tag k=v`` pairs (team, cost_centre, model_version, dataset, …); the value is plain text."""
    from triops.errors import InvalidInputError

    tags: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InvalidInputError(
                f"--tag {pair!r} is not of the form key=value", hint="e.g. --tag team=fraud"
            )
        tags[key.strip()] = value.strip()
    return tags


def print_alerts(hooks: Any, as_json: bool) -> None:
    """The budget alerts a run fired, where they happen: in the output of the run (stderr with --json)."""
    import sys

    for hook in hooks:
        for alert in getattr(hook, "alerts", None) or []:
            if as_json:
                print(f"budget alert: {alert.message}", file=sys.stderr)
            else:
                console.print(f"[yellow]budget alert[/yellow] {alert.message}")
