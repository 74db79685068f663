"""``ws.models`` on a remote workspace: the model registry over HTTP, same methods and return types as
``ModelRegistry``. Registering saves the model with skops here and uploads the file (plus the training
features as Parquet, for the signature and the ONNX check); loading downloads the file and loads it with
the same allow-list loader as a local registry."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

from triops.errors import ConfigError, InvalidInputError
from triops.mlops.registry.records import LoadedModel, ModelVersion, check_name, current_git_commit, parse_ref
from triops.workspace.remote_http import HttpTransport, verify_download
from triops.workspace.remote_wire import model_version

SAMPLE_ROWS = 10_000


def _no_actor(actor: str | None) -> None:
    if actor is not None:
        raise ConfigError(
            "a remote workspace acts as its token's user; actor= cannot name another",
            hint="open the workspace with that user's token instead",
        )


class RemoteModels:
    def __init__(self, http: HttpTransport, trusted: Sequence[str] = ()) -> None:
        self.http = http
        self.trusted = tuple(trusted)

    # -- reading --------------------------------------------------------------------------------------------
    def _path(self, ref: str) -> str:
        name, alias, number = parse_ref(ref)
        if alias is not None:
            return f"/models/{name}/aliases/{alias}"
        if number is not None:
            return f"/models/{name}/versions/{number}"
        return f"/models/{name}"

    def get(self, ref: str) -> ModelVersion:
        version: ModelVersion = model_version(self.http.get(self._path(ref)))
        return version

    def version_path(self, ref: str) -> str:
        name, _, number = parse_ref(ref)
        if number is None:
            found = self.get(ref)
            name, number = found.model, found.version
        return f"/models/{name}/versions/{number}"

    def versions(self, name: str) -> list[ModelVersion]:
        check_name(name, "model name")
        return [model_version(v) for v in self.http.items(f"/models/{name}/versions")]

    def list_models(self) -> list[dict[str, Any]]:
        return list(self.http.items("/models"))

    def model_bytes(self, ref: str) -> tuple[ModelVersion, bytes]:
        version = self.get(ref)
        data = self.http.call("GET", f"/models/{version.model}/versions/{version.version}/file").content
        verify_download(data, version.artifact_sha256, self.http.base_url)
        return version, data

    def load(self, ref: str) -> LoadedModel:
        from triops.mlops.registry.serialization import load_model

        version, data = self.model_bytes(ref)
        onnx = None
        if version.onnx_sha256:
            path = f"/models/{version.model}/versions/{version.version}/file"
            onnx = self.http.call("GET", path, params={"kind": "onnx"}).content
            verify_download(onnx, version.onnx_sha256, self.http.base_url)
        blob = f"{version.ref} ({version.artifact_sha256})"
        return LoadedModel(version, load_model(data, self.trusted, blob=blob), onnx)

    def evaluations(self, ref: str) -> list[dict[str, Any]]:
        return list(self.http.items(f"{self.version_path(ref)}/evaluations"))

    def card(self, ref: str, fmt: str = "md", *, regenerate: bool = False) -> str:
        if fmt not in ("md", "html", "json"):
            raise InvalidInputError(f"unknown card format {fmt!r}", hint="formats: md, html, json")
        method = "POST" if regenerate else "GET"
        return self.http.call(method, f"{self.version_path(ref)}/card", params={"format": fmt}).text

    def card_completeness(self, ref: str) -> float | None:
        value = self.http.get(f"{self.version_path(ref)}/completeness")["completeness"]
        return None if value is None else float(value)

    # -- writing --------------------------------------------------------------------------------------------
    def register(
        self,
        name: str,
        model: Any,
        *,
        training_frame: Any = None,
        signature: Any = None,
        run_id: str | None = None,
        datasets: Sequence[str] = (),
        evaluation_datasets: Sequence[str] = (),
        git_commit: str | None = "auto",
        cost_to_train_micros: int | None = None,
        currency: str | None = None,
        project_id: str | None = None,
        description: str | None = None,
        onnx: bool = True,
        actor: str | None = None,
        project: str | None = None,
    ) -> ModelVersion:
        """Save ``model`` with skops here and register the file on the server as the next version."""
        from triops.mlops.registry.serialization import dump_model
        from triops.mlops.registry.signature import infer_signature, to_pandas

        check_name(name, "model name")
        _no_actor(actor)
        if project_id is not None:
            raise ConfigError("a remote registry takes project= (a name), not project_id=")
        if signature is None and training_frame is not None:
            signature = infer_signature(training_frame)
        files: dict[str, Any] = {"file": (f"{name}.skops", dump_model(model), "application/octet-stream")}
        if training_frame is not None and onnx:
            buffer = io.BytesIO()
            to_pandas(training_frame).head(SAMPLE_ROWS).to_parquet(buffer, index=False)
            files["sample"] = ("sample.parquet", buffer.getvalue(), "application/octet-stream")
        metadata = {
            "project": project,
            "description": description,
            "signature": signature.to_dict() if signature is not None else None,
            "run_id": run_id,
            "datasets": list(datasets),
            "evaluation_datasets": list(evaluation_datasets),
            "git_commit": current_git_commit() if git_commit == "auto" else git_commit,
            "cost_to_train_micros": cost_to_train_micros,
            "currency": currency,
            "onnx": onnx,
        }
        answer = self.http.json(
            "POST", f"/models/{name}/versions", files=files, data={"metadata": json.dumps(metadata)}
        )
        version: ModelVersion = model_version(answer)
        return version

    def set_alias(
        self, name: str, alias: str, version: int | str, *, actor: str | None = None
    ) -> ModelVersion:
        _no_actor(actor)
        if isinstance(version, int):
            number = version
        else:
            target = self.get(version)
            if target.model != name:
                raise InvalidInputError(f"{version!r} is a version of {target.model!r}, not of {name!r}")
            number = target.version
        moved: ModelVersion = model_version(
            self.http.json("PUT", f"/models/{name}/aliases/{alias}", json={"version": number})
        )
        return moved

    def remove_alias(self, name: str, alias: str, *, actor: str | None = None) -> None:
        _no_actor(actor)
        self.http.call("DELETE", f"/models/{name}/aliases/{alias}")

    def transition(self, ref: str, stage: str, *, actor: str | None = None) -> ModelVersion:
        _no_actor(actor)
        from triops.mlops.registry.records import STAGES

        if stage not in STAGES:
            raise InvalidInputError(f"unknown stage {stage!r}", hint="stages: " + ", ".join(STAGES))
        moved: ModelVersion = model_version(
            self.http.json("PUT", f"{self.version_path(ref)}/stage", json={"stage": stage})
        )
        return moved


__all__ = ["RemoteModels"]
