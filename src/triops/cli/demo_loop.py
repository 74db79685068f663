"""``triops demo``, the loop chapter: serve the champion over real HTTP (the ``triops serve`` app on a
loopback port), send traffic, then shifted traffic (ages and tenure moved, the state mix changed towards
high-unemployment states); the labels arrive late; the monitor flags drift and measures the performance of
each labelled window; the alert triggers a retraining run; the new version waits at the promotion gate
until a second person approves; the alias moves and serving switches while requests keep coming, none
failing. It ends with the loop's timeline: what, when, who, cost.

Everything goes through the public services (``ws.monitoring``, ``ws.governance``, ``ws.models``) and the
HTTP predict route, so the chapter shows what a team's server does, not a shortcut.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from triops.cli.context import console

if TYPE_CHECKING:
    import httpx
    import pandas as pd
    from rich.table import Table

    from triops.workspace import Workspace

WINDOW = 1000
MONITORED = ["age", "tenure", "stateur", "statemb"]
APPROVER = "anna"
ALERTS = """\
alerts:
  - name: drift-or-performance-drop
    expr: drift.psi.max > 0.2 || performance.roc_auc.upper < 0.62
    severity: critical
    on_breach: retrain
"""
CHAMPION_GATE = """\
name: champion-needs-approver
gate: model.alias.champion
description: a new champion is approved by an approver who did not ask for it
rules:
  - name: card-written
    expr: card_completeness == null || card_completeness >= 0.0
    reason: the new version has a card (or one is written before it serves)
approvals: {role: approver, count: 1, expires_in_days: 7}
"""


def timeline_table(steps: list[dict[str, Any]], currency: str | None) -> Table:
    """The loop's steps as a table: when (UTC), who, what, cost."""
    from rich.table import Table

    from triops.finops.money import format_money

    table = Table("when (UTC)", "who", "what", "cost", title="the loop's timeline")
    for step in steps:
        when = datetime.fromtimestamp(step["at_ms"] / 1000, UTC).strftime("%H:%M:%S.%f")[:-3]
        cost = step.get("cost_micros") or 0
        table.add_row(when, step["who"], step["what"], format_money(cost, currency or "EUR") if cost else "-")
    return table


def _traffic(test: pd.DataFrame, seed: int, shifted: bool) -> pd.DataFrame:
    """``WINDOW`` rows of the held-out split; shifted: only the low-unemployment states, 15 years older,
    tenure reported in months instead of years (an upstream change the model never saw)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    pool = test[test["stateur"] <= test["stateur"].quantile(0.25)] if shifted else test
    rows = pool.iloc[rng.integers(0, len(pool), WINDOW)].reset_index(drop=True)
    if shifted:
        rows["age"] = rows["age"] + 15
        rows["tenure"] = rows["tenure"] * 12
    return rows


class _Clients:
    """Single-row predict requests from a thread while the gate decides: answers by version, failures."""

    def __init__(self, client: httpx.Client, path: str, row: dict[str, Any]) -> None:
        self.versions: list[int] = []
        self.failures: list[str] = []
        self._stop = threading.Event()

        def loop() -> None:
            while not self._stop.is_set():
                try:
                    answer = client.post(path, json={"inputs": row})
                    if answer.status_code == 200:
                        self.versions.append(_version(answer))
                    else:
                        self.failures.append(f"{answer.status_code}: {answer.text[:200]}")
                except Exception as exc:  # a dropped connection is a failed request too
                    self.failures.append(repr(exc))

        self.thread = threading.Thread(target=loop, name="demo-clients", daemon=True)
        self.thread.start()

    def wait_for(self, version: int, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while (not self.versions or self.versions[-1] != version) and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=30)


def _serve(ws: Workspace, model: str, settings: Any) -> tuple[Any, threading.Thread, str, str]:
    """The ``triops serve`` app for ``model@champion`` on a free loopback port; returns the server, its
    thread, its URL and a bearer token of the acting user."""
    import importlib
    import socket

    import uvicorn

    from triops.domain.clock import utc_ms
    from triops.store.repositories.tokens import create_token

    # The interfaces do not import each other (as ``triops serve`` hands uvicorn the app by name).
    serving_app = importlib.import_module("triops.server.serving_app")
    app = serving_app.create_serving_app(ws, model, "champion")
    app.state.serving_session = ws.serving.open_session(settings)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="demo-serve", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    now = utc_ms(ws.clock.now())
    _, token = ws.store.write(lambda conn: create_token(conn, ws.principal.name, "demo-loop", now))
    return server, thread, f"http://127.0.0.1:{port}", token


def chapter_loop(
    ws: Workspace, champion: Any, train: Any, test: pd.DataFrame, settings: Any
) -> dict[str, Any]:
    """Run the loop on ``champion`` (its model@champion); ``train`` (polars) and ``test`` (pandas) are the
    pipeline's splits with the encoded features and the label: the monitor's reference and the traffic;
    ``settings`` the serving chapter's (restricted derived columns)."""
    import httpx
    import pandas as pd

    from triops.cli.demo_pipeline import FEATURES, TARGET
    from triops.cli.demo_serving import DERIVED_RESTRICTED
    from triops.governance import roles
    from triops.governance.rbac import Principal

    out = console()
    out.rule(
        "[bold]7 · The loop[/]: serve over HTTP, drift and late labels, alert → retrain → gate → approval → "
        "switch"
    )
    model = champion.model
    ws.governance.add_policies(CHAMPION_GATE, source="demo")
    if champion.run_id:  # the retraining runs where the champion's training run ran
        _raise_budgets(ws, ws.runs.get(champion.run_id).project)
    settings = settings.model_copy(update={"serving_poll_interval_s": 0.1})
    project = champion_project(ws, model)
    reference = ws.datasets.register(f"{model}-training-split", train, project=project).version
    server, thread, url, token = _serve(ws, model, settings)
    path = f"/api/v1/models/{model}@champion/predict"
    client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    try:
        sent: list[tuple[str, pd.DataFrame]] = []
        for label, shifted in (("normal", False), ("shifted", True)):
            rows = _traffic(test, seed=11 if shifted else 7, shifted=shifted)
            body = {"columns": {c: rows[c].tolist() for c in FEATURES}}
            answer = client.post(path, json=body)
            answer.raise_for_status()
            request_id = answer.headers["X-Request-Id"]
            sent.append((request_id, rows))
            out.print(
                f"{label} traffic: {WINDOW:,} rows in one HTTP request → {model}/{_version(answer)} "
                f"(request {request_id[-12:]})"
                + ("; ages +15 years, tenure in months, only low-unemployment states" if shifted else "")
            )
            time.sleep(0.005)  # two requests in one millisecond have no order in the log
        session = app_session(server)
        session.flush()
        # The agency keeps its case records (restricted columns in clear) as a governed dataset, each row
        # with the prediction id it was answered with; the log itself holds female and nonwhite hashed.
        kept = pd.concat(
            [
                rows[list(FEATURES)].assign(prediction_id=[f"{rid}/{i}" for i in range(len(rows))])
                for rid, rows in sent
            ]
        )
        production = ws.datasets.register(f"{model}-production-rows", kept, project=project).version
        ws.monitoring.create(
            f"{model}@champion",
            reference=f"{reference.name}/{reference.version}",
            window=str(WINDOW),
            features=MONITORED,
            policies=ALERTS,
            evaluation=production.name,
        )
        out.print(
            f"monitor on {champion.ref}: windows of {WINDOW:,} predictions, features {', '.join(MONITORED)} "
            f"against its training split ({reference.name}/{reference.version}); alert policy: "
            f"{ALERTS.split('expr: ')[1].splitlines()[0]} → retrain; policy champion-needs-approver gates "
            f"champion moves; the loop's paired test re-scores the production rows in clear from "
            f"{production.name}/{production.version} (the log keeps {', '.join(DERIVED_RESTRICTED)} hashed)"
        )
        for request_id, rows in sent:  # the labels arrive late: take-up is known weeks afterwards
            ws.monitoring.log_labels(
                [f"{request_id}/{i}" for i in range(len(rows))], rows[TARGET].astype(int).tolist()
            )
        out.print(f"late labels: {2 * WINDOW:,} take-up outcomes joined to their predictions by id")
        result = ws.monitoring.run(f"{model}@champion")
        _windows(result["windows"])
        alerts = result["alerts"]
        if not alerts:
            out.print("[red]no alert was raised[/]")
            return {}
        alert = alerts[0]
        action = alert["action"] or {}
        out.print(
            f"[yellow]alert[/] {alert['policy']} on window {alert['facts']['window']['index']} → "
            f"retraining run {str(action.get('run_id'))[-12:]} {action.get('run_status')}, new version "
            f"{action.get('new_version')}"
        )
        paired_test(action)
        if action.get("status") != "awaiting_approval":
            out.print(f"[red]the loop ended {action.get('status')}: {action.get('error')}[/]")
            return action
        out.print(f"[yellow]gate blocked[/]: {action['gate'].split(' — ')[0]}")
        clients = _Clients(client, path, {c: _plain(test.iloc[0][c]) for c in FEATURES})
        try:
            try:
                ws.governance.approve(action["approval_request"], "I asked for it myself")
            except Exception as exc:  # separation of duties: the requester cannot approve
                out.print(f"self-approval by {ws.principal.name} refused: {str(exc).split(' — ')[0]}")
            roles.grant(ws.store, Principal.owner(ws.principal.name), APPROVER, "approver", None)
            with ws.store.connect() as conn:
                anna = ws.acting_as(roles.load_principal(conn, APPROVER))
            anna.governance.approve(action["approval_request"], "drift explained; retrained on current data")
            out.print(f"{APPROVER} (approver) approved the move to {action['new_version']}")
            done = ws.monitoring.promote(alert["id"])
            new_version = int(str(done["new_version"]).rsplit("/", 1)[1])
            clients.wait_for(new_version)
        finally:
            clients.stop()
        before = sum(1 for v in clients.versions if v != new_version)
        out.print(
            f"champion → {done['new_version']}; serving switched while {len(clients.versions):,} requests ran "
            f"({before:,} answered by the old version, {len(clients.versions) - before:,} by the new), "
            f"[bold]{len(clients.failures)} failed[/]"
        )
        out.print(timeline_table(done["steps"], done.get("currency")))
        total = sum(int(s.get("cost_micros") or 0) for s in done["steps"])
        from triops.finops.money import format_money

        out.print(
            f"the loop took {done['loop_elapsed_s']:.1f}s from alert to switch and cost "
            f"{format_money(total, done.get('currency') or 'EUR')} (the retraining run, metered and priced)"
        )
        return done
    finally:
        client.close()
        server.should_exit = True
        thread.join(timeout=30)


def paired_test(action: dict[str, Any]) -> None:
    """The champion/challenger paired comparison of the loop: its rows, verdict, McNemar and per metric."""
    found = action.get("comparison") or {}
    if not found.get("verdict"):
        console().print(f"[red]paired comparison not run[/]: {found.get('error')}")
        return
    source = action.get("comparison_rows")
    console().print(
        f"paired comparison, {action.get('from_version')} vs {action.get('new_version')} on "
        f"{found['n_rows']:,} labelled production rows"
        + (f" (re-identified in {source})" if source else "")
        + f": [bold]{found['verdict']}[/]; McNemar p = {_num(found.get('mcnemar_p_value'))} "
        f"({found.get('champion_only_correct')} rows right only for the champion, "
        f"{found.get('challenger_only_correct')} only for the challenger)"
    )
    for d in found.get("differences") or []:
        console().print(
            f"  {d['metric']}: {_num(d['champion'])} → {_num(d['challenger'])} "
            f"(Δ {_num(d['difference'])}, 95% CI [{_num(d['low'])}, {_num(d['high'])}], p = {_num(d['p_value'])})"
        )


def champion_project(ws: Workspace, model: str) -> str:
    from triops.workspace.projects import model_project

    return model_project(ws.store, model) or "default"


def _version(answer: httpx.Response) -> int:
    """The version number of ``X-Model-Version`` (``model/3`` or ``3``)."""
    return int(answer.headers["X-Model-Version"].rsplit("/", 1)[-1])


def _raise_budgets(ws: Workspace, project: str) -> None:
    """The FinOps chapter left a tiny budget with a hard stop; the loop's retraining would be refused
    (as it should be). Raise it, as an audited change, so the loop can go on."""
    import dataclasses

    for budget in ws.finops.budgets_for(project, None):
        raised = ws.finops.set_budget(dataclasses.replace(budget, amount_micros=budget.amount_micros * 1000))
        console().print(f"raised the {raised.describe()} for the retraining (an audited change)")


def app_session(server: Any) -> Any:
    """The serving session of the running app (its prediction log writer)."""
    return server.config.app.state.serving_session


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _windows(windows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table("window", "rows", "labelled", "PSI max", "KS max", "ROC AUC [95% CI]", title="monitoring")
    for w in windows:
        facts = w["facts"]
        drift = facts.get("drift") or {}
        auc = (facts.get("performance") or {}).get("roc_auc") or {}
        shown = (
            "-"
            if auc.get("value") is None
            else f"{auc['value']:.3f} [{auc.get('lower', float('nan')):.3f}, {auc.get('upper', float('nan')):.3f}]"
        )
        ks = ((drift.get("ks") or {}).get("max")) if isinstance(drift.get("ks"), dict) else None
        table.add_row(
            str(w["seq"]),
            f"{w['rows']:,}",
            f"{w['labelled']:,}",
            _num((drift.get("psi") or {}).get("max")),
            _num(ks),
            shown,
        )
    console().print(table)
    labelled = [w["facts"] for w in windows if w["labelled"]]
    if len(labelled) >= 2:
        first, last = labelled[0], labelled[-1]
        auc = [((f.get("performance") or {}).get("roc_auc") or {}).get("value") for f in (first, last)]
        psi = [((f.get("drift") or {}).get("psi") or {}).get("max") for f in (first, last)]
        console().print(
            f"drift: largest PSI {_num(psi[0])} → {_num(psi[1])}; performance on the late labels: ROC AUC "
            f"{_num(auc[0])} → {_num(auc[1])}"
            + (" (a drop)" if None not in auc and auc[1] < auc[0] else " (no drop)")
        )


def _num(value: Any) -> str:
    return "-" if value is None else f"{float(value):.3f}"
