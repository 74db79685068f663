"""``triops budget set|list|burn-down``: budgets per project, team or cost centre, their spend this period
and the period's burn-down with its forecast. Plain functions take a ``Store`` or a FinOps service (tested
directly); the Typer commands open the workspace's (a server's with ``--store http://…``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from triops.cli.finops import CatalogOpt, JsonOpt, _money, _open_store, _print, _service, console

if TYPE_CHECKING:
    from triops.store.engine import Store

budget_app = typer.Typer(
    help="Budgets per project or team, with alerts and hard stops.", no_args_is_help=True
)


def _owner(project: str | None, team: str | None, cost_centre: str | None) -> tuple[str, str]:
    from triops.errors import InvalidInputError

    owners = [(s, n) for s, n in (("project", project), ("team", team), ("cost_centre", cost_centre)) if n]
    if len(owners) != 1:
        raise InvalidInputError(
            "give exactly one of --project, --team and --cost-centre", hint="a budget belongs to one owner"
        )
    return owners[0][0], owners[0][1] or ""


def budget_set(
    store: Store,
    *,
    project: str | None = None,
    team: str | None = None,
    cost_centre: str | None = None,
    period: str = "month",
    amount: str,
    currency: str = "EUR",
    thresholds: str = "50,80,100",
    webhook: str | None = None,
    catalog: Path | None = None,
) -> dict[str, Any]:
    from triops.errors import InvalidInputError
    from triops.finops.budgets import new_budget

    scope, name = _owner(project, team, cost_centre)
    try:
        levels = [int(t) for t in thresholds.split(",") if t.strip()]
    except ValueError:
        raise InvalidInputError(
            f"thresholds {thresholds!r} are not integers", hint="e.g. 50,80,100"
        ) from None
    budget = new_budget(scope, name, period, amount, currency, thresholds=levels, webhook_url=webhook)
    service = _service(store, catalog)
    stored = service.set_budget(budget)
    alerts = service.check_alerts(stored)
    return {**stored.to_dict(), "alerts": [a.message for a in alerts]}


@budget_app.command("set")
def budget_set_cmd(
    amount: Annotated[str, typer.Option(help="the budget, e.g. 500 or 1250.50")],
    project: Annotated[str | None, typer.Option(help="project the budget caps")] = None,
    team: Annotated[str | None, typer.Option(help="team the budget caps")] = None,
    cost_centre: Annotated[
        str | None, typer.Option("--cost-centre", help="cost centre the budget caps")
    ] = None,
    period: Annotated[str, typer.Option(help="month | quarter | year")] = "month",
    currency: Annotated[str, typer.Option(help="ISO 4217 code")] = "EUR",
    thresholds: Annotated[str, typer.Option(help="alert thresholds in %")] = "50,80,100",
    webhook: Annotated[str | None, typer.Option(help="URL to POST alerts to")] = None,
    catalog: CatalogOpt = None,
) -> None:
    """Create or replace the budget of a project or team for a period."""
    row = budget_set(
        _open_store(catalog),
        project=project,
        team=team,
        cost_centre=cost_centre,
        period=period,
        amount=amount,
        currency=currency,
        thresholds=thresholds,
        webhook=webhook,
        catalog=catalog,
    )
    console.print(
        f"budget {row['scope']} {row['name']!r}: {_money(row['amount_micros'], row['currency'])} per {row['period']}"
    )
    for alert in row.get("alerts", []):
        console.print(f"[yellow]alert[/yellow] {alert}")


def budget_list(store: Store, *, catalog: Path | None = None) -> list[dict[str, Any]]:
    """Budgets with their spend this period and the alerts that fired in it (thresholds crossed)."""
    service = _service(store, catalog)
    fired: dict[tuple[str, str], list[int]] = {}
    for alert in service.alerts():
        fired.setdefault((alert["budget_id"], alert["period_label"]), []).append(int(alert["threshold_pct"]))
    return [
        {
            "scope": s.budget.scope,
            "name": s.budget.name,
            "period": s.period_label,
            "amount": _money(s.budget.amount_micros, s.budget.currency),
            "spent": _money(s.spent_micros, s.budget.currency),
            "pct": s.pct,
            "thresholds": ",".join(map(str, s.budget.thresholds)),
            "alerts": ",".join(f"{t} %" for t in sorted(fired.get((s.budget.id, s.period_label), []))) or "-",
        }
        for s in service.status()
    ]


@budget_app.command("list")
def budget_list_cmd(catalog: CatalogOpt = None, as_json: JsonOpt = False) -> None:
    """Budgets with their spend in the current period."""
    _print(budget_list(_open_store(catalog), catalog=catalog), as_json, "budgets")


def budget_burn_down(
    store: Store | Any,
    *,
    project: str | None = None,
    team: str | None = None,
    cost_centre: str | None = None,
    period: str = "month",
    catalog: Path | None = None,
) -> dict[str, Any]:
    """The stored budget's current period day by day (``FinOpsService.burn_down``) as JSON, with the budget."""
    from triops.errors import NotFoundError
    from triops.finops.forecast import burn_down_dict

    scope, name = _owner(project, team, cost_centre)
    service = _service(store, catalog)
    found = [b for b in service.list_budgets() if (b.scope, b.name, b.period) == (scope, name, period)]
    if not found:
        raise NotFoundError(
            f"budget {scope} {name!r} ({period}) does not exist",
            hint="list budgets with `triops budget list`",
        )
    return {"budget": found[0].to_dict(), **burn_down_dict(service.burn_down(found[0]))}


@budget_app.command("burn-down")
def budget_burn_down_cmd(
    project: Annotated[str | None, typer.Option(help="the project's budget")] = None,
    team: Annotated[str | None, typer.Option(help="the team's budget")] = None,
    cost_centre: Annotated[str | None, typer.Option("--cost-centre", help="the cost centre's budget")] = None,
    period: Annotated[str, typer.Option(help="month | quarter | year")] = "month",
    days: Annotated[bool, typer.Option("--days", help="also print every day's cumulative spend")] = False,
    catalog: CatalogOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A budget's current period: spend so far, the forecast at the period's end and the day it goes over."""
    row = budget_burn_down(
        _open_store(catalog), project=project, team=team, cost_centre=cost_centre, period=period,
        catalog=catalog,
    )  # fmt: skip
    if as_json:
        typer.echo(json.dumps(row, indent=2, default=str))
        return
    budget, currency = row["budget"], row["budget"]["currency"]
    spent = row["spent"][-1] if row["spent"] else 0
    console.print(
        f"budget {budget['scope']} {budget['name']!r}: {_money(row['amount_micros'], currency)} per "
        f"{budget['period']}, {row['days']} days from {row['start']}"
    )
    console.print(f"spent by {row['as_of']}: {_money(spent, currency)}")
    console.print(f"forecast at the period's end: {_money(row['forecast_end_micros'], currency)}")
    over = row["over_on"]
    console.print(f"[red]over budget on {over}[/red]" if over else "[green]stays within the budget[/green]")
    if days:
        from datetime import date, timedelta

        start = date.fromisoformat(row["start"])
        n_spent = len(row["spent"])
        cumulative = [*row["spent"], *row["forecast"][1:]]
        table = [
            {"day": (start + timedelta(days=i)).isoformat(), "kind": "spent" if i < n_spent else "forecast",
             "cumulative": _money(v, currency)}
            for i, v in enumerate(cumulative)
        ]  # fmt: skip
        _print(table, False, "burn-down")


__all__ = ["budget_app", "budget_burn_down", "budget_list", "budget_set"]
