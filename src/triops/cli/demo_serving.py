"""``triops demo``, the serving chapter: serve the champion, send traffic (single rows and a batch), read
the prediction log back (restricted inputs hashed) and price serving per 1,000 predictions.

Traffic goes through ``ws.serving``'s serving session: the same signature check, permission check,
prediction log and metering as ``triops serve`` and ``triops server`` (which add HTTP around it).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from triops.cli.context import console

if TYPE_CHECKING:
    from triops.workspace import Workspace

SINGLE_REQUESTS = 1000
BATCH_ROWS = 1000
#: Model inputs derived from restricted columns of the Benefits contract (``sex``, ``nwhite``): the
#: derived features are protected in the log too.
DERIVED_RESTRICTED = ["female", "nonwhite"]


def chapter_serving(ws: Workspace, champion: Any) -> Any:
    """Serve ``MODEL@champion``, send traffic, show the log and the cost; returns the serving session
    (still open, so later chapters can send more traffic; the caller closes it)."""
    from rich.table import Table

    from triops.cli.demo_tracking import _features, load_benefits

    out = console()
    out.rule("[bold]6 · Serving[/]: serve the champion, send traffic, log every prediction, price it")
    settings = ws.settings.model_copy(update={"serving_restricted_columns": DERIVED_RESTRICTED})
    session = ws.serving.open_session(settings)
    model, alias = champion.model, "champion"
    frame, _ = _features(load_benefits())
    rows = frame.to_dict("records")
    latencies = []
    started = time.perf_counter()
    for i in range(SINGLE_REQUESTS):
        served = session.predict(ws.principal, model, alias, body={"inputs": rows[i % len(rows)]})
        latencies.append(served.latency_ms)
    elapsed = time.perf_counter() - started
    batch = frame.iloc[:BATCH_ROWS]
    batch_served = session.predict(
        ws.principal, model, alias, body={"columns": {str(c): batch[c].tolist() for c in batch.columns}}
    )
    session.flush()
    table = Table("measure", "value", title=f"serving {model}@{alias} → {served.model}/{served.version}")
    table.add_row("engine", served.engine)
    table.add_row("single-row requests", f"{SINGLE_REQUESTS:,} at {SINGLE_REQUESTS / elapsed:,.0f}/s")
    table.add_row(
        "latency p50 / p99", f"{np.percentile(latencies, 50):.2f} / {np.percentile(latencies, 99):.2f} ms"
    )
    table.add_row("batch of 1,000 rows", f"{batch_served.latency_ms:.1f} ms")
    table.add_row(
        "predictions in the log", f"{ws.serving.counts(model).get(f'{model}/{served.version}', 0):,}"
    )
    out.print(table)
    record = next(iter(ws.serving.predictions(model, served.version, limit=1)))
    shown = {k: record.inputs[k] for k in list(record.inputs or {})[:4]} if record.inputs else {}
    for name in DERIVED_RESTRICTED:
        if record.inputs and name in record.inputs:
            shown[name] = record.inputs[name]
    out.print(
        f"a logged prediction: id {record.id[-12:]}, output {record.output}, score {None if record.score is None else round(record.score, 3)}, "
        f"inputs {shown} …",
        markup=False,  # "[masked:…]" tokens are text, not rich markup
    )
    for cost in ws.serving.costs(model):
        per_1000 = cost["cost_per_1000_micros"]
        out.print(
            f"serving cost of {cost['model_version']}: {cost['predictions']:,} predictions, "
            f"{cost['cost_micros'] / 1e6:.6f} {cost['currency']}"
            + (
                f" = {per_1000 / 1e6:.8f} {cost['currency']} per 1,000 predictions"
                if per_1000 is not None
                else ""
            )
        )
    out.print(f"serve it over HTTP: [bold]triops serve {model}@{alias}[/] (see docs/serving.md)")
    return session
