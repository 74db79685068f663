"""Authoring pipelines: ``@step`` turns a typed function into a step, ``@pipeline`` turns a function that
calls steps into a DAG builder.

Calling a step inside a pipeline function records a node and returns placeholders (``StepOutput``); no step
runs while the DAG is built. Pipeline parameters are validated with pydantic, from the function's signature,
before anything runs. The runner (``triops.mlops.pipelines.runner``) executes the resulting ``Dag``.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, overload

import pydantic

from triops.errors import InvalidInputError, PipelineError
from triops.mlops.pipelines.dag import BUILDING, Dag, Node, StepOutput, building

RESOURCE_KEYS = ("cpu", "memory_gb", "gpu")
#: ``custom.<name>`` asks for a custom resource of the Ray cluster (``ray start --resources``), e.g. to pin
#: a step to the nodes that have it; the inline and local executors ignore custom resources
CUSTOM_PREFIX = "custom."


@dataclass(frozen=True, slots=True)
class Resources:
    """What a step asks the executor for: CPU cores, memory in GiB, GPUs, custom Ray resources."""

    cpu: float = 1.0
    memory_gb: float = 1.0
    gpu: float = 0.0
    custom: tuple[tuple[str, float], ...] = ()

    @classmethod
    def from_mapping(cls, values: Mapping[str, float] | None, step: str) -> Resources:
        values = dict(values or {})
        unknown = sorted(
            k
            for k in values
            if k not in RESOURCE_KEYS and not (k.startswith(CUSTOM_PREFIX) and len(k) > len(CUSTOM_PREFIX))
        )
        if unknown:
            raise InvalidInputError(
                f"step {step!r} requests unknown resources {unknown}",
                hint=f"valid keys: {', '.join(RESOURCE_KEYS)}, or {CUSTOM_PREFIX}<name> for a custom Ray resource",
            )
        for key, value in values.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise InvalidInputError(
                    f"step {step!r} requests {key}={value!r}", hint="resources are numbers ≥ 0"
                )
        custom = tuple(
            sorted(
                (k[len(CUSTOM_PREFIX) :], float(v)) for k, v in values.items() if k.startswith(CUSTOM_PREFIX)
            )
        )
        return cls(**{k: float(v) for k, v in values.items() if k in RESOURCE_KEYS}, custom=custom)

    def to_dict(self) -> dict[str, float]:
        return {
            "cpu": self.cpu,
            "memory_gb": self.memory_gb,
            "gpu": self.gpu,
            **{f"{CUSTOM_PREFIX}{k}": v for k, v in self.custom},
        }


class Step:
    """A typed function that a pipeline runs as one unit: cached, retried, metered and traced."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        retries: int = 0,
        retry_delay_s: float = 0.5,
        timeout: float | None = None,
        cache: bool = True,
        resources: Mapping[str, float] | None = None,
        contracts: Mapping[str, str] | None = None,
        outputs: Sequence[str] | None = None,
    ) -> None:
        self.fn = fn
        self.name = name or fn.__name__
        if not isinstance(retries, int) or retries < 0:
            raise InvalidInputError(
                f"step {self.name!r}: retries={retries!r}", hint="retries is an integer ≥ 0"
            )
        if timeout is not None and (not isinstance(timeout, int | float) or timeout <= 0):
            raise InvalidInputError(f"step {self.name!r}: timeout={timeout!r}", hint="timeout is seconds > 0")
        self.retries = retries
        self.retry_delay_s = float(retry_delay_s)
        self.timeout = None if timeout is None else float(timeout)
        self.cache = cache
        self.resources = Resources.from_mapping(resources, self.name)
        self.contracts: dict[str, str] = dict(contracts or {})
        self.signature = inspect.signature(fn)
        for pname, param in self.signature.parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise PipelineError(
                    f"step {self.name!r} takes *{pname}; step arguments must be named",
                    hint="declare each input as its own parameter",
                )
        unknown = sorted(set(self.contracts) - set(self.signature.parameters))
        if unknown:
            raise InvalidInputError(
                f"step {self.name!r} declares contracts for {unknown}, which are not its parameters",
                hint=f"parameters: {', '.join(self.signature.parameters)}",
            )
        self._declared_outputs = tuple(outputs) if outputs else None
        self._return_type: Any = None
        self._resolved = False
        self._output_names: tuple[str, ...] | None = None
        self._multiple: bool | None = None
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn
        self.__module__ = fn.__module__
        self.__qualname__ = fn.__qualname__

    @property
    def return_type(self) -> Any:
        """The resolved return annotation (``Any`` when there is none)."""
        if not self._resolved:
            try:
                hints = typing.get_type_hints(self.fn)
            except Exception:
                hints = {}
            self._return_type = hints.get("return", Any)
            self._resolved = True
        return self._return_type

    @property
    def output_names(self) -> tuple[str, ...]:
        """``("output",)`` for a single value; one name per element for a fixed-length tuple return."""
        # read several times per step run: worked out once (the return annotation is resolved once too)
        if self._output_names is None:
            self._output_names = self._names_of_outputs()
        return self._output_names

    def _names_of_outputs(self) -> tuple[str, ...]:
        arity = _tuple_arity(self.return_type)
        if self._declared_outputs is not None:
            if arity is not None and arity != len(self._declared_outputs):
                raise PipelineError(
                    f"step {self.name!r} names {len(self._declared_outputs)} outputs "
                    f"but returns a {arity}-tuple",
                    hint="make outputs=[...] match the tuple in the return annotation",
                )
            return self._declared_outputs
        if arity is None:
            return ("output",)
        return tuple(f"output_{i}" for i in range(arity))

    @property
    def multiple_outputs(self) -> bool:
        if self._multiple is None:
            self._multiple = self._declared_outputs is not None or _tuple_arity(self.return_type) is not None
        return self._multiple

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        builder = BUILDING.get()
        if builder is None:
            return self.fn(*args, **kwargs)
        return builder.add(self, args, kwargs)

    def __repr__(self) -> str:
        return f"<step {self.name}>"


def _tuple_arity(annotation: Any) -> int | None:
    if typing.get_origin(annotation) is tuple:
        args = typing.get_args(annotation)
        if args and Ellipsis not in args and args != ((),):
            return len(args)
    return None


@overload
def step(fn: Callable[..., Any], /) -> Step: ...


@overload
def step(
    *,
    name: str | None = None,
    retries: int = 0,
    retry_delay_s: float = 0.5,
    timeout: float | None = None,
    cache: bool = True,
    resources: Mapping[str, float] | None = None,
    contracts: Mapping[str, str] | None = None,
    outputs: Sequence[str] | None = None,
) -> Callable[[Callable[..., Any]], Step]: ...


def step(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    retries: int = 0,
    retry_delay_s: float = 0.5,
    timeout: float | None = None,
    cache: bool = True,
    resources: Mapping[str, float] | None = None,
    contracts: Mapping[str, str] | None = None,
    outputs: Sequence[str] | None = None,
) -> Step | Callable[[Callable[..., Any]], Step]:
    """Declare a pipeline step: ``@step`` or ``@step(retries=2, timeout=60, resources={"cpu": 2})``."""

    def wrap(f: Callable[..., Any]) -> Step:
        return Step(
            f,
            name=name,
            retries=retries,
            retry_delay_s=retry_delay_s,
            timeout=timeout,
            cache=cache,
            resources=resources,
            contracts=contracts,
            outputs=outputs,
        )

    return wrap(fn) if fn is not None else wrap


class Pipeline:
    """A function that wires steps together; its signature declares the run's typed parameters."""

    def __init__(self, fn: Callable[..., Any], *, name: str | None = None) -> None:
        self.fn = fn
        self.name = name or fn.__name__
        self.signature = inspect.signature(fn)
        self._model: type[pydantic.BaseModel] | None = None
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn
        self.__module__ = fn.__module__
        self.__qualname__ = fn.__qualname__

    @property
    def params_model(self) -> type[pydantic.BaseModel]:
        if self._model is None:
            try:
                hints = typing.get_type_hints(self.fn)
            except Exception:
                hints = {}
            fields: dict[str, Any] = {}
            for pname, param in self.signature.parameters.items():
                if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                    raise PipelineError(
                        f"pipeline {self.name!r} has *{pname}; pipeline parameters must be named",
                        hint="declare each parameter with a name and a type",
                    )
                default = ... if param.default is inspect.Parameter.empty else param.default
                fields[pname] = (hints.get(pname, Any), default)
            self._model = pydantic.create_model(
                f"{self.name}_params",
                __config__=pydantic.ConfigDict(extra="forbid", arbitrary_types_allowed=True),
                **fields,
            )
        return self._model

    @property
    def param_names(self) -> list[str]:
        return list(self.signature.parameters)

    def validate_params(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """Typed, validated parameters; an unknown name lists the valid ones."""
        params = dict(params or {})
        unknown = sorted(set(params) - set(self.signature.parameters))
        if unknown:
            raise InvalidInputError(
                f"pipeline {self.name!r} has no parameter {', '.join(map(repr, unknown))}",
                hint=f"valid parameters: {self._describe_params()}",
            )
        try:
            model = self.params_model.model_validate(params)
        except pydantic.ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or '?'}: {e['msg']} (got {e.get('input')!r:.60})"
                for e in exc.errors()
            )
            raise InvalidInputError(
                f"invalid parameters for pipeline {self.name!r}: {problems}",
                hint=f"parameters: {self._describe_params()}",
            ) from exc
        return {k: getattr(model, k) for k in self.signature.parameters}

    def _describe_params(self) -> str:
        parts = []
        for pname, fld in self.params_model.model_fields.items():
            annotation = getattr(fld.annotation, "__name__", None) or str(fld.annotation)
            default = "" if fld.is_required() else f" = {fld.default!r}"
            parts.append(f"{pname}: {annotation}{default}")
        return ", ".join(parts) or "(none)"

    def build(self, params: Mapping[str, Any] | None = None) -> tuple[Dag, dict[str, Any]]:
        """Validate ``params`` and build the DAG; no step runs. Raises CycleError for a cycle."""
        values = self.validate_params(params)
        dag = Dag(self.name)
        with building(dag):
            dag.result = self.fn(**values)
        if not dag.nodes:
            raise PipelineError(
                f"pipeline {self.name!r} calls no steps",
                hint="decorate the functions it calls with @triops.step",
            )
        dag.order()
        return dag, values

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if BUILDING.get() is not None:  # a pipeline used inside another: inline its steps
            return self.fn(*args, **kwargs)
        raise PipelineError(
            f"pipeline {self.name!r} is not called directly",
            hint="run it with ws.run_pipeline(pipeline, params={...}) or `triops run module:pipeline`",
        )

    def __repr__(self) -> str:
        return f"<pipeline {self.name}>"


@overload
def pipeline(fn: Callable[..., Any], /) -> Pipeline: ...


@overload
def pipeline(*, name: str | None = None) -> Callable[[Callable[..., Any]], Pipeline]: ...


def pipeline(
    fn: Callable[..., Any] | None = None, /, *, name: str | None = None
) -> Pipeline | Callable[[Callable[..., Any]], Pipeline]:
    """Declare a pipeline: ``@pipeline`` or ``@pipeline(name="benefits")``."""

    def wrap(f: Callable[..., Any]) -> Pipeline:
        return Pipeline(f, name=name)

    return wrap(fn) if fn is not None else wrap


__all__ = ["Dag", "Node", "Pipeline", "Resources", "Step", "StepOutput", "pipeline", "step"]
