"""``ws.serving``: predict with a served model (``model@alias``), read the prediction log, and the cost of
serving per 1,000 predictions.

The prediction-log read API is what monitoring builds on and is kept stable:
``predictions(model, version=None, since_ms=None, until_ms=None, after=None, limit=None)`` yields
``PredictionRecord``s (prediction id, request id, time, version, inputs, output, score, latency) in (time,
id) order; ``prediction_frame`` gives the same rows as one polars frame with one column per input.
Reading needs ``project.read`` in the model's project (else the model "does not exist"); predicting needs
``model.predict``.
"""

from __future__ import annotations

import atexit
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from triops.errors import InvalidInputError, NotFoundError
from triops.governance.rbac import Permission
from triops.mlops.registry.records import ModelVersion, check_name
from triops.mlops.serving.records import PredictionRecord
from triops.store.repositories import serving as repo

if TYPE_CHECKING:
    import polars as pl

    from triops.settings import Settings
    from triops.workspace.local import Workspace
    from triops.workspace.serving_session import Served, ServingSession

MAX_READ = 10_000_000


def protected_columns(ws: Workspace, version: ModelVersion) -> dict[str, str]:
    """Input columns the training dataset versions mark protected (contract classification restricted or
    confidential, or detected personal data), read from their stored profiles: name → reason."""
    from triops.store.tables_dataops import dataset_versions as dv

    ids = list(version.training_datasets)
    if not ids:
        return {}
    out: dict[str, str] = {}
    with ws.store.connect() as conn:
        for profile in conn.execute(sa.select(dv.c.profile).where(dv.c.id.in_(ids))).scalars():
            for name, column in ((profile or {}).get("columns") or {}).items():
                if isinstance(column, Mapping) and column.get("protected"):
                    out[str(name)] = str(column["protected"])
    return out


def records_frame(records: list[PredictionRecord]) -> pl.DataFrame:
    """Prediction records as one polars frame: id, request_id, version, time_ms, output, score,
    latency_ms, then one column per logged input (null where a row's inputs were not sampled)."""
    import polars as pl

    base = pl.DataFrame(
        {
            "id": [r.id for r in records],
            "request_id": [r.request_id for r in records],
            "version": [r.version for r in records],
            "time_ms": [r.time_ms for r in records],
            "output": [r.output for r in records],
            "score": [r.score for r in records],
            "latency_ms": [r.latency_ms for r in records],
        },
        schema_overrides={"version": pl.Int64, "time_ms": pl.Int64, "score": pl.Float64},
        strict=False,
    )
    inputs = pl.DataFrame([r.inputs or {} for r in records], infer_schema_length=None)
    if inputs.width == 0:
        return base
    return pl.concat([base, inputs], how="horizontal")


def data_body(data: Any) -> dict[str, Any]:
    """The predict body for one row (a dict), rows (a list of dicts) or a pandas/polars DataFrame."""
    if isinstance(data, dict | list):
        return {"inputs": data}
    from triops.mlops.registry.signature import to_pandas

    frame = to_pandas(data)
    return {"columns": {str(c): frame[c].tolist() for c in frame.columns}}


def split_ref(ref: str) -> tuple[str, str]:
    """``"model@alias"`` → (model, alias); anything else is refused naming the expected form."""
    if not isinstance(ref, str) or ref.count("@") != 1:
        raise InvalidInputError(
            f"cannot serve {ref!r}: expected MODEL@ALIAS",
            hint="e.g. benefits@champion (see triops models list)",
        )
    model, alias = ref.split("@")
    return check_name(model, "model name"), check_name(alias, "alias")


SERVING_PRINCIPAL = "triops-serving"
"""the machine principal a serving session loads models and records usage as (audited under this name)"""


class DeploymentGate:
    """The ``deployment`` gate a serving session calls before it serves a version at an endpoint, as
    ``actor`` (who opened the session). Every decision is recorded, except that while a version stays
    blocked for the same reasons (an endpoint re-checks its alias every poll) the repeats are not."""

    def __init__(self, ws: Workspace, actor: str) -> None:
        self.ws = ws
        self.actor = actor
        self._blocked: dict[tuple[str, str], str] = {}

    def __call__(self, version: ModelVersion, endpoint: str) -> None:
        from triops.errors import GateBlockedError
        from triops.governance.gates import blocked_error, check_gate, enforce_gate
        from triops.workspace.gate_facts import deployment_facts
        from triops.workspace.projects import model_project

        project = model_project(self.ws.store, version.model)
        facts = deployment_facts(self.ws.models, version, endpoint, project)
        key = (version.id, endpoint)
        if key in self._blocked:
            again = check_gate(self.ws.store, facts, self.actor, record=False, clock=self.ws.clock)
            error = blocked_error(again, facts)
            if not again.passed and error.message == self._blocked[key]:
                raise error
        try:
            enforce_gate(
                self.ws.store,
                facts,
                self.actor,
                self.ws.clock,
                consume_approval=False,
                record_unguarded=False,
            )
        except GateBlockedError as exc:
            self._blocked[key] = exc.message
            raise
        self._blocked.pop(key, None)


class ServingService:
    """``ws.serving`` (see the module docstring)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._session: ServingSession | None = None

    # -- serving --------------------------------------------------------------------------------------
    def open_session(self, settings: Settings | None = None) -> ServingSession:
        """A new serving session on this workspace (a server holds one and closes it at shutdown);
        ``settings`` overrides the workspace's (e.g. other ``serving_*`` values for this session)."""
        # the session loads versions and records usage as the serving system itself (a machine principal
        # with the service role); who may predict is checked per request against the caller
        from triops.governance.rbac import GLOBAL, Principal, Role
        from triops.mlops.tracking.active_run import StoreTrackingSink
        from triops.workspace.projects import model_project
        from triops.workspace.serving_session import ServingSession

        ws = self.ws.acting_as(Principal(SERVING_PRINCIPAL, {GLOBAL: frozenset({Role.SERVICE})}))
        gate = DeploymentGate(ws, self.ws.principal.name)
        return ServingSession(
            ws.store,
            ws.models,
            settings or ws.settings,
            ws.clock,
            model_project=lambda name: model_project(ws.store, name),
            protected_columns=lambda version: protected_columns(ws, version),
            salt=ws.datasets.salt,
            record_usage=ws.finops.record_usage,
            sink=StoreTrackingSink(ws.store, ws.artifacts, ws.clock, ws.principal.name),
            deploy_gate=gate,
        )

    def session(self) -> ServingSession:
        """This workspace's own session (made on first use; flushed at exit and on SIGTERM)."""
        if self._session is None:
            from triops.mlops.serving.log_writer import install_exit_handlers

            install_exit_handlers()
            self._session = self.open_session()
            atexit.register(self.close)  # runs before the writers' own exit flush: also prices the usage
        return self._session

    def deployable(self, ref: str) -> tuple[str, str]:
        """``model@alias`` of a model the principal may deploy (``deployment.write`` in its project)."""
        from triops.governance.rbac import require
        from triops.workspace.projects import model_project

        model, alias = split_ref(ref)
        self._readable(model)
        require(Permission.DEPLOYMENT_WRITE, self.ws.principal, model_project(self.ws.store, model))
        return model, alias

    def serve(self, ref: str) -> ModelVersion:
        """Open the endpoint ``model@alias`` in this workspace's session now: the version it points at
        passes the ``deployment`` gate (``GateBlockedError`` naming the policy and reason otherwise) and is
        loaded; returns that version. Needs ``deployment.write``. ``predict`` opens an endpoint the same
        way on first use."""
        model, alias = self.deployable(ref)
        return self.session().endpoint(model, alias).current().version

    def check_deployment(self, ref: str) -> ModelVersion:
        """Pass the ``deployment`` gate for the version ``model@alias`` points at, without loading it (what
        ``triops serve`` does before it starts serving); returns that version. Recorded and audited."""
        model, alias = self.deployable(ref)
        version = self.ws.models.get(f"{model}@{alias}")
        DeploymentGate(self.ws, self.ws.principal.name)(version, f"{model}@{alias}")
        return version

    def predict(self, ref: str, data: Any) -> Served:
        """Predict with ``model@alias`` for one row (a dict), rows (a list of dicts) or a pandas/polars
        DataFrame; the prediction is logged and metered like one served over HTTP."""
        model, alias = split_ref(ref)
        body = data_body(data)
        return self.session().predict(self.ws.principal, model, alias, body=body)

    def flush(self) -> None:
        """Write every prediction logged so far and price the serving usage metered so far."""
        if self._session is not None:
            self._session.flush()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    # -- the prediction log (read API) ---------------------------------------------------------------
    def _readable(self, model: str) -> None:
        from triops.workspace.projects import model_project

        check_name(model, "model name")
        if not self.ws.principal.can(Permission.PROJECT_READ, model_project(self.ws.store, model)):
            raise NotFoundError(f"model {model!r} does not exist", hint="ask for a role in its project")

    def predictions(
        self,
        model: str,
        version: int | None = None,
        *,
        since_ms: int | None = None,
        until_ms: int | None = None,
        after: tuple[int, str] | None = None,
        limit: int | None = None,
        ids: list[str] | None = None,
    ) -> Iterator[PredictionRecord]:
        """Logged predictions of ``model`` (``version``), ``since_ms <= time < until_ms``, in (time, id)
        order after the ``(time_ms, id)`` cursor ``after``; at most ``limit``; or just the ``ids`` given."""
        self._readable(model)
        if limit is not None and not 0 < limit <= MAX_READ:
            raise InvalidInputError(f"limit: {limit} is not between 1 and {MAX_READ}")
        with self.ws.store.connect() as conn:
            rows = list(
                repo.select_predictions(
                    conn,
                    model=model,
                    version=version,
                    since_ms=since_ms,
                    until_ms=until_ms,
                    after=after,
                    limit=limit,
                    ids=ids,
                )
            )
        for row in rows:
            yield PredictionRecord(**row)

    def prediction_frame(
        self,
        model: str,
        version: int | None = None,
        *,
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int | None = None,
    ) -> pl.DataFrame:
        """The same rows as ``predictions`` as one frame: id, request_id, version, time_ms, output, score,
        latency_ms, then one column per logged input (null where the row's inputs were not sampled)."""
        records = list(self.predictions(model, version, since_ms=since_ms, until_ms=until_ms, limit=limit))
        return records_frame(records)

    def counts(self, model: str | None = None) -> dict[str, int]:
        """Logged predictions per ``"model/version"``."""
        if model is not None:
            self._readable(model)
        with self.ws.store.connect() as conn:
            found = repo.count_predictions(conn, model=model)
        return {f"{m}/{v}": n for (m, v), n in sorted(found.items())}

    def costs(self, model: str | None = None) -> list[dict[str, Any]]:
        """Serving cost per model version: predictions metered, cost, and cost per 1,000 predictions (in
        micro-units of the currency), from the ``serving`` pipeline's cost records."""
        import polars as pl

        from triops.mlops.serving.metering import SERVING_PIPELINE

        if model is not None:
            self._readable(model)
        frame = self.ws.finops.costs().filter(pl.col("pipeline") == SERVING_PIPELINE)
        totals = frame.group_by(["model_version", "currency"]).agg(
            pl.col("cost_micros").sum(), pl.col("predictions").fill_null(0).sum()
        )
        out = []
        for version, currency, micros, n in sorted(totals.iter_rows()):
            if model is not None and not str(version).startswith(f"{model}/"):
                continue
            out.append(
                {
                    "model_version": version,
                    "currency": currency,
                    "predictions": n,
                    "cost_micros": int(micros),
                    "cost_per_1000_micros": round(micros * 1000 / n, 3) if n else None,
                }
            )
        return out
