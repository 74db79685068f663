"""Registry records: model versions, change requests, loaded models, references and name rules.

Plain data and pure helpers shared by ``triops.mlops.registry.service`` (the service), the card generator and the
CLI. ``parse_ref`` reads the three reference forms: ``"name"`` (latest), ``"name/3"``, ``"name@alias"``.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from triops.errors import InvalidInputError
from triops.mlops.registry.serialization import OnnxPredictor
from triops.mlops.registry.signature import Signature, to_pandas

STAGES = ("development", "staging", "production", "archived")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "development": ("staging", "archived"),
    "staging": ("production", "development", "archived"),
    "production": ("staging", "archived"),
    "archived": ("development",),
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-.]{0,99}$")
NAME_RULE = "names are 1-100 letters, digits, '_', '-' or '.', starting with a letter or digit"
# versions triops records but never loads: their model_type names the flavour (see registry.external)
FOREIGN_FLAVOURS = ("mlflow",)


@dataclass(frozen=True, slots=True)
class ModelVersion:
    id: str
    model: str
    version: int
    stage: str
    model_type: str
    artifact_sha256: str
    onnx_sha256: str | None
    onnx_note: str | None
    signature: Signature | None
    run_id: str | None
    training_datasets: tuple[str, ...]
    evaluation_datasets: tuple[str, ...]
    git_commit: str | None
    cost_to_train_micros: int | None
    currency: str | None
    description: str | None
    created_ms: int
    created_by: str
    aliases: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        return f"{self.model}/{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "model": self.model,
            "version": self.version,
            "ref": self.ref,
            "stage": self.stage,
            "aliases": list(self.aliases),
            "model_type": self.model_type,
            "artifact_sha256": self.artifact_sha256,
            "onnx_sha256": self.onnx_sha256,
            "onnx_note": self.onnx_note,
            "signature": self.signature.to_dict() if self.signature else None,
            "run_id": self.run_id,
            "training_datasets": list(self.training_datasets),
            "evaluation_datasets": list(self.evaluation_datasets),
            "git_commit": self.git_commit,
            "cost_to_train_micros": self.cost_to_train_micros,
            "currency": self.currency,
            "description": self.description,
            "created_ms": self.created_ms,
            "created_by": self.created_by,
        }


@dataclass(frozen=True, slots=True)
class ChangeRequest:
    """A registry change about to be written, shown to guards (policy gates) first."""

    action: str  # "stage", "alias" (set) or "alias_remove"
    version: ModelVersion
    before: str | None
    after: str | None
    actor: str


@dataclass(frozen=True, slots=True)
class GuardRecord:
    """What a guard that let a change through records with the change, in the change's own transaction:
    ``write`` (its rows, given the transaction's connection) and ``events`` (audit events, as the keyword
    arguments of ``triops.store.audit.append_event``), appended before the change's own event."""

    write: Callable[[Any], None]
    events: tuple[Mapping[str, Any], ...] = ()


# A guard raises to refuse a change; it may return what it records, to be written with the change.
Guard = Callable[[ChangeRequest], GuardRecord | None]


@dataclass(slots=True)
class LoadedModel:
    """A loaded model version; ``predict`` checks its input against the version's signature."""

    version: ModelVersion
    model: Any
    _onnx: bytes | None = field(default=None, repr=False)

    def _input(self, frame: Any) -> Any:
        data = to_pandas(frame)
        if self.version.signature is None:
            return data
        self.version.signature.check(data)
        return data[self.version.signature.names()]

    def predict(self, frame: Any) -> Any:
        return self.model.predict(self._input(frame))

    def predict_proba(self, frame: Any) -> Any:
        return self.model.predict_proba(self._input(frame))

    def onnx(self) -> OnnxPredictor | None:
        if self._onnx is None or self.version.signature is None:
            return None
        return OnnxPredictor(self._onnx, self.version.signature)


def require_loadable(version: ModelVersion) -> None:
    """Refuse a version of a foreign flavour (an MLflow model is a pickle; triops never unpickles)."""
    if version.model_type in FOREIGN_FLAVOURS:
        raise InvalidInputError(
            f"{version.ref} is a model version of flavour {version.model_type!r}: triops records it but "
            "never loads or serves it (its files are pickles)",
            hint="load it with the mlflow client (models:/NAME/VERSION), or register a skops/ONNX model "
            "with `triops models register` to serve it",
            detail={"field": "flavour", "flavour": version.model_type},
        )


def check_name(value: str, what: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise InvalidInputError(f"invalid {what} {value!r}", hint=NAME_RULE)
    return value


def parse_ref(ref: str) -> tuple[str, str | None, int | None]:
    """Split a reference: ``"name@alias"``, ``"name/3"`` or ``"name"`` (the latest version)."""
    if "@" in ref:
        name, alias = ref.split("@", 1)
        return check_name(name, "model name"), check_name(alias, "alias"), None
    if "/" in ref:
        name, number = ref.split("/", 1)
        if not number.isdigit() or int(number) < 1:
            raise InvalidInputError(f"invalid version {number!r} in {ref!r}", hint="versions are 1, 2, 3, …")
        return check_name(name, "model name"), None, int(number)
    return check_name(ref, "model name"), None, None


def current_git_commit(path: str | Path = ".") -> str | None:
    """The commit checked out at ``path``, or None outside a git work tree (or without git)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and re.fullmatch(r"[0-9a-f]{40,64}", commit) else None


def version_from_row(row: Mapping[Any, Any], model: str, alias_names: Iterable[str]) -> ModelVersion:
    sig, cost = row["signature"], row["cost_to_train_micros"]
    return ModelVersion(
        id=str(row["id"]),
        model=model,
        version=int(row["version"]),
        stage=str(row["stage"]),
        model_type=str(row["model_type"]),
        artifact_sha256=str(row["artifact_sha256"]),
        onnx_sha256=row["onnx_sha256"],
        onnx_note=row["onnx_note"],
        signature=Signature.from_dict(sig) if sig else None,
        run_id=row["run_id"],
        training_datasets=tuple(row["training_datasets"] or ()),
        evaluation_datasets=tuple(row["evaluation_datasets"] or ()),
        git_commit=row["git_commit"],
        cost_to_train_micros=None if cost is None else int(cost),
        currency=row["currency"],
        description=row["description"],
        created_ms=int(row["created_ms"]),
        created_by=str(row["created_by"]),
        aliases=tuple(sorted(alias_names)),
    )
