"""The pillar services as the workspace hands them out: each public call first checks the acting principal's
permission (``triops.governance.rbac``) in the project the object lives in.

The pillars never import governance, so the checks wrap them here, in the composition layer: ``ws.models``
is a ``GovernedRegistry`` and ``ws.finops`` a ``GovernedFinOps``. The SDK, the CLI and every REST route call
these same objects, so all three paths obey one table. Reading an object in a project the principal cannot
read is ``NotFoundError`` (404), as if it did not exist; a missing write permission is
``PermissionDeniedError`` (403) naming the permission.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from triops.errors import NotFoundError
from triops.finops.service import FinOpsService
from triops.governance.rbac import Permission, Principal, require
from triops.mlops.registry.records import parse_ref
from triops.mlops.registry.service import ModelRegistry
from triops.store.repositories import registry as registry_repo
from triops.workspace.projects import model_and_project, model_project, project_id

if TYPE_CHECKING:
    import polars as pl

    from triops.domain.usage import UsageRecord
    from triops.finops import budgets as B
    from triops.finops.forecast import Anomaly, BurnDown, Forecast
    from triops.finops.recommend import Recommendation
    from triops.finops.service import BudgetStatus
    from triops.mlops.registry.records import ModelVersion
    from triops.mlops.registry.service import LoadedModel
    from triops.mlops.registry.signature import Signature


def readable(principal: Principal, project: str | None, what: str) -> None:
    """404 (not 403) when ``principal`` cannot read ``project``: the object might as well not exist."""
    if not principal.can(Permission.PROJECT_READ, project):
        raise NotFoundError(f"{what} does not exist", hint="check the name, or ask for a role in its project")


# The model a governed change is working on (its name, project and row), read once per change: a stage
# change reads the version, asks the gate (which asks for the project again) and writes, each of which would
# otherwise read the model's row again. Scoped to the call (a context variable), so no later call trusts it.
_PINNED: ContextVar[tuple[str, str | None, Mapping[Any, Any] | None] | None] = ContextVar(
    "triops_pinned_model", default=None
)


class GovernedRegistry(ModelRegistry):
    """``ws.models``: the model registry, with reads and writes checked in the model's project."""

    principal: Principal

    def _read_model(self, name: str, conn: Any = None) -> tuple[str | None, Mapping[Any, Any] | None]:
        """(project, row) of model ``name`` (the row is None when there is no such model), checked readable:
        one statement, none within a change that pinned the model."""
        pinned = _PINNED.get()
        if pinned is not None and pinned[0] == name:
            project, row = pinned[1], pinned[2]
        elif conn is None:
            with self.store.connect() as own:
                row, project = model_and_project(own, name)
        else:
            row, project = model_and_project(conn, name)
        readable(self.principal, project, f"model {name!r}")
        return project, row

    def _model_project(self, ref: str) -> str | None:
        return self._read_model(parse_ref(ref)[0])[0]

    @contextmanager
    def _pinned(self, ref: str) -> Iterator[str | None]:
        """The model's project (checked readable), remembered with its row for the rest of this call."""
        name = parse_ref(ref)[0]
        project, row = self._read_model(name)
        token = _PINNED.set((name, project, row))
        try:
            yield project
        finally:
            _PINNED.reset(token)

    def get(self, ref: str) -> ModelVersion:
        name = parse_ref(ref)[0]
        with self.store.connect() as conn:  # the model (and its project) and the version on one connection
            row = self._read_model(name, conn)[1]
            return self._resolve(conn, ref, row)

    def versions(self, name: str) -> list[ModelVersion]:
        self._model_project(name)
        return super().versions(name)

    def list_models(self) -> list[dict[str, Any]]:
        found = super().list_models()
        if self.readable is not None:  # the readable projects were part of the query: no read per model
            return found
        return [
            m
            for m in found
            if self.principal.can(Permission.PROJECT_READ, model_project(self.store, str(m["name"])))
        ]

    def project_of(self, name: str) -> str | None:
        """The project of model ``name`` (None: workspace-wide), if the principal may read it."""
        return self._model_project(name)

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
        project: str | None = None,
    ) -> ModelVersion:
        """As ``ModelRegistry.register``; ``project`` (a name) places a new model in that project. Needs
        ``model.register`` there (an existing model keeps its project)."""
        exists = self._exists(name)
        if exists:
            target = self._model_project(name)
        else:
            target = project if project is not None else self._project_name(project_id)
        require(Permission.MODEL_REGISTER, self.principal, target)
        if project is not None and not exists:
            project_id = _project_id(self, project)
        return super().register(
            name,
            model,
            training_frame=training_frame,
            signature=signature,
            run_id=run_id,
            datasets=datasets,
            evaluation_datasets=evaluation_datasets,
            git_commit=git_commit,
            cost_to_train_micros=cost_to_train_micros,
            currency=currency,
            project_id=project_id,
            description=description,
            onnx=onnx,
            actor=self.principal.name,
        )

    def _exists(self, name: str) -> bool:
        with self.store.connect() as conn:
            return registry_repo.model_row(conn, name) is not None

    def _project_name(self, pid: str | None) -> str | None:
        if pid is None:
            return None
        import sqlalchemy as sa

        from triops.store.tables import projects

        with self.store.connect() as conn:
            found = conn.execute(sa.select(projects.c.name).where(projects.c.id == pid)).scalar()
        return None if found is None else str(found)

    def load(self, ref: str) -> LoadedModel:
        self._model_project(ref)
        return super().load(ref)

    def model_bytes(self, ref: str) -> tuple[ModelVersion, bytes]:
        self._model_project(ref)
        return super().model_bytes(ref)

    def evaluations(self, ref: str) -> list[dict[str, Any]]:
        self._model_project(ref)
        return super().evaluations(ref)

    def card(self, ref: str, fmt: str = "md", *, regenerate: bool = False) -> str:
        project = self._model_project(ref)
        if regenerate:
            require(Permission.MODEL_REGISTER, self.principal, project)
        return super().card(ref, fmt, regenerate=regenerate)

    def set_alias(
        self, name: str, alias: str, version: int | str, *, actor: str | None = None
    ) -> ModelVersion:
        with self._pinned(name) as project:
            require(Permission.MODEL_ALIAS, self.principal, project)
            return super().set_alias(name, alias, version, actor=self.principal.name)

    def remove_alias(self, name: str, alias: str, *, actor: str | None = None) -> None:
        with self._pinned(name) as project:
            require(Permission.MODEL_ALIAS, self.principal, project)
            super().remove_alias(name, alias, actor=self.principal.name)

    def transition(self, ref: str, stage: str, *, actor: str | None = None) -> ModelVersion:
        with self._pinned(ref) as project:
            require(Permission.MODEL_STAGE, self.principal, project)
            return super().transition(ref, stage, actor=self.principal.name)


def _project_id(registry: GovernedRegistry, name: str) -> str:
    return project_id(registry.store, name, registry.clock)


def _budget_project(budget: B.Budget) -> str | None:
    return budget.name if budget.scope == "project" else None


class GovernedFinOps(FinOpsService):
    """``ws.finops``: costs and budgets, with ``cost.read`` / ``budget.write`` checked where they apply."""

    principal: Principal

    def _read(self, project: str | None, what: str | None = None) -> None:
        readable(self.principal, project, what or f"project {project!r}")
        require(Permission.COST_READ, self.principal, project)

    def record_usage(self, records: Sequence[UsageRecord]) -> tuple[pl.DataFrame, list[B.Alert]]:
        for project in sorted({r.project for r in records}):
            require(Permission.RUN_WRITE, self.principal, project)
        return super().record_usage(records)

    def costs(
        self, *, period: str | None = None, project: str | None = None, run_id: str | None = None
    ) -> pl.DataFrame:
        if run_id is not None and project is None:
            # one run's costs need cost.read in the run's project, not everywhere
            from triops.store.repositories.runs import run_project

            with self.store.connect() as conn:
                self._read(run_project(conn, run_id), f"run {run_id!r}")
        else:
            self._read(project)
        return super().costs(period=period, project=project, run_id=run_id)

    def usage(self, *, project: str | None = None) -> pl.DataFrame:
        self._read(project)
        return super().usage(project=project)

    def report(self, by: str, *, period: str | None = None, currency: str | None = None) -> pl.DataFrame:
        self._read(None)
        return super().report(by, period=period, currency=currency)

    def set_budget(self, budget: B.Budget) -> B.Budget:
        require(Permission.BUDGET_WRITE, self.principal, _budget_project(budget))
        self.user = self.principal.name
        return super().set_budget(budget)

    def visible_budgets(self) -> list[B.Budget]:
        """The budgets whose costs the principal may read."""
        return [
            b for b in super().list_budgets() if self.principal.can(Permission.COST_READ, _budget_project(b))
        ]

    def status(self) -> list[BudgetStatus]:
        visible = {b.id for b in self.visible_budgets()}
        return [s for s in super().status() if s.budget.id in visible]

    def alerts(self) -> list[dict[str, Any]]:
        self._read(None)
        return super().alerts()

    def daily_spend(self, *, project: str | None = None, currency: str | None = None) -> dict[date, int]:
        self._read(project)
        return super().daily_spend(project=project, currency=currency)

    def currencies(self, *, project: str | None = None) -> list[str]:
        self._read(project)
        return super().currencies(project=project)

    def forecast(self, *, project: str | None = None, as_of: date | None = None) -> Forecast:
        self._read(project)
        return super().forecast(project=project, as_of=as_of)

    def burn_down(self, budget: B.Budget) -> BurnDown:
        self._read(_budget_project(budget), f"budget {budget.name!r}")
        return super().burn_down(budget)

    def anomalies(self, *, project: str | None = None) -> list[Anomaly]:
        self._read(project)
        return super().anomalies(project=project)

    def recommend(
        self, *, project: str | None = None, storage_environment: str | None = None, idle_days: int = 90
    ) -> list[Recommendation]:
        self._read(project)
        return super().recommend(
            project=project, storage_environment=storage_environment, idle_days=idle_days
        )

    def export_focus(self, out: Path, *, period: str | None = None) -> int:
        self._read(None)
        return super().export_focus(out, period=period)

    def stream_focus_csv(self, *, period: str | None = None) -> tuple[int, Iterator[bytes]]:
        self._read(None)
        return super().stream_focus_csv(period=period)

    def import_focus(
        self, path: Path, *, default_project: str | None = None, replace: bool = False
    ) -> tuple[str, int]:
        require(Permission.BUDGET_WRITE, self.principal, None)
        return super().import_focus(path, default_project=default_project, replace=replace)

    def imported_totals(self, *, period: str | None = None) -> list[dict[str, Any]]:
        self._read(None)
        return super().imported_totals(period=period)


def with_principal(service: Any, principal: Principal) -> Any:
    service.principal = principal
    return service


__all__ = ["GovernedFinOps", "GovernedRegistry", "readable", "with_principal"]
