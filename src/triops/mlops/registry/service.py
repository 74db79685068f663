"""The model registry: numbered versions with lineage, aliases, lifecycle stages, loading by reference.

``ModelRegistry(store, artifacts)`` registers a fitted scikit-learn model as version 1, 2, … of a name:
the model is saved with skops (and as ONNX where that agrees with it), its input signature inferred from
the training frame, and the version linked to its run, dataset versions, git commit and cost to train.
References are ``"name"`` (latest version), ``"name/3"`` and ``"name@champion"``. Moving an alias and
changing a stage are each one transaction that also appends the audit event; both first ask the
registered ``guards`` (governance gates, wired by the workspace), which raise to refuse a change.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any

from triops.artifacts import ArtifactStore
from triops.domain.clock import Clock, SystemClock, utc_ms
from triops.errors import ConflictError, InvalidInputError, NotFoundError
from triops.mlops.registry.records import (
    NAME_RULE,
    STAGES,
    TRANSITIONS,
    ChangeRequest,
    Guard,
    GuardRecord,
    LoadedModel,
    ModelVersion,
    check_name,
    current_git_commit,
    parse_ref,
    require_loadable,
)
from triops.mlops.registry.records import version_from_row as _version
from triops.mlops.registry.serialization import (
    ONNX_MEDIA_TYPE,
    SKOPS_MEDIA_TYPE,
    dump_model,
    export_onnx,
    load_model,
)
from triops.mlops.registry.signature import Signature, infer_signature
from triops.mlops.registry.writes import add_version, new_model
from triops.store import audit
from triops.store.engine import Store
from triops.store.repositories import registry as repo


class ModelRegistry:
    """Registry operations over a store and an artifact store."""

    def __init__(
        self,
        store: Store,
        artifacts: ArtifactStore,
        *,
        clock: Clock | None = None,
        actor: str = "local",
        trusted: Sequence[str] = (),
        guards: Sequence[Guard] = (),
        readable: Callable[[], Collection[str] | None] | None = None,
    ) -> None:
        # the projects the acting principal may read (None: all), for listings; set by the workspace
        self.readable = readable
        self.store = store
        self.artifacts = artifacts
        self.clock = clock or SystemClock()
        self.actor = actor
        self.trusted = tuple(trusted)
        self.guards = list(guards)

    def now_ms(self) -> int:
        return utc_ms(self.clock.now())

    # --- registration -------------------------------------------------------------------------------

    def register(
        self,
        name: str,
        model: Any,
        *,
        training_frame: Any = None,
        signature: Signature | None = None,
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
    ) -> ModelVersion:
        """Store ``model`` as the next version of ``name``. ``training_frame`` (features only) gives the
        signature and the rows the ONNX export is checked on; ``git_commit="auto"`` reads the checkout."""
        check_name(name, "model name")
        who = actor or self.actor
        if cost_to_train_micros is not None and cost_to_train_micros < 0:
            raise InvalidInputError(
                f"cost to train is {cost_to_train_micros} micro-units; it cannot be negative"
            )
        if signature is None and training_frame is not None:
            signature = infer_signature(training_frame)
        stored = self.artifacts.put_bytes(dump_model(model), SKOPS_MEDIA_TYPE)
        onnx_stored, onnx_note = None, None
        if onnx and signature is not None and training_frame is not None:
            export = export_onnx(model, signature, training_frame)
            onnx_note = export.reason
            if export.data is not None:
                onnx_stored = self.artifacts.put_bytes(export.data, ONNX_MEDIA_TYPE)
        elif onnx:
            onnx_note = "no training frame given, so no signature to export ONNX with"
        commit = current_git_commit() if git_commit == "auto" else git_commit
        now = self.now_ms()

        def write(conn: Any) -> ModelVersion:
            repo.record_artifact(conn, stored, now)
            if onnx_stored is not None:
                repo.record_artifact(conn, onnx_stored, now)
            row = repo.model_row(conn, name, lock=True)
            if row is None:
                new_model(conn, name, project_id=project_id, description=description, actor=who, now=now)
                row = repo.model_row(conn, name, lock=True)
                assert row is not None
            fields = {
                "run_id": run_id,
                "artifact_sha256": stored.sha256,
                "onnx_sha256": onnx_stored.sha256 if onnx_stored else None,
                "onnx_note": onnx_note,
                "model_type": f"{type(model).__module__}.{type(model).__qualname__}",
                "signature": signature.to_dict() if signature else None,
                "training_datasets": list(datasets),
                "evaluation_datasets": list(evaluation_datasets),
                "git_commit": commit,
                "cost_to_train_micros": cost_to_train_micros,
                "currency": currency,
                "description": description,
            }
            audited = {"artifact_sha256": stored.sha256, "run_id": run_id}
            version = add_version(conn, str(row["id"]), name, fields, audited=audited, actor=who, now=now)
            return version

        return self.store.write(write)

    # --- reading ------------------------------------------------------------------------------------

    def _model(self, conn: Any, name: str) -> Mapping[Any, Any]:
        row = repo.model_row(conn, name)
        if row is None:
            known = repo.model_names(conn)
            raise NotFoundError(
                f"model {name!r} does not exist",
                hint=("registered models: " + ", ".join(known)) if known else "no models are registered yet",
            )
        return row

    def _resolve(self, conn: Any, ref: str, model: Mapping[Any, Any] | None = None) -> ModelVersion:
        """The version ``ref`` names; ``model`` is the model's row when the caller has read it already."""
        name, alias, number = parse_ref(ref)
        model = self._model(conn, name) if model is None else model
        model_id = str(model["id"])
        if alias is None and number is not None:  # the common case: one statement, aliases included
            found = repo.version_with_aliases(conn, model_id, number)
            if found is not None:
                return _version(found[0], name, found[1])
        alias_map = repo.aliases(conn, model_id)
        if alias is not None:
            if alias not in alias_map:
                raise NotFoundError(
                    f"model {name!r} has no alias {alias!r}",
                    hint=("aliases: " + ", ".join(alias_map)) if alias_map else f"{name} has no aliases yet",
                )
            row = repo.version_by_id(conn, alias_map[alias])
        else:
            # one query on the (model, version) key; the list of versions is read only to explain a miss
            row = repo.version_row(conn, model_id, number) if number is not None else None
            if row is None:
                numbers = repo.version_numbers(conn, model_id)
                if not numbers:
                    raise NotFoundError(f"model {name!r} has no versions", hint="register one first")
                target = numbers[-1] if number is None else number
                if target not in numbers:
                    raise NotFoundError(
                        f"model {name!r} has no version {target}",
                        hint="versions: " + ", ".join(str(n) for n in numbers),
                    )
                row = repo.version_row(conn, model_id, target)
        assert row is not None
        names = [a for a, vid in alias_map.items() if vid == row["id"]]
        return _version(row, name, names)

    def get(self, ref: str) -> ModelVersion:
        with self.store.connect() as conn:
            return self._resolve(conn, ref)

    def versions(self, name: str) -> list[ModelVersion]:
        with self.store.connect() as conn:
            model = self._model(conn, check_name(name, "model name"))
            alias_map = repo.aliases(conn, str(model["id"]))
            return [
                _version(row, name, [a for a, v in alias_map.items() if v == row["id"]])
                for row in repo.version_rows(conn, str(model["id"]))
            ]

    def list_models(self) -> list[dict[str, Any]]:
        """One summary per model you can read: latest version, its stage, and every alias with its version.
        The readable projects are part of the query (a model of another project is never read)."""
        readable = None if self.readable is None else self.readable()
        with self.store.connect() as conn:
            rows, alias_map = repo.model_listing(conn, readable)
        return [
            {
                "name": name,
                "latest_version": None if top is None else int(top),
                "latest_stage": stage,
                "versions": int(versions or 0),
                "aliases": alias_map.get(str(model_id), {}),
                "description": description,
            }
            for model_id, name, description, top, versions, stage in rows
        ]

    def load(self, ref: str) -> LoadedModel:
        """The model of ``ref``, loaded with skops from its artifact bytes (untrusted types refused)."""
        version = self.get(ref)
        require_loadable(version)
        sha = version.artifact_sha256
        model = load_model(self.artifacts.get_bytes(sha), self.trusted, blob=f"{version.ref} ({sha})")
        onnx_bytes = self.artifacts.get_bytes(version.onnx_sha256) if version.onnx_sha256 else None
        return LoadedModel(version, model, onnx_bytes)

    def model_bytes(self, ref: str) -> tuple[ModelVersion, bytes]:
        """The version of ``ref`` and the bytes of its skops file (never loaded here)."""
        version = self.get(ref)
        require_loadable(version)
        return version, self.artifacts.get_bytes(version.artifact_sha256)

    def evaluations(self, ref: str) -> list[dict[str, Any]]:
        """Every evaluation and comparison involving ``ref``, newest first."""
        from triops.mlops.evaluation.records import evaluations_of

        return evaluations_of(self, ref)

    def card(self, ref: str, fmt: str = "md", *, regenerate: bool = False) -> str:
        """The model card of ``ref`` rendered as ``md``, ``html`` or ``json``; ``regenerate`` also stores it
        (human sections are kept)."""
        from triops.mlops.registry.cards import build_card, generate_card, render

        return render(generate_card(self, ref) if regenerate else build_card(self, ref), fmt)

    def card_completeness(self, ref: str) -> float | None:
        """The completeness of the stored card of ``ref`` (None before a card was generated)."""
        version = self.get(ref)
        with self.store.connect() as conn:
            row = repo.card_row(conn, version.id)
        return None if row is None or row["completeness"] is None else float(row["completeness"])

    # --- aliases and stages -------------------------------------------------------------------------

    def _ask_guards(self, request: ChangeRequest) -> list[GuardRecord]:
        """What the guards record with the change (each raises to refuse it)."""
        return [found for guard in self.guards if (found := guard(request)) is not None]

    @staticmethod
    def _record(conn: Any, records: Sequence[GuardRecord], event: dict[str, Any] | None) -> None:
        """The guards' rows, then their audit events and the change's ``event`` (if it happened) appended
        together: the chain's head moves once for all of them."""
        for record in records:
            record.write(conn)
        events = [dict(e) for record in records for e in record.events]
        if event is not None:
            events.append(event)
        if events:
            audit.append_events(conn, events)

    def set_alias(
        self, name: str, alias: str, version: int | str, *, actor: str | None = None
    ) -> ModelVersion:
        """Point ``name@alias`` at ``version`` (a number or a ref); one audited write."""
        check_name(alias, "alias")
        if alias.isdigit():
            raise InvalidInputError(
                f"alias {alias!r} is all digits", hint="aliases name roles, e.g. champion"
            )
        who = actor or self.actor
        ref = f"{name}/{version}" if isinstance(version, int) else version
        target = self.get(ref)
        if target.model != name:
            raise InvalidInputError(f"{ref!r} is a version of {target.model!r}, not of {name!r}")
        previous = self._alias_target(name, alias)
        records = self._ask_guards(ChangeRequest("alias", target, previous, f"{alias}→{target.ref}", who))
        now = self.now_ms()

        def write(conn: Any) -> ModelVersion:
            model_id = str(self._model(conn, name)["id"])
            repo.set_alias(conn, model_id, alias, target.id, now, who)
            event = {
                "actor": who,
                "action": "model.alias.set",
                "object_type": "model_alias",
                "object_id": f"{name}@{alias}",
                "before": {"version": previous} if previous else None,
                "after": {"version": target.ref, "version_id": target.id},
                "at_ms": now,
            }
            self._record(conn, records, event)
            return self._resolve(conn, target.ref)

        return self.store.write(write)

    def _alias_target(self, name: str, alias: str) -> str | None:
        try:
            return self.get(f"{name}@{alias}").ref
        except NotFoundError:
            return None

    def remove_alias(self, name: str, alias: str, *, actor: str | None = None) -> None:
        """Remove ``name@alias``; shown to the guards first, like setting it. One audited write."""
        who = actor or self.actor
        current = self.get(f"{name}@{alias}")  # NotFound names the aliases there are
        records = self._ask_guards(ChangeRequest("alias_remove", current, current.ref, f"{alias}→", who))
        now = self.now_ms()

        def write(conn: Any) -> None:
            repo.delete_alias(conn, str(self._model(conn, name)["id"]), alias)
            event = {
                "actor": who,
                "action": "model.alias.delete",
                "object_type": "model_alias",
                "object_id": f"{name}@{alias}",
                "before": {"version": current.ref},
                "after": None,
                "at_ms": now,
            }
            self._record(conn, records, event)

        self.store.write(write)

    def transition(self, ref: str, stage: str, *, actor: str | None = None) -> ModelVersion:
        """Move a version to another lifecycle stage; an invalid move names the allowed ones."""
        if stage not in STAGES:
            raise InvalidInputError(f"unknown stage {stage!r}", hint="stages: " + ", ".join(STAGES))
        who = actor or self.actor
        version = self.get(ref)
        allowed = TRANSITIONS[version.stage]
        if stage not in allowed:
            raise ConflictError(
                f"{version.ref} cannot move from {version.stage} to {stage}",
                hint=f"from {version.stage} it can move to: {', '.join(allowed)}",
            )
        records = self._ask_guards(ChangeRequest("stage", version, version.stage, stage, who))
        now = self.now_ms()

        def write(conn: Any) -> bool:
            moved = repo.set_stage(conn, version.id, stage, expected=version.stage)
            event = {
                "actor": who,
                "action": "model.stage",
                "object_type": "model_version",
                "object_id": version.ref,
                "before": {"stage": version.stage},
                "after": {"stage": stage},
                "at_ms": now,
            }
            # the guards' records commit even when another writer moved the version meanwhile: the
            # gate was asked, so its evaluation is kept
            self._record(conn, records, event if moved else None)
            return moved

        if not self.store.write(write):
            raise ConflictError(f"{version.ref} moved meanwhile", hint="read it again and retry")
        return replace(version, stage=stage)


__all__ = [
    "NAME_RULE",
    "STAGES",
    "TRANSITIONS",
    "ChangeRequest",
    "Guard",
    "GuardRecord",
    "LoadedModel",
    "ModelRegistry",
    "ModelVersion",
    "check_name",
    "current_git_commit",
    "parse_ref",
]
