"""Authoring pipelines: ``@step`` turns a typed function into a step, ``@pipeline`` turns a function that
calls steps into a DAG builder.

Calling a step inside a pipeline function records a node and returns placeholders (``StepOutput``); no step
runs while the DAG is built. Pipeline parameters are validated with pydantic, from the function's signature,
before anything runs. The runner (``triops.mlops.runner``) executes the resulting ``Dag``.
"""

from __future__ import annotations

import graphlib
import importlib
import inspect
import sys
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

import pydantic

from triops.errors import CycleError, InvalidInputError, PipelineError

RESOURCE_KEYS = ("cpu", "memory_gb", "gpu")


@dataclass(frozen=True, slots=True)
class Resources:
    """What a step asks the executor for: CPU cores, memory in GiB, GPUs."""

    cpu: float = 1.0
    memory_gb: float = 1.0
    gpu: float = 0.0

    @classmethod
    def from_mapping(cls, values: Mapping[str, float] | None, step: str) -> Resources:
        values = dict(values or {})
        unknown = sorted(set(values) - set(RESOURCE_KEYS))
        if unknown:
            raise InvalidInputError(
                f"step {step!r} requests unknown resources {unknown}",
                hint=f"valid keys: {', '.join(RESOURCE_KEYS)}",
            )
        for key, value in values.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise InvalidInputError(
                    f"step {step!r} requests {key}={value!r}", hint="resources are numbers ≥ 0"
                )
        return cls(**{k: float(v) for k, v in values.items()})

    def to_dict(self) -> dict[str, float]:
        return {"cpu": self.cpu, "memory_gb": self.memory_gb, "gpu": self.gpu}


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
        return self._declared_outputs is not None or _tuple_arity(self.return_type) is not None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        builder = _BUILDING.get()
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


@dataclass(frozen=True, slots=True, eq=False)
class StepOutput:
    """A placeholder for one output of a node: it has no value while the DAG is built."""

    dag: Dag
    node: str
    output: str

    def after(self, *others: StepOutput) -> StepOutput:
        """Run this output's step after ``others`` even if it does not consume them."""
        for other in others:
            self.dag.add_edge(other.node, self.node)
        return self

    def __bool__(self) -> bool:
        raise PipelineError(
            f"the output of step {self.node!r} has no value while the pipeline is being built",
            hint="pipeline functions only wire steps together; put the condition inside a step",
        )

    def __iter__(self) -> Iterator[Any]:
        raise PipelineError(
            f"step {self.node!r} has a single output and cannot be unpacked",
            hint="annotate its return as a fixed tuple (e.g. -> tuple[A, B]) or pass outputs=[...] to @step",
        )

    def __repr__(self) -> str:
        return f"<output {self.node}.{self.output}>"


@dataclass(slots=True)
class Node:
    """One call of a step in the DAG: literal arguments and placeholders for upstream outputs."""

    name: str
    step: Step
    literals: dict[str, Any]
    inputs: dict[str, StepOutput]
    after: set[str] = field(default_factory=set)

    @property
    def upstream(self) -> set[str]:
        return {o.node for o in self.inputs.values()} | self.after


class Dag:
    """The nodes a pipeline function built, in call order, with their dependencies."""

    def __init__(self, pipeline: str) -> None:
        self.pipeline = pipeline
        self.nodes: dict[str, Node] = {}
        self.result: Any = None
        self._calls: dict[str, int] = {}

    def add(self, step_: Step, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            bound = step_.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise PipelineError(
                f"step {step_.name!r} called with wrong arguments: {exc}",
                hint=f"its signature is {step_.name}{step_.signature}",
            ) from exc
        bound.apply_defaults()
        literals: dict[str, Any] = {}
        inputs: dict[str, StepOutput] = {}
        for key, value in bound.arguments.items():
            if isinstance(value, StepOutput):
                inputs[key] = value
            elif _contains_placeholder(value):
                raise PipelineError(
                    f"step {step_.name!r}: argument {key!r} nests step outputs inside a container",
                    hint="pass each step output as its own argument",
                )
            else:
                literals[key] = value
        name = step_.name
        if name in self.nodes:
            count = self._calls.get(step_.name, 1)
            while name in self.nodes:
                count += 1
                name = f"{step_.name}_{count}"
            self._calls[step_.name] = count
        self.nodes[name] = Node(name, step_, literals, inputs)
        outs = tuple(StepOutput(self, name, out) for out in step_.output_names)
        return outs if step_.multiple_outputs else outs[0]

    def add_edge(self, before: str, after: str) -> None:
        for name in (before, after):
            if name not in self.nodes:
                raise PipelineError(
                    f"no step {name!r} in pipeline {self.pipeline!r}", hint=self._names_hint()
                )
        self.nodes[after].after.add(before)

    def _names_hint(self) -> str:
        return f"steps: {', '.join(self.nodes) or '(none)'}"

    def order(self) -> list[str]:
        """Step names in a valid execution order (call order among independent steps)."""
        position = {n: i for i, n in enumerate(self.nodes)}
        sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
        for name, node in self.nodes.items():
            sorter.add(name, *sorted(node.upstream, key=position.__getitem__))
        try:
            order = list(sorter.static_order())
        except graphlib.CycleError as exc:
            cycle = list(exc.args[1])
            raise CycleError(
                f"pipeline {self.pipeline!r} has a cycle: {' -> '.join(cycle)}",
                hint="remove one of these dependencies (check .after(...) calls)",
                detail={"cycle": cycle},
            ) from exc
        depth: dict[str, int] = {}
        for n in order:
            depth[n] = 1 + max((depth[u] for u in self.nodes[n].upstream), default=-1)
        return sorted(order, key=lambda n: (depth[n], position[n]))

    def downstream(self, name: str) -> set[str]:
        """Every node that depends, directly or not, on ``name``."""
        children: dict[str, set[str]] = {n: set() for n in self.nodes}
        for n, node in self.nodes.items():
            for u in node.upstream:
                children[u].add(n)
        found: set[str] = set()
        stack = [name]
        while stack:
            for child in children[stack.pop()]:
                if child not in found:
                    found.add(child)
                    stack.append(child)
        return found


def _contains_placeholder(value: Any) -> bool:
    if isinstance(value, StepOutput):
        return True
    if isinstance(value, list | tuple | set | frozenset):
        return any(_contains_placeholder(v) for v in value)
    if isinstance(value, dict):
        return any(_contains_placeholder(v) for v in value.values())
    return False


_BUILDING: ContextVar[Dag | None] = ContextVar("triops_building_dag", default=None)


@contextmanager
def _building(dag: Dag) -> Iterator[Dag]:
    token = _BUILDING.set(dag)
    try:
        yield dag
    finally:
        _BUILDING.reset(token)


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
        with _building(dag):
            dag.result = self.fn(**values)
        if not dag.nodes:
            raise PipelineError(
                f"pipeline {self.name!r} calls no steps",
                hint="decorate the functions it calls with @triops.step",
            )
        dag.order()
        return dag, values

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _BUILDING.get() is not None:  # a pipeline used inside another: inline its steps
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


def target_of(obj: Pipeline | Step | Callable[..., Any]) -> str:
    """``module:qualname`` naming where ``obj`` is defined (what ``load_target`` takes back)."""
    module = sys.modules.get(obj.__module__)
    qualname = obj.__qualname__
    if obj.__module__ == "__main__" and module is not None and getattr(module, "__file__", None):
        return f"{module.__file__}:{qualname}"
    return f"{obj.__module__}:{qualname}"


def load_target(target: str) -> Pipeline:
    """Import ``path/to/file.py:name`` or ``package.module:name`` and return the pipeline it names."""
    location, sep, attr = target.rpartition(":")
    if not sep or not location or not attr:
        raise InvalidInputError(
            f"pipeline target {target!r} is not of the form module:name",
            hint="e.g. `triops run pipelines/train.py:train` or `triops run mypkg.flows:train`",
        )
    module = import_location(location)
    obj: Any = module
    for part in attr.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            names = sorted(n for n, v in vars(module).items() if isinstance(v, Pipeline))
            raise InvalidInputError(
                f"{location} has no {attr!r}", hint=f"pipelines there: {', '.join(names) or '(none)'}"
            )
    if not isinstance(obj, Pipeline):
        raise InvalidInputError(
            f"{target} is a {type(obj).__name__}, not a pipeline", hint="decorate it with @pipeline"
        )
    return obj


def import_location(location: str, module_file: str | None = None) -> types.ModuleType:
    """Import a module by name or by file path. A file's directory is put on ``sys.path`` so that worker
    processes can import the same module by name."""
    looks_like_path = location.endswith(".py") or "/" in location or "\\" in location
    if looks_like_path:
        path = Path(location)
        if not path.is_file():
            raise InvalidInputError(f"pipeline file {location} does not exist", hint="check the path")
        directory = str(path.resolve().parent)
        if directory not in sys.path:
            sys.path.insert(0, directory)
        location = path.stem
    try:
        return importlib.import_module(location)
    except ModuleNotFoundError as exc:
        if module_file and Path(module_file).is_file():
            return import_location(module_file)
        raise InvalidInputError(
            f"cannot import module {location!r}: {exc}",
            hint="give a file path (pipelines/train.py:name) or make the module importable",
        ) from exc


__all__ = [
    "Dag",
    "Node",
    "Pipeline",
    "Resources",
    "Step",
    "StepOutput",
    "import_location",
    "load_target",
    "pipeline",
    "step",
    "target_of",
]
