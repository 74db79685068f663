"""The pillars wired together: the hooks every pipeline run gets, and the services behind ``ws.models``,
``ws.datasets`` (``workspace.datasets``), ``ws.finops``, ``ws.run_pipeline``, ``ws.evaluate`` and
``ws.scorecard``.

This is the one place where DataOps, MLOps, FinOps and governance meet; they never import one another.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from triops.domain.clock import Clock
from triops.store.engine import Store

if TYPE_CHECKING:
    from triops.artifacts import ArtifactStore
    from triops.dataops.gate import GateResult
    from triops.finops.service import FinOpsService
    from triops.governance.rbac import Principal
    from triops.kpis import Scorecard
    from triops.mlops.pipelines.authoring import Pipeline
    from triops.mlops.pipelines.hooks import Hook
    from triops.mlops.pipelines.runner import PipelineRunResult
    from triops.mlops.registry.records import ChangeRequest, GuardRecord
    from triops.mlops.registry.service import ModelRegistry
    from triops.settings import Settings
    from triops.workspace.datasets import Datasets
    from triops.workspace.governance import GovernanceService
    from triops.workspace.kpis import KpiService
    from triops.workspace.monitoring import MonitoringService
    from triops.workspace.pipelines import PipelineService
    from triops.workspace.serving import ServingService
    from triops.workspace.strategy import StrategyService


def load_artifact(artifacts: ArtifactStore, sha256: str, media_type: str, trusted: Sequence[str] = ()) -> Any:
    """Read a materialised artifact back with the materializer that wrote its media type (a model file
    through the one allow-list loader, ``trusted`` naming extra exact types)."""
    from triops.mlops.pipelines.materializers import MaterializedRef, load, materializer_for_media_type

    mat = materializer_for_media_type(media_type)
    if mat is None:
        return artifacts.get_bytes(sha256)
    return load(MaterializedRef(sha256, 0, media_type, mat.name), artifacts, trusted=trusted)


class PillarServices:
    """Mixed into ``Workspace``: everything below needs a local store."""

    settings: Settings
    clock: Clock
    extra_hooks: list[Hook]

    @property
    def store(self) -> Store:  # provided by Workspace
        raise NotImplementedError

    @property
    def principal(self) -> Principal:  # provided by Workspace
        raise NotImplementedError

    @property
    def artifacts(self) -> ArtifactStore:  # provided by Workspace
        raise NotImplementedError

    # -- services ------------------------------------------------------------------------------------------
    @cached_property
    def finops(self) -> FinOpsService:
        from triops.finops.attribution import SharedCost
        from triops.finops.prices import load_price_book
        from triops.workspace.guarded import GovernedFinOps, with_principal

        book = load_price_book(self.settings.price_catalog)
        service = GovernedFinOps(
            self.store,
            book,
            self.clock,
            user=self.principal.name,
            authorize=self._authorize,
            required_tags=self.settings.finops_required_tags,
            shared=[SharedCost.parse(s) for s in self.settings.finops_shared],
        )
        return with_principal(service, self.principal)  # type: ignore[no-any-return]

    def finops_priced(self, book: Any) -> FinOpsService:
        """``ws.finops`` priced with another catalog (``--catalog``; the server's, read once): the same
        settings and permission checks, acting as the same principal."""
        from triops.workspace.guarded import GovernedFinOps, with_principal

        local = self.finops
        service = GovernedFinOps(
            self.store,
            book,
            self.clock,
            user=self.principal.name,
            authorize=self._authorize,
            required_tags=local.required_tags,
            shared=local.shared,
        )
        return with_principal(service, self.principal)  # type: ignore[no-any-return]

    def _authorize(self, permission: str, project: str | None) -> None:
        """A service's permission check against the acting principal (the pillars cannot import it)."""
        from triops.governance.rbac import require

        require(permission, self.principal, project)

    @cached_property
    def models(self) -> ModelRegistry:
        from triops.governance.rbac import Permission
        from triops.workspace.guarded import GovernedRegistry, with_principal

        registry = GovernedRegistry(
            self.store,
            self.artifacts,
            clock=self.clock,
            actor=self.principal.name,
            trusted=self.settings.trusted_model_types,
        )
        with_principal(registry, self.principal)
        # listings read only models of projects the principal may read (in the query)
        registry.readable = lambda: self.principal.projects_with(Permission.PROJECT_READ)
        registry.guards.append(self._governance_guard)
        return registry

    def _governance_guard(self, change: ChangeRequest) -> GuardRecord | None:
        """Stage changes, and setting or removing a guarded alias (``champion``, or one a policy names), pass
        the policy gate bound to them, with the approvals of a request for that very change. A gate that lets
        the change through is recorded in the change's transaction (``enforce_gate_with_change``)."""
        from triops.governance.gates import enforce_gate_with_change
        from triops.mlops.registry.records import GuardRecord
        from triops.workspace.gate_facts import gate_facts, guards_alias

        project = self.models.project_of(change.version.model)  # type: ignore[attr-defined]
        facts = gate_facts(self.models, change, project)
        if change.action != "stage" and not guards_alias(self.store, facts):
            return None
        record = enforce_gate_with_change(self.store, facts, change.actor, self.clock)
        return None if record is None else GuardRecord(record.write, (record.event,))

    @cached_property
    def datasets(self) -> Datasets:
        from triops.workspace.datasets import Datasets

        return Datasets(self.store, self.clock, artifacts=self.artifacts, principal=self.principal)

    @cached_property
    def governance(self) -> GovernanceService:
        from triops.workspace.governance import GovernanceService

        return GovernanceService(
            self.store,
            self.principal,
            self.clock,
            home=Path(self.settings.home),
            audit_key_path=self.settings.audit_key_path,
            witness_dir=self.settings.audit_witness_dir,
            checkpoint_every=self.settings.audit_checkpoint_every,
            single_user=getattr(self, "single_user", False),
        )

    @cached_property
    def pipelines(self) -> PipelineService:
        from triops.workspace.pipelines import PipelineService

        return PipelineService(self)  # type: ignore[arg-type]

    @cached_property
    def serving(self) -> ServingService:
        from triops.workspace.serving import ServingService

        return ServingService(self)  # type: ignore[arg-type]

    @cached_property
    def monitoring(self) -> MonitoringService:
        from triops.workspace.monitoring import MonitoringService

        return MonitoringService(self)  # type: ignore[arg-type]

    @cached_property
    def strategy(self) -> StrategyService:
        from triops.workspace.strategy import StrategyService

        return StrategyService(self, self.clock)  # type: ignore[arg-type]

    @cached_property
    def kpis(self) -> KpiService:
        from triops.workspace.kpis import KpiService

        return KpiService(self)  # type: ignore[arg-type]

    # -- pipelines -----------------------------------------------------------------------------------------
    def pipeline_hooks(
        self,
        *,
        override_reason: str | None = None,
        tags: Mapping[str, str] | None = None,
        environment: str = "local",
        use_cache: bool = True,
        project: str | None = None,
    ) -> list[Hook]:
        """The built-in hooks every run gets: contract gates, metering and budgets, lineage, plus the user's.
        ``tags`` (team, cost_centre, model_version, dataset, …) reach every usage and cost record;
        ``environment`` names the price-catalog environment the run is priced in.

        With ``project``, the principal needs ``run.write`` there; an ``override_reason`` (run past a budget
        hard stop) first passes the ``budget.override`` gate, whichever path asked for the hooks."""
        from triops.governance.rbac import Permission, require

        if project is not None:
            require(Permission.RUN_WRITE, self.principal, project)
        if override_reason:
            self._check_budget_override(project or "default", override_reason)
        from triops.dataops.hooks import ContractGateHook, OpenLineageHook
        from triops.finops.metering import FinOpsHook, recover_journals
        from triops.workspace.gate_records import record_gate_result

        journal = Path(self.settings.home) / "finops-journal"
        recover_journals(self.finops, journal)  # what a killed run left behind
        hooks: list[Any] = []
        target = self.settings.openlineage_url or self.settings.openlineage_file
        # first, so a step the gate stops still gets its START and FAIL events
        lineage = OpenLineageHook(target, clock=self.clock, fields_of=self._columns) if target else None
        if lineage is not None:
            hooks.append(lineage)

        def on_gate(run_id: str, step: str, result: GateResult) -> None:
            record_gate_result(
                self.store, self.artifacts, self.clock, self.principal.name, run_id, step, result
            )
            if lineage is not None:
                lineage.record_gate(run_id, step, result)

        hooks += [
            ContractGateHook(
                lambda sha, media: load_artifact(
                    self.artifacts, sha, media, self.settings.trusted_model_types
                ),
                report=on_gate,
                clock=self.clock,
                privacy=self.datasets.privacy(),
            ),
            FinOpsHook(
                self.finops,
                environment=environment,
                tags=tags,
                override_reason=override_reason,
                journal_dir=journal,
                cache_enabled=use_cache,
            ),
        ]
        return [*hooks, *self.extra_hooks]

    def _columns(self, sha256: str, media_type: str) -> list[tuple[str, str]] | None:
        """An artifact's columns for lineage, read from a Parquet footer (other kinds have none)."""
        from triops.dataops.openlineage import parquet_columns
        from triops.mlops.pipelines.materializers import PARQUET_MEDIA_TYPE

        if media_type != PARQUET_MEDIA_TYPE:
            return None
        with self.artifacts.open(sha256, verify=False) as handle:  # the footer only: no content is trusted
            return parquet_columns(handle)

    def run_pipeline(
        self,
        pipeline: Pipeline,
        params: Mapping[str, Any] | None = None,
        *,
        project: str = "default",
        executor: str = "inline",
        use_cache: bool = True,
        on_failure: str = "stop",
        name: str | None = None,
        tags: Mapping[str, str] | None = None,
        override_reason: str | None = None,
        listener: Any = None,
        ray_address: str | None = None,
        environment: str = "local",
    ) -> PipelineRunResult:
        """Run ``pipeline`` with the built-in hooks. ``executor="ray", ray_address="host:6379"`` runs it on
        that Ray cluster (its workers are handed this workspace's store URL and artifact root)."""
        from triops.mlops.pipelines.executors import ray_options
        from triops.mlops.pipelines.runner import run_pipeline

        options = ray_options(executor, ray_address)
        hooks = self.pipeline_hooks(
            override_reason=override_reason,
            tags=tags,
            environment=environment,
            use_cache=use_cache,
            project=project,
        )
        return run_pipeline(
            self.store,
            self.artifacts,
            pipeline,
            params,
            project=project,
            executor=executor,
            executor_options=options,
            hooks=hooks,
            use_cache=use_cache,
            on_failure=on_failure,  # type: ignore[arg-type]
            name=name,
            user_name=self.principal.name,
            tags=tags,
            listener=listener,
            clock=self.clock,
            heartbeat_s=self.settings.run_heartbeat_s,
            trusted_types=self.settings.trusted_model_types,
        )

    def _check_budget_override(self, project: str, reason: str) -> None:
        """A budget override passes the ``budget.override`` gate first (the built-in policy asks for a
        ``finops`` approver's approval)."""
        from triops.governance.facts import GateFacts
        from triops.governance.gates import enforce_gate, install_builtin_policies
        from triops.governance.policies import Gate
        from triops.governance.rbac import Principal

        install_builtin_policies(self.store, Principal.owner(self.principal.name), self.clock)
        facts = GateFacts(
            gate=Gate.BUDGET_OVERRIDE.value,
            subject_type="project",
            subject_id=project,
            project=project,
            change={"justification": reason},
        )
        enforce_gate(self.store, facts, self.principal.name, self.clock)

    def lineage(self, ref: str, direction: str = "up", depth: int = 3) -> Any:
        """As ``ws.pipelines.lineage``: checked against ``project.read`` (NotFound otherwise)."""
        from triops.workspace.lineage_access import readable_lineage

        return readable_lineage(self, ref, direction=direction, depth=depth)  # type: ignore[arg-type]

    # -- evaluation and KPIs -------------------------------------------------------------------------------
    def evaluate(
        self,
        model_ref: str,
        data: Any,
        *,
        target: str,
        task: str = "classification",
        sensitive: Sequence[str] = (),
        **options: Any,
    ) -> Any:
        from triops.governance.rbac import Permission, require
        from triops.mlops.evaluation.records import evaluate_version
        from triops.mlops.registry.records import parse_ref

        project = self.models.project_of(parse_ref(model_ref)[0])  # type: ignore[attr-defined]
        require(Permission.MODEL_REGISTER, self.principal, project)
        return evaluate_version(
            self.models, model_ref, data, target=target, task=task, sensitive=tuple(sensitive), **options
        )

    def scorecard(self) -> Scorecard:
        from triops.governance.rbac import Permission, require
        from triops.kpis import scorecard

        require(Permission.PROJECT_READ, self.principal, None)
        return scorecard(self.store, currency=self.settings.currency, rates=self.finops.book.rates)


__all__ = ["PillarServices", "load_artifact"]
