"""``RemoteWorkspace``: what ``Workspace.open("http://…", token=…)`` returns. It offers the local surface
(``ws.runs``, ``ws.start_run``, ``ws.models``, ``ws.datasets``, ``ws.finops``, ``ws.governance``,
``ws.serving``, ``ws.monitoring``, ``ws.pipelines``, ``ws.strategy``, ``ws.run_pipeline``, ``ws.lineage``, ``ws.scorecard``) through clients of
the server's API, acting as the token's user. It has no store or artifact root of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from triops.domain.clock import Clock
from triops.errors import ConfigError
from triops.settings import Settings
from triops.workspace.local import Workspace
from triops.workspace.remote import HttpTrackingSink
from triops.workspace.remote_http import HttpTransport

if TYPE_CHECKING:
    from triops.governance.rbac import Principal
    from triops.kpis import Scorecard
    from triops.mlops.pipelines.authoring import Pipeline
    from triops.mlops.pipelines.hooks import Hook
    from triops.mlops.pipelines.runner import PipelineRunResult
    from triops.workspace.remote_datasets import RemoteDatasets
    from triops.workspace.remote_finops import RemoteFinOps
    from triops.workspace.remote_governance import RemoteGovernance
    from triops.workspace.remote_kpis import RemoteKpis
    from triops.workspace.remote_models import RemoteModels
    from triops.workspace.remote_monitoring import RemoteMonitoring
    from triops.workspace.remote_pipelines import RemotePipelines, RemoteStrategy
    from triops.workspace.remote_serving import RemoteServing


class RemoteWorkspace(Workspace):
    def __init__(self, *, settings: Settings, transport: HttpTransport, clock: Clock, url: str) -> None:
        super().__init__(
            settings=settings,
            sink=HttpTrackingSink(transport),
            store=None,
            artifacts=None,
            clock=clock,
            url=url,
        )
        self.http = transport

    @property
    def principal(self) -> Principal:
        """Who the server says the token is, with the roles they hold."""
        if self._principal is None:
            from triops.governance.rbac import Principal

            me = self.http.get("/me")
            bindings = [(None if p == "*" else p, r) for p, roles in me["roles"].items() for r in roles]
            self._principal = Principal.from_bindings(me["name"], bindings, me.get("kind", "user"))
        return self._principal

    def acting_as(self, principal: Principal) -> Workspace:
        raise ConfigError(
            "a remote workspace acts as its token's user",
            hint="open the workspace with the other user's token instead",
        )

    # -- services over HTTP (the same names and return types as a local workspace) --------------------------
    @cached_property
    def models(self) -> RemoteModels:  # type: ignore[override]
        from triops.workspace.remote_models import RemoteModels

        return RemoteModels(self.http, self.settings.trusted_model_types)

    @cached_property
    def datasets(self) -> RemoteDatasets:  # type: ignore[override]
        from triops.workspace.remote_datasets import RemoteDatasets

        return RemoteDatasets(self.http)

    @cached_property
    def finops(self) -> RemoteFinOps:  # type: ignore[override]
        from triops.workspace.remote_finops import RemoteFinOps

        return RemoteFinOps(self.http)

    @cached_property
    def governance(self) -> RemoteGovernance:  # type: ignore[override]
        from triops.workspace.remote_governance import RemoteGovernance

        return RemoteGovernance(self.http)

    @cached_property
    def serving(self) -> RemoteServing:  # type: ignore[override]
        from triops.workspace.remote_serving import RemoteServing

        return RemoteServing(self.http, self.models)

    @cached_property
    def monitoring(self) -> RemoteMonitoring:  # type: ignore[override]
        from triops.workspace.remote_monitoring import RemoteMonitoring

        return RemoteMonitoring(self.http, self.models)

    @cached_property
    def pipelines(self) -> RemotePipelines:  # type: ignore[override]
        from triops.workspace.remote_pipelines import RemotePipelines

        return RemotePipelines(self.http)

    @cached_property
    def strategy(self) -> RemoteStrategy:  # type: ignore[override]
        from triops.workspace.remote_pipelines import RemoteStrategy

        return RemoteStrategy(self.http)

    @cached_property
    def kpis(self) -> RemoteKpis:  # type: ignore[override]
        from triops.workspace.remote_kpis import RemoteKpis

        return RemoteKpis(self.http)

    # -- pipelines: submitted to the server ----------------------------------------------------------------
    def pipeline_hooks(self, *, override_reason: str | None = None, **_: Any) -> list[Hook]:
        raise ConfigError(
            "the built-in hooks of a remote workspace run on the server",
            hint="submit the pipeline with ws.run_pipeline; the server applies metering, budgets and gates",
        )

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
        """Submit ``pipeline`` (by its ``package.module:name``) to the server, which runs it with the built-in
        hooks; returns the finished run's record. The module must be installed and allowed on the server."""
        from triops.mlops.pipelines.targets import target_of

        if self.extra_hooks:
            raise ConfigError(
                "hooks added with ws.add_hook cannot run on the server",
                hint="run the pipeline against a local store, or install the hook on the server",
            )
        if ray_address is not None:
            raise ConfigError(
                "ray_address applies to local stores; a server runs pipelines on the cluster it is set up with",
                hint="drop ray_address, or open the store itself (postgresql://…) to run on your own cluster",
            )
        target = target_of(pipeline)
        if ".py:" in target or target.startswith("__main__"):
            raise ConfigError(
                f"pipeline {pipeline.name!r} is defined in a script ({target})",
                hint="the server imports pipelines by module name: put it in an installed package",
            )
        return self.pipelines.submit(
            target,
            params,
            project=project,
            executor=executor,
            use_cache=use_cache,
            on_failure=on_failure,
            name=name,
            tags=dict(tags) if tags else None,
            override_reason=override_reason,
            listener=listener,
            environment=None if environment == "local" else environment,
        )

    def lineage(self, ref: str, direction: str = "up", depth: int = 3) -> Any:
        return self.pipelines.lineage(ref, direction=direction, depth=depth)

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
        """Evaluate on the server: ``data`` is uploaded, the server loads the version and stores the
        evaluation; returns (result, record id) as a local workspace does."""
        import json

        from triops.mlops.evaluation.evaluate import evaluation_from_dict
        from triops.workspace.remote_datasets import upload_body

        filename, content = upload_body(data, "evaluation")
        form: dict[str, Any] = {"target": target, "task": task, "options": json.dumps(options)}
        if sensitive:
            form["sensitive"] = list(sensitive)
        path = f"{self.models.version_path(model_ref)}/evaluations"
        files = {"file": (filename, content, "application/octet-stream")}
        body = self.http.json("POST", path, files=files, data=form)
        return evaluation_from_dict(body["result"]), body["id"]

    def scorecard(self) -> Scorecard:
        from triops.workspace.remote_wire import scorecard

        found: Scorecard = scorecard(self.http.get("/kpis/scorecard"))
        return found

    def close(self) -> None:
        self.http.close()


__all__ = ["RemoteWorkspace"]
