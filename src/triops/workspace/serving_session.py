"""A serving session: the endpoints a process serves, its prediction-log writer and its meter.

One session per serving process (``triops serve`` and ``triops server`` each hold one; the SDK's
``ws.serving`` makes one on first predict). A version is served only after it passes the ``deployment`` gate
(``deploy_gate``), when its endpoint opens and when its alias moves to it. ``predict`` is the request path:
check the ``model.predict`` permission of the caller in the model's project, parse and check the input against
the signature of the version that answers, predict, then hand the request to the log writer and the meter
(both append to memory; their threads do the writing). Usage is priced through ``ws.finops.record_usage``
every ``serving_meter_interval_s`` and at close, as the ``serving`` pipeline of one run (kind ``serving``) per
endpoint.
"""

from __future__ import annotations

import resource
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from triops.domain.clock import Clock, utc_ms
from triops.domain.ids import new_id
from triops.domain.records import RunStatus
from triops.errors import NotFoundError
from triops.governance.rbac import Permission, Principal, require
from triops.mlops.registry.records import ModelVersion, check_name
from triops.mlops.registry.service import ModelRegistry
from triops.mlops.serving.endpoint import Endpoint
from triops.mlops.serving.inputs import from_arrow, from_json
from triops.mlops.serving.log_writer import LogEntry, LogPolicy, PredictionLogWriter
from triops.mlops.serving.metering import ServingMeter
from triops.mlops.serving.predictor import Predictor
from triops.mlops.tracking.active_run import StoreTrackingSink
from triops.settings import Settings
from triops.store.engine import Store
from triops.store.repositories.serving import insert_log


@dataclass(frozen=True, slots=True)
class Served:
    """The answer to one predict request."""

    request_id: str
    model: str
    version: int
    alias: str
    engine: str
    outputs: list[Any]
    scores: list[float] | None
    latency_ms: float

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "request_id": self.request_id,
            "model": self.model,
            "version": self.version,
            "alias": self.alias,
            "predictions": self.outputs,
        }
        if self.scores is not None:
            out["scores"] = self.scores
        return out


@dataclass(slots=True)
class _Served:
    endpoint: Endpoint
    project: str | None
    run_id: str


class ServingSession:
    """Endpoints, log writer and meter of one serving process (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        registry: ModelRegistry,
        settings: Settings,
        clock: Clock,
        *,
        model_project: Callable[[str], str | None],
        protected_columns: Callable[[ModelVersion], dict[str, str]],
        salt: Callable[[], bytes],
        record_usage: Callable[[list[Any]], Any],
        sink: StoreTrackingSink,
        deploy_gate: Callable[[ModelVersion, str], None] | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.settings = settings
        self.clock = clock
        self._model_project = model_project
        self._protected = protected_columns
        self._salt = salt
        self._record_usage = record_usage
        self._sink = sink
        self._deploy_gate = deploy_gate
        self._served: dict[tuple[str, str], _Served] = {}
        self._policies: dict[str, LogPolicy] = {}
        self._lock = threading.Lock()
        self.meter = ServingMeter()
        self.writer = PredictionLogWriter(
            self._write_log, flush_interval_s=settings.flush_interval_s, flush_every=settings.flush_every
        )
        self._stop = threading.Event()
        self._meter_thread = threading.Thread(
            target=self._meter_loop, name="triops-serving-meter", daemon=True
        )
        self._meter_thread.start()
        self.meter_error: str | None = None

    # -- endpoints -----------------------------------------------------------------------------------
    def _load(self, version: ModelVersion, endpoint: str) -> Predictor:
        """Load ``version`` to serve at ``endpoint`` once it passes the ``deployment`` gate (when a version
        is first served and whenever the alias moves to another; a blocked move keeps the old one)."""
        if self._deploy_gate is not None:
            self._deploy_gate(version, endpoint)
        predictor = Predictor(self.registry.load(version.ref))
        extra = {name: "serving_restricted_columns" for name in self.settings.serving_restricted_columns}
        self._policies[version.id] = LogPolicy(
            protected={**extra, **self._protected(version)},
            salt=self._salt(),
            drop=self.settings.serving_restricted == "drop",
            sample_rate=self.settings.serving_log_sample_rate,
        )
        return predictor

    def endpoint(self, model: str, alias: str) -> Endpoint:
        """The live endpoint of ``model@alias``, loaded on first use (404 naming the model's aliases)."""
        key = (model, alias)
        served = self._served.get(key)
        if served is None:
            served = self._open(model, alias)
        return served.endpoint

    def _open(self, model: str, alias: str) -> _Served:
        check_name(model, "model name")
        check_name(alias, "alias")
        with self._lock:
            served = self._served.get((model, alias))
            if served is not None:
                return served
            ref = f"{model}@{alias}"
            endpoint = Endpoint(
                model,
                alias,
                lambda: self.registry.get(ref),
                lambda version: self._load(version, ref),
                poll_interval_s=self.settings.serving_poll_interval_s,
            ).start()
            project = self._model_project(model)
            run = self._sink.create_run(
                project or "default", f"serve {ref}", {"endpoint": ref}, kind="serving"
            )
            served = self._served[(model, alias)] = _Served(endpoint, project, run.id)
            return served

    def endpoints(self) -> list[Endpoint]:
        return [s.endpoint for s in self._served.values()]

    # -- the request path ----------------------------------------------------------------------------
    def predict(
        self,
        principal: Principal,
        model: str,
        alias: str,
        *,
        body: Any = None,
        table: Any = None,
        started: float | None = None,
    ) -> Served:
        """Predict for a parsed JSON ``body`` or a pyarrow ``table``; logged and metered."""
        t0 = time.perf_counter() if started is None else started
        served = self._served.get((model, alias)) or self._open(model, alias)
        if not principal.can(Permission.PROJECT_READ, served.project):  # as if it did not exist
            raise NotFoundError(f"model {model!r} does not exist", hint="ask for a role in its project")
        require(Permission.MODEL_PREDICT, principal, served.project)
        predictor = served.endpoint.current()
        version = predictor.version
        if table is not None:
            cols, n, logged = from_arrow(table, predictor.signature)
        else:
            cols, n, logged = from_json(body, predictor.signature)
        result = predictor.predict(cols, n)
        latency_ms = (time.perf_counter() - t0) * 1000.0
        request_id = new_id()
        now_ms = utc_ms(self.clock.now())
        self.writer.log(
            LogEntry(
                request_id,
                model,
                version.version,
                version.id,
                alias,
                now_ms,
                logged,
                result.outputs,
                result.scores,
                latency_ms,
                principal.name,
                self._policies[version.id],
            )
        )
        self.meter.count(
            version.id,
            model,
            version.version,
            served.project or "default",
            served.run_id,
            n,
            latency_ms / 1000.0,
            now_ms,
        )
        return Served(
            request_id,
            model,
            version.version,
            alias,
            predictor.engine,
            result.outputs,
            result.scores,
            latency_ms,
        )

    # -- background work -----------------------------------------------------------------------------
    def _write_log(self, rows: list[Any]) -> None:
        self.store.write(lambda conn: insert_log(conn, rows))

    def flush(self) -> None:
        """Make every logged prediction durable and price the usage metered so far."""
        self.writer.flush()
        self._price()

    def _price(self) -> None:
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
        records = self.meter.drain(int(rss))
        if records:
            self._record_usage(records)

    def _meter_loop(self) -> None:
        while not self._stop.wait(self.settings.serving_meter_interval_s):
            try:
                self._price()
                self.meter_error = None
            except Exception as exc:  # serving goes on; the error shows on /health and at close
                self.meter_error = f"{type(exc).__name__}: {exc}"[:500]

    def close(self) -> None:
        """Stop watching aliases, write the log, price the last usage and finish the serving runs."""
        self._stop.set()
        for served in self._served.values():
            served.endpoint.stop()
        self.writer.close()
        try:
            self._price()
        finally:
            for served in self._served.values():
                self._sink.finish_run(served.run_id, RunStatus.FINISHED, None)
            self._served.clear()
