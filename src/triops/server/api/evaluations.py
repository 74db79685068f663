"""Evaluate a registered model version on uploaded data, on the server (``POST .../evaluations``).

The server loads the version (skops or ONNX, never pickle), evaluates it with the same code as a local
``ws.evaluate`` and stores the record; the answer holds the record id and the whole result, so a remote
workspace returns what a local one does."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile

from triops.errors import InvalidInputError
from triops.governance.rbac import Permission
from triops.mlops.evaluation.evaluate import TASKS
from triops.server.api.datasets import upload_path, upload_source
from triops.server.authz import ActingDep, readable, require_in
from triops.server.http import PROBLEMS
from triops.server.schemas import ModelName, Version
from triops.workspace.projects import model_project

router = APIRouter(prefix="/models", tags=["models"], responses=PROBLEMS)
OPTIONS = {"resamples": int, "seed": int, "confidence": float, "threshold": float, "min_group_size": int}
"""the evaluation options a client may set, with their types (anything else is refused by name)"""
MAX_OPTIONS_BYTES = 4096


def parse_options(text: str | None) -> dict[str, Any]:
    """The JSON object of evaluation options, each known and of its type, or a 422 naming the field."""
    if not text:
        return {}
    if len(text) > MAX_OPTIONS_BYTES:
        raise InvalidInputError(
            "options are too long", detail={"field": "options", "limit": MAX_OPTIONS_BYTES}
        )
    try:
        options = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"options are not JSON: {exc.msg}", detail={"field": "options"}) from None
    if not isinstance(options, dict):
        raise InvalidInputError("options must be a JSON object", detail={"field": "options"})
    parsed: dict[str, Any] = {}
    for key, value in options.items():
        kind = OPTIONS.get(key)
        if kind is None:
            raise InvalidInputError(
                f"unknown evaluation option {key!r}",
                hint="options are: " + ", ".join(OPTIONS),
                detail={"field": f"options.{key}"},
            )
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (kind is int and value != int(value))
        ):
            raise InvalidInputError(
                f"option {key!r} must be a{'n integer' if kind is int else ' number'}, got {value!r}",
                detail={"field": f"options.{key}"},
            )
        parsed[key] = kind(value)
    return parsed


@router.post("/{name}/versions/{version}/evaluations", status_code=201)
async def evaluate(
    ws: ActingDep,
    name: ModelName,
    version: Version,
    file: Annotated[UploadFile, File(description="the evaluation data: .csv .tsv .parquet .jsonl .arrow")],
    target: Annotated[str, Form(min_length=1, max_length=200, description="the label column")],
    task: Annotated[str, Form(description="classification or regression")] = "classification",
    sensitive: Annotated[
        list[str] | None, Form(description="columns whose groups the fairness report compares")
    ] = None,
    options: Annotated[
        str | None, Form(description="JSON object: resamples, seed, confidence, threshold, min_group_size")
    ] = None,
) -> dict[str, Any]:
    """Evaluate the version on the uploaded data and store the evaluation (needs ``model.register``)."""
    project = model_project(ws.store, name)
    readable(ws, project, f"model {name!r}")
    require_in(ws, Permission.MODEL_REGISTER, project)
    if task not in TASKS:  # before reading the upload and loading the model
        raise InvalidInputError(f"unknown task {task!r}", hint="task is one of: " + ", ".join(TASKS))
    parsed = parse_options(options)
    data = await file.read()
    with upload_path(data, file.filename) as path:
        frame = upload_source(path, "evaluation", f"upload:{file.filename}").lazy().collect()
        result, record = ws.evaluate(
            f"{name}/{version}", frame, target=target, task=task, sensitive=sensitive or (), **parsed
        )
    return {"id": record, "result": result.to_dict()}
