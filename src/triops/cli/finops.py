"""``triops prices|cost|budget``: the price catalog, cost reports, forecasts, recommendations and FOCUS
export/import; budgets are in ``finops_budget.py``. Each store-backed command is a plain function taking a ``Store`` (tested
directly) plus a thin Typer command that opens the workspace's store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from triops.cli.context import LazyConsole

if TYPE_CHECKING:
    from triops.finops.prices import PriceBook
    from triops.finops.service import FinOpsService
    from triops.store.engine import Store

prices_app = typer.Typer(help="Show and validate the price catalog.", no_args_is_help=True)
cost_app = typer.Typer(
    help="Cost reports, forecasts, recommendations and FOCUS export/import.", no_args_is_help=True
)


console: Any = LazyConsole()
CatalogOpt = Annotated[
    Path | None,
    typer.Option("--catalog", envvar="TRIOPS_PRICE_CATALOG", help="price catalog TOML (default: bundled)"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


def _money(micros: int, currency: str) -> str:
    from triops.finops.money import format_money

    return format_money(int(micros), currency)


def _book(catalog: Path | None) -> PriceBook:
    from triops.finops.prices import load_price_book

    return load_price_book(catalog)


def _service(store: Store | Any, catalog: Path | None) -> FinOpsService:
    """A FinOps service over ``store``; a service (``ws.finops``, local or remote) is used as it is."""
    from triops.finops.service import FinOpsService
    from triops.store.engine import Store as StoreType

    if not isinstance(store, StoreType):
        service: FinOpsService = store
        return service
    return FinOpsService(store, _book(catalog))


def _open_store(catalog: Path | None = None) -> Any:
    """What the commands work on: the workspace's FinOps service (the server's over HTTP), or one priced
    with ``--catalog`` on a local store."""
    from triops.cli.context import open_workspace
    from triops.errors import ConfigError

    ws = open_workspace()
    if catalog is None or ws.is_remote:
        if catalog is not None and catalog != ws.settings.price_catalog:
            raise ConfigError(
                f"a server prices with its own catalog; --catalog {catalog} applies to local stores only",
                hint="see the server's catalog with `triops prices show`",
            )
        return ws.finops
    return ws.finops_priced(_book(catalog))  # the workspace's settings and permission checks


def _print(rows: list[dict[str, Any]], as_json: bool, title: str) -> None:
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    from rich.table import Table

    table = Table(title=title)
    columns = list(rows[0]) if rows else ["(none)"]
    for name in columns:
        table.add_column(
            name, justify="right" if name in ("cost", "amount", "spent", "saving", "records") else "left"
        )
    for row in rows:
        table.add_row(*("" if row[c] is None else str(row[c]) for c in columns))
    console.print(table)


# -- prices ---------------------------------------------------------------------------------------------
def prices_rows(catalog: Path | None) -> list[dict[str, Any]]:
    book = _book(catalog)
    return [
        {
            "environment": r.environment,
            "resource": r.resource,
            "unit": r.unit,
            "price": str(r.unit_price),
            "currency": r.currency,
            "from": r.effective_from.isoformat(),
            "to": r.effective_to.isoformat() if r.effective_to else None,
            "source": r.source,
            "source_date": r.source_date.isoformat() if r.source_date else None,
        }
        for r in sorted(book.rows, key=lambda r: (r.environment, r.resource, r.effective_from))
    ]


@prices_app.command("show")
def prices_show(catalog: CatalogOpt = None, as_json: JsonOpt = False) -> None:
    """List every price with its unit, currency, effective dates and source (a server's own catalog with
    ``--store http://…``)."""
    from triops.cli.context import STATE

    remote = (STATE.store_url or "").startswith(("http://", "https://"))
    if remote and catalog is None:
        from triops.cli.context import open_workspace

        finops: Any = open_workspace().finops  # a RemoteFinOps: the server's catalog
        rows: list[dict[str, Any]] = finops.price_catalog()["prices"]
        _print(rows, as_json, "price catalog (server)")
        return
    _print(prices_rows(catalog), as_json, "price catalog")


@prices_app.command("validate")
def prices_validate(catalog: CatalogOpt = None) -> None:
    """Check a catalog: structure, currencies, resources and non-overlapping effective dates."""
    book = _book(catalog)
    console.print(
        f"[green]valid[/green] {book.path}: version {book.version}, {len(book.environments)} environments, "
        f"{len(book.rows)} prices"
    )


# -- cost -------------------------------------------------------------------------------------------------
def cost_report(
    store: Store,
    *,
    by: str = "project",
    period: str | None = None,
    currency: str | None = None,
    catalog: Path | None = None,
    with_total: bool = False,
) -> list[dict[str, Any]]:
    """Rows of the report, each amount formatted so that a currency's lines add up to its total line
    (added with ``with_total``, as the table shows it)."""
    from triops.finops.money import format_column

    rows = _service(store, catalog).report(by, period=period, currency=currency).to_dicts()
    out: list[dict[str, Any]] = []
    for cur in sorted({r["currency"] for r in rows}):
        mine = [r for r in rows if r["currency"] == cur]
        lines, total = format_column([int(r["cost_micros"]) for r in mine], cur)
        for row, text in zip(mine, lines, strict=True):
            out.append({**{k: v for k, v in row.items() if k != "cost_micros"}, "cost": text,
                        "cost_micros": row["cost_micros"]})  # fmt: skip
        if with_total and len(mine) > 1:
            label: dict[str, Any] = {
                k: None for k in mine[0] if k not in ("cost_micros", "records", "currency")
            }
            first = next(iter(label), None)
            if first is not None:
                label[first] = "total"
            out.append({**label, "currency": cur, "records": sum(int(r["records"]) for r in mine),
                        "cost": total, "cost_micros": sum(int(r["cost_micros"]) for r in mine)})  # fmt: skip
    return out


@cost_app.command("report")
def cost_report_cmd(
    by: Annotated[
        str,
        typer.Option(
            help="project | team | model | dataset | run | step | pipeline | environment | resource"
        ),
    ] = "project",
    period: Annotated[str | None, typer.Option(help="2026-11, 2026-Q4 or 2026")] = None,
    currency: Annotated[str | None, typer.Option(help="report currency (needs catalog rates)")] = None,
    catalog: CatalogOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Cost per project, team, model version, dataset, run, step…; shared costs as their own lines."""
    rows = cost_report(
        _open_store(catalog), by=by, period=period, currency=currency, catalog=catalog, with_total=not as_json
    )
    if not as_json:  # people read the formatted amount; scripts get the exact micro-units too
        rows = [{k: v for k, v in r.items() if k != "cost_micros"} for r in rows]
    _print(rows, as_json, f"cost by {by}" + (f" in {period}" if period else ""))


def cost_forecast(store: Store, *, project: str | None = None, catalog: Path | None = None) -> dict[str, Any]:
    """Month-end forecast and anomalous days per project (or for one project)."""
    service = _service(store, catalog)
    projects = [project] if project else sorted(set(service.costs()["project"].to_list()))
    forecasts, anomalies = [], []
    for name in projects:
        fc = service.forecast(project=name)
        found = sorted(set(service.costs(project=name)["currency"].to_list()))
        currency = found[0] if len(found) == 1 else "EUR"
        forecasts.append(
            {
                "project": name,
                "month": fc.month,
                "spent": _money(fc.spent_micros, currency),
                "forecast": _money(fc.forecast_micros, currency),
                "low": _money(fc.low_micros, currency),
                "high": _money(fc.high_micros, currency),
                "days_observed": fc.days_observed,
            }
        )
        anomalies += [
            {
                "project": name,
                "day": a.day.isoformat(),
                "spend": _money(a.spend_micros, currency),
                "median": _money(a.median_micros, currency),
                "score": a.score,
            }
            for a in service.anomalies(project=name)
        ]
    return {"confidence": 0.9, "forecasts": forecasts, "anomalies": anomalies}


@cost_app.command("forecast")
def cost_forecast_cmd(
    project: Annotated[str | None, typer.Option(help="one project (default: each project)")] = None,
    catalog: CatalogOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Month-end forecast per project with a 90 % interval, and anomalous days."""
    result = cost_forecast(_open_store(catalog), project=project, catalog=catalog)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    _print(result["forecasts"], False, "month-end forecast (90 % interval low..high)")
    if result["anomalies"]:
        _print(result["anomalies"], False, "anomalous days (modified z-score > 3.5)")


def cost_recommend(
    store: Store, *, project: str | None = None, catalog: Path | None = None
) -> list[dict[str, Any]]:
    return [
        {
            "kind": r.kind,
            "target": r.target,
            "detail": r.detail,
            "saving": _money(r.monthly_saving_micros, r.currency),
            "currency": r.currency,
            "evidence": r.evidence,
            "basis": r.basis,
        }
        for r in _service(store, catalog).recommend(project=project)
    ]


@cost_app.command("recommend")
def cost_recommend_cmd(
    project: Annotated[str | None, typer.Option(help="one project (default: all)")] = None,
    catalog: CatalogOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Savings: over-requested resources and repeated work the cache would avoid (monthly estimate)."""
    _print(cost_recommend(_open_store(catalog), project=project, catalog=catalog), as_json, "recommendations")


def cost_export(
    store: Store, *, out: Path, fmt: str = "focus", period: str | None = None, catalog: Path | None = None
) -> int:
    from triops.errors import InvalidInputError

    if fmt != "focus":
        raise InvalidInputError(f"export format {fmt!r} is unknown", hint="use --format focus")
    return _service(store, catalog).export_focus(out, period=period)


@cost_app.command("export")
def cost_export_cmd(
    out: Annotated[Path, typer.Option("--out", help="costs.parquet or costs.csv")],
    fmt: Annotated[str, typer.Option("--format", help="focus (FOCUS 1.2)")] = "focus",
    period: Annotated[str | None, typer.Option(help="2026-11, 2026-Q4 or 2026")] = None,
    catalog: CatalogOpt = None,
) -> None:
    """Write metered costs as FOCUS 1.2 (Parquet or CSV, by the file suffix)."""
    rows = cost_export(_open_store(catalog), out=out, fmt=fmt, period=period, catalog=catalog)
    console.print(f"wrote {rows} FOCUS 1.2 rows to {out}")


def cost_import(
    store: Store,
    *,
    file: Path,
    project: str | None = None,
    catalog: Path | None = None,
    replace: bool = False,
) -> tuple[str, int]:
    return _service(store, catalog).import_focus(file, default_project=project, replace=replace)


@cost_app.command("import")
def cost_import_cmd(
    file: Annotated[Path, typer.Argument(help="a provider's FOCUS export (.csv or .parquet)")],
    project: Annotated[str | None, typer.Option(help="project for rows without a project tag")] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="replace the billing periods this file holds if imported before")
    ] = False,
    catalog: CatalogOpt = None,
) -> None:
    """Import a FOCUS file, allocating rows to projects by their tags (all rows or none). A file or billing
    period imported before is refused unless --replace is given: nothing is ever counted twice."""
    import_id, rows = cost_import(
        _open_store(catalog), file=file, project=project, catalog=catalog, replace=replace
    )
    console.print(f"imported {rows} FOCUS rows from {file.name} (import {import_id})")


from triops.cli import finops_attribution as _attribution  # noqa: E402  registers `cost allocate|models`
from triops.cli.finops_budget import (  # noqa: E402  `budget set|list|burn-down`
    budget_app,
    budget_burn_down,
    budget_list,
    budget_set,
)

__all__ = [
    "_attribution",
    "budget_app",
    "budget_burn_down",
    "budget_list",
    "budget_set",
    "cost_app",
    "prices_app",
]
