"""``ws.monitoring``: monitors per model version, their windows, delayed labels and alerts.

- ``create(ref, reference=None, window="1000", ...)`` sets a monitor up for the version ``ref`` points at
  (``model@alias`` or ``model/version``); the reference defaults to the version's training dataset version.
- ``create(..., every="15m")`` schedules it: ``triops server`` runs due monitors in the background and
  ``run_due()`` runs them once (cron); a run holds the monitor's lease in the store, so one process runs a
  monitor at a time (``triops.workspace.monitoring_schedule``).
- ``run(ref)`` evaluates every complete window of the prediction log not yet evaluated, or whose labels
  grew since (delayed labels), stores each window's facts and report, evaluates the alert policies on the
  facts, stores and audits each breach, POSTs it to the policy's webhook, and hands ``on_breach: retrain``
  breaches to the feedback loop.
- ``log_labels(prediction_ids, labels)`` stores delayed labels by prediction id; unknown ids are reported,
  not stored; a label already stored is kept (reported as such).
- ``show(ref)`` and ``alerts(model=None)`` read it back; ``promote(alert_id)`` finishes a retraining that
  waited at the promotion gate, once a second person approved it.

Permissions (checked against ``ws.principal`` in the model's project): ``monitor.run`` to create and run,
``label.write`` to log labels, ``alert.read`` to read; a model in a project the caller cannot read does not
exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from triops.domain.clock import utc_ms
from triops.domain.ids import new_id
from triops.errors import InvalidInputError, NotFoundError
from triops.governance.rbac import Permission, require
from triops.store.repositories import monitoring as repo

if TYPE_CHECKING:
    import polars as pl

    from triops.mlops.registry.records import ModelVersion
    from triops.workspace.local import Workspace

MAX_LABELS = 1_000_000


def _every(value: str | None) -> int | None:
    """A schedule's interval in seconds, from a duration (``30s``, ``15m``, ``1h``, ``1d``)."""
    from triops.mlops.monitoring.windows import WindowSpec

    if value is None or str(value).strip().lower() in ("", "off", "none"):
        return None
    try:
        spec = WindowSpec.parse(str(value))
    except InvalidInputError:
        spec = WindowSpec(count=1)
    if spec.every is None:
        raise InvalidInputError(
            f"every: {value!r} is not a duration", hint="e.g. every='15m' (s, m, h, d or w)"
        )
    return int(spec.every.total_seconds())


def _text(value: str | None, what: str) -> str | None:
    """A policy or contract given as YAML text or as a path to a file holding it."""
    from pathlib import Path

    if value is None:
        return None
    if "\n" in value:
        return value
    path = Path(value)
    if not path.is_file():
        raise InvalidInputError(f"{what}: {value!r} is neither YAML text nor a file")
    return path.read_text(encoding="utf-8")


class MonitoringService:
    """``ws.monitoring`` (see the module docstring)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    # -- resolution and permissions ----------------------------------------------------------------------
    def _version(self, ref: str, permission: Permission) -> tuple[ModelVersion, str]:
        from triops.workspace.projects import model_project

        name = ref.split("@")[0].split("/")[0]
        project = model_project(self.ws.store, name)
        if not self.ws.principal.can(Permission.PROJECT_READ, project):
            raise NotFoundError(f"model {name!r} does not exist", hint="ask for a role in its project")
        require(permission, self.ws.principal, project)
        return self.ws.models.get(ref), project or "default"

    def _monitor(self, version: ModelVersion) -> dict[str, Any]:
        with self.ws.store.connect() as conn:
            found = repo.monitor(conn, version.model, version.version)
        if found is None:
            raise NotFoundError(
                f"model version {version.ref} has no monitor",
                hint=f"set one up: triops monitor create {version.model}@ALIAS (or ws.monitoring.create)",
            )
        return found

    def _reference_row(self, version: ModelVersion, project: str, reference: str | None) -> Any:
        from triops.store.repositories.dataops import _row
        from triops.store.tables_dataops import dataset_versions as dv

        if reference is None:
            if not version.training_datasets:
                raise InvalidInputError(
                    f"model version {version.ref} records no training dataset",
                    hint="name a reference: reference='DATASET/VERSION'",
                )
            with self.ws.store.connect() as conn:
                found = conn.execute(sa.select(dv).where(dv.c.id == version.training_datasets[0])).first()
            if found is None:
                raise NotFoundError(
                    f"training dataset {version.training_datasets[0]} of {version.ref} is gone"
                )
            return _row(found)
        name, _, number = reference.partition("/")
        if number and not number.isdigit():
            raise InvalidInputError(f"reference: {reference!r} is not DATASET or DATASET/VERSION")
        return self.ws.datasets.get(name, int(number) if number else None, project=project)

    def _reference_frame(self, row: Any) -> pl.DataFrame:
        from triops.dataops.datasets import version_frame

        frame = version_frame(self.ws.artifacts, row)
        if frame is None:
            raise NotFoundError(
                f"the data of reference dataset {row.name}/{row.version} was not kept",
                hint="register the reference with keep_data=True, or name another reference",
            )
        result: pl.DataFrame = frame
        return result

    # -- set up ------------------------------------------------------------------------------------------
    def create(
        self,
        ref: str,
        *,
        reference: str | None = None,
        window: str = "1000",
        features: Sequence[str] | None = None,
        sensitive: Sequence[str] = (),
        bins: int = 10,
        contract: str | None = None,
        policies: str | None = None,
        every: str | None = None,
        evaluation: str | None = None,
    ) -> dict[str, Any]:
        """Set up (or replace) the monitor of the version ``ref`` points at; returns its settings. ``every``
        (a duration: ``15m``, ``1h``) schedules it: ``triops server`` runs it that often (see
        ``monitoring_schedule``); without it, it runs when asked. ``evaluation`` names a dataset of the
        production rows in clear with a ``prediction_id`` column: the feedback loop's paired comparison
        re-scores the labelled predictions from it when the log holds their inputs masked."""
        from triops.governance.alert_rules import parse_alert_policies
        from triops.mlops.monitoring.drift import DriftRules
        from triops.mlops.monitoring.windows import WindowSpec
        from triops.store import audit as audit_store
        from triops.workspace.serving import protected_columns

        version, project = self._version(ref, Permission.MONITOR_RUN)
        spec = WindowSpec.parse(str(window))
        every_s = _every(every)
        DriftRules(bins=int(bins))
        # the policies and the contract are checked before the reference is read: a typo fails at once
        policy_text = _text(policies, "policies")
        if policy_text is not None:
            parse_alert_policies(policy_text, source="policies")
        contract_text = _text(contract, "contract")
        if contract_text is not None:
            from triops.dataops.contracts import parse_contract

            parse_contract(contract_text, where="contract")
        row = self._reference_row(version, project, reference)
        columns = set(self._reference_frame(row).columns)
        protected = protected_columns(self.ws, version)  # hashed or dropped in the log: no drift on them
        chosen = (
            list(features)
            if features is not None
            else (version.signature.names() if version.signature else [])
        )
        chosen = [f for f in chosen if features is not None or f not in protected]
        if not chosen:
            raise InvalidInputError("features: none to monitor", hint="name them: features=['age', ...]")
        for name in [*chosen, *sensitive]:
            if name not in columns:
                raise InvalidInputError(
                    f"features: the reference {row.name}/{row.version} has no column {name!r}"
                )
        if evaluation is not None:
            found = self.ws.datasets.get(evaluation, project=project)
            frame = self._reference_frame(found)
            if "prediction_id" not in frame.columns:
                raise InvalidInputError(
                    f"evaluation: the dataset {evaluation!r} has no column 'prediction_id'",
                    hint="keep each production row with the prediction id its request was answered with",
                )
        now = utc_ms(self.ws.clock.now())
        values = {
            "id": new_id(now),
            "model": version.model,
            "version": version.version,
            "model_version_id": version.id,
            "project": project,
            "reference_dataset_id": row.id,
            "window": spec.describe(),
            "features": chosen,
            "sensitive": list(sensitive),
            "bins": int(bins),
            "contract": contract_text,
            "policies": policy_text,
            "created_ms": now,
            "created_by": self.ws.principal.name,
            "every_s": every_s,
            "next_due_ms": None if every_s is None else now + every_s * 1000,
            "evaluation_dataset": evaluation,
        }

        def write(conn: Any) -> None:
            repo.save_monitor(conn, values)
            audit_store.append_event(
                conn,
                actor=self.ws.principal.name,
                action="monitor.create",
                object_type="model_version",
                object_id=version.ref,
                before=None,
                after={
                    k: values[k]
                    for k in ("window", "features", "sensitive", "bins", "reference_dataset_id", "every_s")
                },
                project=project,
                at_ms=now,
            )

        self.ws.store.write(write)
        return self.settings(version.ref)

    def settings(self, ref: str) -> dict[str, Any]:
        version, _ = self._version(ref, Permission.ALERT_READ)
        mon = self._monitor(version)
        return {k: v for k, v in mon.items() if k not in ("contract",)} | {
            "has_contract": bool(mon["contract"])
        }

    # -- labels ------------------------------------------------------------------------------------------
    def log_labels(self, prediction_ids: Sequence[str], labels: Sequence[Any]) -> dict[str, Any]:
        """Store delayed labels by prediction id: ``{"stored", "unknown", "already_labelled"}``."""
        from triops.workspace.projects import model_project

        ids, values = [str(i) for i in prediction_ids], list(labels)
        if len(ids) != len(values):
            raise InvalidInputError(f"labels: {len(values)} labels for {len(ids)} prediction ids")
        if len(ids) > MAX_LABELS:
            raise InvalidInputError(f"prediction_ids: at most {MAX_LABELS:,} per call, got {len(ids):,}")
        if len(set(ids)) != len(ids):
            raise InvalidInputError("prediction_ids: an id appears twice in one call")
        for value in values:
            if value is not None and not isinstance(value, str | int | float | bool):
                raise InvalidInputError(f"labels: {value!r} is not a string, number or boolean")
        self.ws.serving.flush()  # this process's own predictions are in the log before labels join them
        with self.ws.store.connect() as conn:
            known = repo.known_predictions(conn, ids)
            already = repo.labels(conn, [i for i in ids if i in known])
        readable: dict[str, bool] = {}
        for model in sorted(set(known.values())):
            project = model_project(self.ws.store, model)
            readable[model] = self.ws.principal.can(Permission.PROJECT_READ, project)
            if readable[model]:
                require(Permission.LABEL_WRITE, self.ws.principal, project)
        now = utc_ms(self.ws.clock.now())
        rows = [
            {"prediction_id": i, "label": v, "logged_ms": now, "logged_by": self.ws.principal.name}
            for i, v in zip(ids, values, strict=True)
            if i in known and readable[known[i]] and i not in already
        ]
        self.ws.store.write(lambda conn: repo.insert_labels(conn, rows))
        unknown = [i for i in ids if i not in known or not readable[known[i]]]
        return {"stored": len(rows), "unknown": unknown, "already_labelled": sorted(already)}

    # -- reads -------------------------------------------------------------------------------------------
    def show(self, ref: str) -> dict[str, Any]:
        """The monitor's settings, every evaluated window's facts and its alerts."""
        version, _ = self._version(ref, Permission.ALERT_READ)
        mon = self._monitor(version)
        with self.ws.store.connect() as conn:
            windows = repo.windows(conn, mon["id"])
            alerts = repo.alerts(conn, model=version.model, limit=1000)
        return {
            "monitor": self.settings(version.ref),
            "windows": [
                {k: w[k] for k in ("seq", "start_ms", "end_ms", "rows", "labelled", "facts")} for w in windows
            ],
            "alerts": [a for a in alerts if a["monitor_id"] == mon["id"]],
        }

    def monitors(self) -> list[dict[str, Any]]:
        """Every monitor the caller may read (``alert.read`` in its model's project): model, version,
        project, window, features and how many windows were evaluated, with the latest window's facts."""
        from triops.workspace.projects import model_project

        with self.ws.store.connect() as conn:
            rows = repo.monitors(conn)
            projects = {m: model_project(self.ws.store, m) for m in {r["model"] for r in rows}}
            readable = [r for r in rows if self.ws.principal.can(Permission.ALERT_READ, projects[r["model"]])]
            latest = repo.latest_windows(conn, [r["id"] for r in readable])
        return [
            {
                "model": r["model"],
                "version": r["version"],
                "project": projects[r["model"]] or "default",
                "window": r["window"],
                "features": r["features"],
                "windows": latest.get(r["id"], (0, None))[0],
                "latest": latest.get(r["id"], (0, None))[1],
            }
            for r in readable
        ]

    def window(self, ref: str, seq: int) -> dict[str, Any]:
        """One evaluated window with its full report (per-feature statistics, performance, quality)."""
        version, _ = self._version(ref, Permission.ALERT_READ)
        mon = self._monitor(version)
        with self.ws.store.connect() as conn:
            found = [w for w in repo.windows(conn, mon["id"]) if w["seq"] == seq]
        if not found:
            raise NotFoundError(f"monitor of {version.ref} has no evaluated window {seq}")
        return found[0]

    def alerts(self, model: str | None = None, *, limit: int = 100) -> list[dict[str, Any]]:
        """Alerts, newest first, of the models the caller may read (``alert.read``)."""
        from triops.workspace.projects import model_project

        if not 0 < limit <= 10_000:
            raise InvalidInputError(f"limit: {limit} is not between 1 and 10000")
        with self.ws.store.connect() as conn:
            rows = repo.alerts(conn, model=model, limit=limit)
        projects = {m: model_project(self.ws.store, m) for m in {r["model"] for r in rows}}
        if model is not None:
            self._version(model, Permission.ALERT_READ)
        return [r for r in rows if self.ws.principal.can(Permission.ALERT_READ, projects[r["model"]])]

    def promote(self, alert_id: str) -> dict[str, Any]:
        """Finish the feedback loop of an alert ``awaiting_approval``: move ``champion`` to the retrained
        version through the promotion gate (its approval bound to that move); returns the alert's action."""
        from triops.workspace.feedback import promote_after_approval

        with self.ws.store.connect() as conn:
            found = repo.alert(conn, alert_id)
        if found is None:
            raise NotFoundError(f"no alert {alert_id!r}", hint="see triops alerts list")
        self._version(f"{found['model']}/{found['version']}", Permission.MONITOR_RUN)
        return promote_after_approval(self.ws, found)

    # -- running -----------------------------------------------------------------------------------------
    def run(self, ref: str) -> dict[str, Any]:
        """Evaluate the windows that are due now, holding the monitor's lease (a 409 naming the holder when
        another process is running it); audited as ``monitor.run``."""
        from triops.workspace import monitoring_schedule as schedule

        version, _ = self._version(ref, Permission.MONITOR_RUN)
        mon = self._monitor(version)
        owner = schedule.process_owner(f"run by {self.ws.principal.name}")
        with schedule.leased(self.ws, mon, owner) as lease:
            if lease is None:
                raise schedule.refuse_held(self.ws, mon)
            at = utc_ms(self.ws.clock.now())
            result = self.run_leased(version.ref)
            outcome = schedule.summary(result, trigger="manual", by=owner, at_ms=at)
            lease.after = {"last_run_ms": at, "last_run": outcome}
            lease.audit = schedule.audit_run(self.ws, mon, outcome)
        return result

    def run_leased(self, ref: str) -> dict[str, Any]:
        """``run`` for a caller that already holds the monitor's lease (``monitoring_schedule``)."""
        from triops.workspace.monitoring_run import run_monitor

        version, _ = self._version(ref, Permission.MONITOR_RUN)
        mon = self._monitor(version)
        row = self._stored_reference_row(mon)  # a reference that is gone is refused even when profiled
        return run_monitor(self.ws, version, mon, lambda: self._reference_frame(row))

    def run_due(self) -> list[dict[str, Any]]:
        """Run every scheduled monitor that is due and that the caller may run (``monitor.run``), each as
        its runner, holding its lease; for cron (``triops monitor run --due``). One outcome per run."""
        from triops.workspace import monitoring_schedule as schedule

        self.ws.serving.flush()  # this process's own predictions are in the log before the runs read it
        return schedule.run_due(self.ws, owner=schedule.process_owner("due"), trigger="due")

    def _stored_reference_row(self, mon: dict[str, Any]) -> Any:
        from triops.store.repositories.dataops import _row
        from triops.store.tables_dataops import dataset_versions as dv

        with self.ws.store.connect() as conn:
            found = conn.execute(sa.select(dv).where(dv.c.id == mon["reference_dataset_id"])).first()
        if found is None:
            raise NotFoundError(f"reference dataset {mon['reference_dataset_id']} of the monitor is gone")
        return _row(found)
