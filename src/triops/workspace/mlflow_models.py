"""MLflow 3 *logged models* on triops runs: what ``mlflow.<flavor>.log_model`` and autolog create.

A logged model belongs to its source run: its files are that run's artifacts under ``<name>/`` (MLflow 2's
layout, so ``runs:/<run id>/<name>`` and triops' run artifacts show the same files), and its record (id,
name, status, tags, params) is a JSON tag ``triops.mlflow.logged_model.<model id>`` on the run, hidden from
MLflow's view of the run's tags. A logged model without a source run is refused (NOT_IMPLEMENTED): triops
keeps every model with the run that made it. Permissions are the source run's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from triops.domain.clock import utc_ms
from triops.domain.filters import evaluate
from triops.domain.ids import new_id
from triops.domain.mlflow_filter import parse_mlflow_filter
from triops.domain.validation import check_key, check_name, tag_text
from triops.errors import InvalidInputError, NotFoundError
from triops.store.repositories import mlflow as mlflow_repo
from triops.workspace.mlflow import MlflowTracking

MODEL_TAG_PREFIX = "triops.mlflow.logged_model."
STATUSES = ("LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED")


@dataclass
class LoggedModel:
    id: str
    name: str
    run_id: str
    experiment_id: str
    status: str
    created_ms: int
    updated_ms: int
    model_type: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return orjson.dumps(self.__dict__).decode()

    @classmethod
    def from_json(cls, text: str) -> LoggedModel:
        return cls(**orjson.loads(text))


class MlflowLoggedModels:
    def __init__(self, tracking: MlflowTracking) -> None:
        self.mt = tracking

    def _save(self, model: LoggedModel) -> None:
        text = model.to_json()
        try:
            tag_text("logged model", text)
        except InvalidInputError:
            raise InvalidInputError(
                f"logged model {model.name!r} has more tags and params than a run tag holds",
                detail={"field": "params"},
            ) from None
        self.mt.sink.set_tags(model.run_id, {MODEL_TAG_PREFIX + model.id: text})

    def create(
        self,
        experiment_id: str,
        name: str,
        run_id: str,
        model_type: str,
        tags: Mapping[str, str],
        params: Mapping[str, str],
    ) -> LoggedModel:
        if not run_id:
            raise InvalidInputError(
                "a logged model without a source run is not supported by triops",
                hint="log the model inside mlflow.start_run()",
                detail={"mlflow_error_code": "NOT_IMPLEMENTED", "field": "source_run_id"},
            )
        run = self.mt.get_run(run_id)
        self.mt.check_artifact_write(run_id)
        name = name or "model"
        check_key(name, "model name")
        check_name(name, "model name")
        now = utc_ms(self.mt.ws.clock.now())
        model = LoggedModel(
            id=f"m-{new_id().replace('-', '')}",
            name=name,
            run_id=run.id,
            experiment_id=experiment_id or self.mt.experiment_of_run(run),
            status="LOGGED_MODEL_PENDING",
            created_ms=now,
            updated_ms=now,
            model_type=model_type,
            tags=dict(tags),
            params=dict(params),
        )
        self._save(model)
        return model

    def get(self, model_id: str) -> LoggedModel:
        with self.mt.store.connect() as conn:
            found = mlflow_repo.runs_with_tag(conn, MODEL_TAG_PREFIX + model_id)
        if not found:
            raise NotFoundError(f"logged model {model_id!r} does not exist", detail={"field": "model_id"})
        run_id, text = found[0]
        self.mt.get_run(run_id)  # read permission in the run's project (404 otherwise)
        return LoggedModel.from_json(text)

    def update(
        self,
        model_id: str,
        *,
        status: str | None = None,
        tags: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> LoggedModel:
        model = self.get(model_id)
        self.mt.check_artifact_write(model.run_id)
        if status is not None:
            if status not in STATUSES:
                raise InvalidInputError(
                    f"status {status!r} is not one of {', '.join(STATUSES)}", detail={"field": "status"}
                )
            model.status = status
        model.tags.update(tags or {})
        model.params.update(params or {})
        model.updated_ms = utc_ms(self.mt.ws.clock.now())
        self._save(model)
        return model

    def search(self, experiment_ids: list[str], filter: str) -> list[LoggedModel]:
        node = parse_mlflow_filter(filter)
        projects = [self.mt.experiment(e).name for e in experiment_ids]
        with self.mt.store.connect() as conn:
            rows = mlflow_repo.tags_with_prefix(conn, MODEL_TAG_PREFIX, projects)
        out = []
        for _, _, text in rows:
            model = LoggedModel.from_json(text)
            record: dict[str, dict[str, Any]] = {
                "attribute": {"name": model.name, "id": model.run_id, "status": model.status},
                "tag": model.tags,
                "param": model.params,
            }
            if evaluate(node, record):
                out.append(model)
        return sorted(out, key=lambda m: (-m.created_ms, m.id))


__all__ = ["MODEL_TAG_PREFIX", "LoggedModel", "MlflowLoggedModels"]
