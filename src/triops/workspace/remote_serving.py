"""``ws.serving`` of a remote workspace: predict through the server's predict route and read the prediction
log and serving costs through its API, with the local method names and return types."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import orjson

from triops.errors import ConfigError
from triops.mlops.registry.records import ModelVersion
from triops.mlops.serving.records import PredictionRecord
from triops.workspace.remote_http import HttpTransport
from triops.workspace.serving import data_body, records_frame, split_ref
from triops.workspace.serving_session import Served

if TYPE_CHECKING:
    import polars as pl

PAGE = 10_000


class RemoteServing:
    def __init__(self, http: HttpTransport, models: Any = None) -> None:
        self.http = http
        self.models = models

    def serve(self, ref: str) -> ModelVersion:
        """Serve ``model@alias`` on the server now (its ``deployment`` gate decides; 409 when blocked)."""
        model, alias = split_ref(ref)
        body = self.http.call("POST", "/serving/endpoints", json={"endpoint": f"{model}@{alias}"}).json()
        version: ModelVersion = self.models.get(f"{model}/{body['version']}")
        return version

    def predict(self, ref: str, data: Any) -> Served:
        model, alias = split_ref(ref)
        response = self.http.call(
            "POST",
            f"/models/{model}@{alias}/predict",
            content=orjson.dumps(data_body(data), option=orjson.OPT_SERIALIZE_NUMPY),
            headers={"Content-Type": "application/json"},
        )
        body = response.json()
        return Served(
            request_id=body["request_id"],
            model=body["model"],
            version=int(body["version"]),
            alias=body["alias"],
            engine="remote",
            outputs=body["predictions"],
            scores=body.get("scores"),
            latency_ms=response.elapsed.total_seconds() * 1000.0,
        )

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
        if ids is not None:
            raise ConfigError("ids=… is not offered over the API", hint="filter the records by id instead")
        left = limit
        while left is None or left > 0:
            page = min(PAGE, left) if left is not None else PAGE
            params: dict[str, Any] = {
                "version": version,
                "since_ms": since_ms,
                "until_ms": until_ms,
                "limit": page,
            }
            if after is not None:
                params.update(after_ms=after[0], after_id=after[1])
            body = self.http.get(f"/models/{model}/predictions", **params)
            for item in body["items"]:
                yield PredictionRecord(**item)
            if left is not None:
                left -= len(body["items"])
            if body["next"] is None:
                return
            after = (body["next"]["after_ms"], body["next"]["after_id"])

    def prediction_frame(
        self,
        model: str,
        version: int | None = None,
        *,
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int | None = None,
    ) -> pl.DataFrame:
        return records_frame(
            list(self.predictions(model, version, since_ms=since_ms, until_ms=until_ms, limit=limit))
        )

    def costs(self, model: str | None = None) -> list[dict[str, Any]]:
        return list(self.http.get("/serving/costs", model=model))

    def flush(self) -> None:
        """Nothing to do here: the server writes its prediction log."""

    def close(self) -> None:
        """Nothing to close: the server holds the serving session."""
