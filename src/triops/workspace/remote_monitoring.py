"""``ws.monitoring`` of a remote workspace: the local method names and return types over the server's
``/monitoring`` routes (the rules and permissions stay in the server's ``ws.monitoring``).

A reference is ``model@alias``, ``model/version`` or ``model`` (its latest version), as locally; in a path it
is ``{name}@{alias}`` or ``{name}@v{version}``. A contract or policies given as a file path are read here and
sent as text. Runs (``run``, ``run_due``, ``promote``) may retrain a model on the server, so they wait longer
than other calls (``RUN_TIMEOUT_S``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from triops.mlops.registry.records import parse_ref
from triops.workspace.monitoring import _text
from triops.workspace.remote_http import HttpTransport

if TYPE_CHECKING:
    from triops.workspace.remote_models import RemoteModels

RUN_TIMEOUT_S = 3600.0


class RemoteMonitoring:
    def __init__(self, http: HttpTransport, models: RemoteModels) -> None:
        self.http = http
        self.models = models

    def _path(self, ref: str) -> str:
        name, alias, number = parse_ref(ref)
        if alias is None and number is None:
            number = self.models.get(ref).version
        return f"/monitoring/{quote(name)}@{quote(alias) if alias is not None else f'v{number}'}"

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
        body = {
            "reference": reference,
            "window": str(window),
            "features": None if features is None else list(features),
            "sensitive": list(sensitive),
            "bins": int(bins),
            "contract": _text(contract, "contract"),
            "policies": _text(policies, "policies"),
            "every": every,
            "evaluation": evaluation,
        }
        found: dict[str, Any] = self.http.json("PUT", self._path(ref), json=body)
        return found

    def settings(self, ref: str) -> dict[str, Any]:
        found: dict[str, Any] = self.http.get(f"{self._path(ref)}/settings")
        return found

    def log_labels(self, prediction_ids: Sequence[str], labels: Sequence[Any]) -> dict[str, Any]:
        body = {"prediction_ids": [str(i) for i in prediction_ids], "labels": list(labels)}
        found: dict[str, Any] = self.http.json("POST", "/monitoring/labels", json=body)
        return found

    def monitors(self) -> list[dict[str, Any]]:
        return list(self.http.items("/monitoring/monitors"))

    def show(self, ref: str) -> dict[str, Any]:
        found: dict[str, Any] = self.http.get(self._path(ref))
        return found

    def window(self, ref: str, seq: int) -> dict[str, Any]:
        found: dict[str, Any] = self.http.get(f"{self._path(ref)}/windows/{int(seq)}")
        return found

    def alerts(self, model: str | None = None, *, limit: int = 100) -> list[dict[str, Any]]:
        return list(self.http.get("/monitoring/alerts", model=model, limit=limit))

    def promote(self, alert_id: str) -> dict[str, Any]:
        path = f"/monitoring/alerts/{quote(alert_id)}/promote"
        found: dict[str, Any] = self.http.json("POST", path, timeout=RUN_TIMEOUT_S)
        return found

    def run(self, ref: str) -> dict[str, Any]:
        found: dict[str, Any] = self.http.json("POST", f"{self._path(ref)}/run", timeout=RUN_TIMEOUT_S)
        return found

    def run_due(self) -> list[dict[str, Any]]:
        return list(self.http.json("POST", "/monitoring/run-due", timeout=RUN_TIMEOUT_S))
