"""The registry's shared writes: a model row, and a version row with its ``model.register`` audit event.

A scikit-learn registration (``service.ModelRegistry.register``) and a foreign-flavour one
(``external.register_reference``, MLflow's REST API) write the same rows and the same event; both call these,
inside their own transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from triops.domain.ids import new_id
from triops.mlops.registry.records import ModelVersion
from triops.mlops.registry.records import version_from_row as _version
from triops.store import audit
from triops.store.repositories import registry as repo

# What a version records when the registration does not say (a foreign flavour has no signature, ONNX …)
VERSION_DEFAULTS: Mapping[str, Any] = {
    "stage": "development",
    "run_id": None,
    "onnx_sha256": None,
    "onnx_note": None,
    "signature": None,
    "git_commit": None,
    "cost_to_train_micros": None,
    "currency": None,
    "description": None,
}


def new_model(
    conn: Any, name: str, *, project_id: str | None, description: str | None, actor: str, now: int
) -> dict[str, Any]:
    """Insert the row of model ``name`` (no audit event: the caller's event names why it exists)."""
    values = {
        "id": new_id(now),
        "name": name,
        "project_id": project_id,
        "description": description,
        "created_ms": now,
        "created_by": actor,
    }
    repo.create_model(conn, values)
    return values


def add_version(
    conn: Any,
    model_id: str,
    name: str,
    fields: Mapping[str, Any],
    *,
    audited: Mapping[str, Any],
    actor: str,
    now: int,
) -> ModelVersion:
    """Insert the next version of model ``name`` with ``fields`` (over ``VERSION_DEFAULTS``) and append its
    ``model.register`` event, whose ``after`` is the version id and ``audited``."""
    values = {
        **VERSION_DEFAULTS,
        "training_datasets": [],
        "evaluation_datasets": [],
        **fields,
        "id": new_id(now),
        "model_id": model_id,
        "version": repo.next_version(conn, model_id),
        "created_ms": now,
        "created_by": actor,
    }
    repo.insert_version(conn, values)
    version = _version(values, name, ())
    audit.append_event(
        conn,
        actor=actor,
        action="model.register",
        object_type="model_version",
        object_id=version.ref,
        before=None,
        after={"id": version.id, **audited},
        at_ms=now,
    )
    return version


__all__ = ["VERSION_DEFAULTS", "add_version", "new_model"]
