"""How policy rules run: in cel-python's interpreter, within bounds, so a rule cannot make a gate run for
seconds or build huge values.

At compile time (``parse_policies``, so at ``policy add`` and ``policy check``) a rule's parse tree is
measured: at most ``MAX_NODES`` nodes and ``MAX_DEPTH`` levels, and an estimated cost of at most
``MAX_COST`` node visits. The estimate multiplies the body of each comprehension (``map``, ``filter``,
``all``, ``exists``, ``exists_one``) by the size of its range: the number of items of a list or map
literal, else ``ASSUMED_ITEMS`` (facts are small maps). Nested ``map`` calls over ten-item lists cost ten
times more per level: three levels are refused before they run.

At evaluation every node visited counts against ``MAX_STEPS`` and a wall-clock limit (``TIME_LIMIT_S`` per
rule); past either the rule stops and fails closed with the limit it hit as its reason.

``fact_paths``/``unknown_facts`` name the facts a rule reads that are not known, for the reason a rule on a
missing fact gives ("fact cost_per_1k_predictions is not known (null)").
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Mapping
from typing import Any

MAX_NODES = 3000
MAX_DEPTH = 200
MAX_COST = 20_000
ASSUMED_ITEMS = 20
MAX_STEPS = 200_000
TIME_LIMIT_S = 0.5
MACROS = frozenset({"map", "filter", "all", "exists", "exists_one"})


class RuleLimitError(BaseException):
    """A rule ran past its step or time budget. A BaseException so that cel-python's evaluator, which turns
    ``Exception``s into CEL error values, cannot swallow it."""


def _children(node: Any) -> list[Any]:
    return [c for c in getattr(node, "children", ()) if hasattr(c, "data")]


def _shape(tree: Any) -> tuple[int, int]:
    """(node count, depth) without recursion."""
    count, deepest = 0, 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in _children(node))
    return count, deepest


def _literal_items(node: Any) -> int | None:
    """How many items a list or map literal range has (None: not a literal)."""
    while hasattr(node, "data") and node.data in ("member", "primary") and len(_children(node)) == 1:
        node = _children(node)[0]
    if not hasattr(node, "data") or node.data not in ("list_lit", "map_lit"):
        return None
    items = _children(node)
    if not items:
        return 0
    inner = _children(items[0])
    return len(inner) // (2 if node.data == "map_lit" else 1)


def _macro(node: Any) -> str | None:
    if node.data != "member_dot_arg" or len(node.children) < 3:
        return None
    name = str(node.children[1])
    return name if name in MACROS else None


def estimate_cost(tree: Any) -> int:
    """Estimated node visits of one evaluation (see the module docstring); the tree's depth must be
    bounded first (``check_rule``)."""
    if not hasattr(tree, "data"):
        return 0
    if _macro(tree) is not None:
        target, _, args = tree.children[0], tree.children[1], tree.children[2]
        items = _literal_items(target)
        n = ASSUMED_ITEMS if items is None else items
        body = sum(estimate_cost(c) for c in _children(args)[1:])
        return 1 + estimate_cost(target) + n * (body + 2)
    return 1 + sum(estimate_cost(c) for c in _children(tree))


def check_rule(tree: Any) -> str | None:
    """Why a compiled rule is refused (too large, too deep, too costly), or None if it is within bounds."""
    nodes, depth = _shape(tree)
    if nodes > MAX_NODES:
        return f"the rule has {nodes} parse nodes; the limit is {MAX_NODES}"
    if depth > MAX_DEPTH:
        return f"the rule is nested {depth} levels deep; the limit is {MAX_DEPTH}"
    cost = estimate_cost(tree)
    if cost > MAX_COST:
        return (
            f"the rule's estimated cost is {cost:,} steps, over the limit of {MAX_COST:,} "
            "(nested map/filter/all/exists calls multiply: flatten them or compare facts directly)"
        )
    return None


class _Budget:
    def __init__(self, max_steps: int, time_limit_s: float) -> None:
        self.steps = 0
        self.max_steps = max_steps
        self.time_limit_s = time_limit_s
        self.deadline = time.perf_counter() + time_limit_s

    def step(self) -> None:
        self.steps += 1
        if self.steps > self.max_steps:
            raise RuleLimitError(f"the rule ran past {self.max_steps:,} evaluation steps")
        if self.steps % 32 == 0 and time.perf_counter() > self.deadline:
            raise RuleLimitError(f"the rule ran longer than {self.time_limit_s:g} s")


def evaluate_bounded(
    ast: Any,
    runner: Any,
    activation: Mapping[str, Any],
    *,
    max_steps: int = MAX_STEPS,
    time_limit_s: float = TIME_LIMIT_S,
) -> Any:
    """Evaluate a compiled rule as cel-python's interpreted runner does, counting every node visited;
    raises ``RuleLimitError`` past the budget."""
    import celpy.evaluation

    budget = _Budget(max_steps, time_limit_s)

    class Bounded(celpy.evaluation.Evaluator):
        def sub_evaluator(self, ast: Any) -> celpy.evaluation.Evaluator:
            return Bounded(ast, activation=self.activation)

        def _visit_tree(self, tree: Any) -> Any:
            budget.step()
            return super()._visit_tree(tree)

    return Bounded(ast, activation=runner.new_activation()).evaluate(dict(activation))


def fact_paths(tree: Any) -> list[str]:
    """The dotted fact names a rule reads (``fairness.max_gap``, ``cost_per_1k_predictions``), in order."""
    out: list[str] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if not hasattr(node, "data"):
            continue
        path = _path(node) if node.data in ("member_dot", "primary") else None
        if path is not None:
            out.append(path)
            continue
        stack.extend(reversed(node.children))
    return list(dict.fromkeys(out))


def _path(node: Any) -> str | None:
    if node.data == "primary":
        kids = node.children
        if len(kids) == 1 and hasattr(kids[0], "data") and kids[0].data == "ident":
            return str(kids[0].children[0])
        return None
    inner = node.children[0]
    while hasattr(inner, "data") and inner.data == "member" and len(inner.children) == 1:
        inner = inner.children[0]
    head = _path(inner) if hasattr(inner, "data") and inner.data in ("member_dot", "primary") else None
    return None if head is None else f"{head}.{node.children[1]}"


def unknown_facts(paths: list[str], facts: Mapping[str, Any]) -> list[str]:
    """The paths among ``paths`` that name a fact (their first part is a fact) whose value is null or
    absent, shortest prefix first (``intervals.auc`` rather than ``intervals.auc.low``)."""
    out: list[str] = []
    for path in paths:
        parts = path.split(".")
        if parts[0] not in facts:
            continue  # a comprehension's variable, not a fact
        value: Any = facts
        for i, part in enumerate(parts):
            if not isinstance(value, Mapping) or value.get(part) is None:
                out.append(".".join(parts[: i + 1]))
                break
            value = value[part]
    return list(dict.fromkeys(out))


def _refuse_regex(*_args: Any) -> Any:
    import celpy.evaluation

    return celpy.evaluation.CELEvalError("regular expressions (matches) are disabled in policy rules")


def _short(exc: BaseException) -> str:
    text = str(exc.args[0]) if exc.args else type(exc).__name__
    if "NoneType" in text:
        return "a fact the rule reads is null (not known)"
    return text.split(" (in activation", 1)[0][:300]


# one CEL environment and one compiled program per rule text for the process: building the environment (its
# parser) and compiling a rule took tens of milliseconds on every gate check
_COMPILE_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def _environment() -> Any:
    import celpy

    return celpy.Environment()  # interpreted: the AST is walked, never compiled to Python


@functools.lru_cache(maxsize=1024)
def _compiled(expr: str) -> tuple[Any, str | None, Any]:
    """(parse tree, why it is refused or None, program) of a rule text; a rule that does not parse raises."""
    env = _environment()
    with _COMPILE_LOCK:  # the parser is shared; a compiled program is evaluated concurrently
        ast = env.compile(expr)
    refused = check_rule(ast)  # a rule stored before the bounds existed is held to them too
    program = None if refused is not None else env.program(ast, functions={"matches": _refuse_regex})
    return ast, refused, program


class RuleEvaluator:
    """Runs rules over one set of facts, each within the step and time budget of ``cel_bounds``."""

    def __init__(self, facts: dict[str, Any], time_limit_s: float | None = None) -> None:
        import celpy
        import celpy.adapter
        import celpy.evaluation

        self._celpy = celpy
        self._facts = facts
        self._time_limit_s = time_limit_s
        self._activation = {name: celpy.adapter.json_to_cel(value) for name, value in facts.items()}
        self.unknown: list[str] = []  # the facts the last rule read that are not known

    def run(self, expr: str) -> tuple[bool | None, str | None]:
        """(value, error): the boolean result, or None and why it could not be had. ``unknown`` then
        names the facts the rule reads that are not known (a rule false only for want of them says so)."""
        celpy = self._celpy
        ast = None
        self.unknown = []
        try:
            ast, refused, program = _compiled(expr)
            self.unknown = unknown_facts(fact_paths(ast), self._facts)
            if refused is not None:
                return None, refused
            limit = TIME_LIMIT_S if self._time_limit_s is None else self._time_limit_s
            value = evaluate_bounded(ast, program, self._activation, time_limit_s=limit)
        except RuleLimitError as exc:
            return None, str(exc)
        except celpy.evaluation.CELEvalError as exc:
            return None, self._why(ast, exc)
        except Exception as exc:  # a rule must never crash the gate; it fails closed
            return None, f"{type(exc).__name__}: {self._why(ast, exc)}"
        if isinstance(value, celpy.celtypes.BoolType):
            return bool(value), None
        return None, f"the rule gave {type(value).__name__} {value!s:.60}, not true or false"

    def unknown_text(self) -> str | None:
        """``fact X is not known (null)`` for the last rule's unknown facts, or None."""
        if not self.unknown:
            return None
        names = ", ".join(self.unknown)
        return f"fact {names} {'is' if len(self.unknown) == 1 else 'are'} not known (null)"

    def _why(self, ast: Any, exc: BaseException) -> str:
        """The error, naming the facts the rule reads that are not known (the usual cause)."""
        return self.unknown_text() or _short(exc)


__all__ = [
    "MAX_COST",
    "MAX_STEPS",
    "TIME_LIMIT_S",
    "RuleEvaluator",
    "RuleLimitError",
    "check_rule",
    "estimate_cost",
    "evaluate_bounded",
    "fact_paths",
    "unknown_facts",
]
