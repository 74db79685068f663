"""The DAG a pipeline function builds: nodes (one per step call), placeholders for their outputs, and the
context that makes a step call inside a pipeline function record a node instead of running."""

from __future__ import annotations

import graphlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from triops.errors import CycleError, PipelineError

if TYPE_CHECKING:
    from triops.mlops.pipelines.authoring import Step


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
        self._order: tuple[tuple[int, int], tuple[str, ...]] | None = None  # (shape it was made for, order)

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
        """Step names in a valid execution order (call order among independent steps): by depth (longest
        chain of upstream steps), then call order. Worked out once per DAG state (a run asks at build time
        and again when it starts), in one pass over the edges."""
        key = (len(self.nodes), sum(len(n.after) for n in self.nodes.values()))
        if self._order is not None and self._order[0] == key:
            return list(self._order[1])
        position = {n: i for i, n in enumerate(self.nodes)}
        upstream = {name: node.upstream for name, node in self.nodes.items()}  # a new set per read
        children: dict[str, list[str]] = {n: [] for n in self.nodes}
        waiting: dict[str, int] = {}
        for name, ups in upstream.items():
            waiting[name] = len(ups)
            for u in ups:
                children[u].append(name)
        depth: dict[str, int] = {}
        ready = [n for n, count in waiting.items() if count == 0]
        for n in ready:  # grows while it is walked (Kahn's algorithm)
            depth[n] = 1 + max((depth[u] for u in upstream[n]), default=-1)
            for child in children[n]:
                waiting[child] -= 1
                if waiting[child] == 0:
                    ready.append(child)
        if len(depth) < len(self.nodes):
            self._raise_cycle(upstream, position)
        order = sorted(depth, key=lambda n: (depth[n], position[n]))
        self._order = (key, tuple(order))
        return order

    def _raise_cycle(self, upstream: dict[str, set[str]], position: dict[str, int]) -> None:
        sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
        for name, ups in upstream.items():
            sorter.add(name, *sorted(ups, key=position.__getitem__))
        try:
            sorter.prepare()
        except graphlib.CycleError as exc:
            cycle = list(exc.args[1])
            raise CycleError(
                f"pipeline {self.pipeline!r} has a cycle: {' -> '.join(cycle)}",
                hint="remove one of these dependencies (check .after(...) calls)",
                detail={"cycle": cycle},
            ) from exc

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


BUILDING: ContextVar[Dag | None] = ContextVar("triops_building_dag", default=None)


@contextmanager
def building(dag: Dag) -> Iterator[Dag]:
    token = BUILDING.set(dag)
    try:
        yield dag
    finally:
        BUILDING.reset(token)


__all__ = ["BUILDING", "Dag", "Node", "StepOutput", "building"]
