"""KPI formulas: arithmetic over named store facts, parsed once and evaluated without ``eval``.

A formula is a Python-syntax expression of numbers, fact names (``cost.total``, ``quality.score``), the four
operators, unary minus, parentheses and ``min``/``max``/``abs``. Anything else is refused at parse time with
the offending piece named. A fact that is missing (no records behind it), or a division by zero, makes the
whole value ``None`` ("no data yet"), never zero.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from triops.errors import InvalidInputError

_FUNCTIONS: dict[str, Callable[..., float]] = {"min": min, "max": max, "abs": abs}
_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div)
MAX_FORMULA_LENGTH = 500


@dataclass(frozen=True, slots=True)
class Formula:
    text: str
    tree: ast.expr
    facts: tuple[str, ...]

    def evaluate(self, facts: Mapping[str, float | None]) -> float | None:
        try:
            value = _eval(self.tree, facts)
        except _Missing:
            return None
        return value if value is not None and math.isfinite(value) else None


class _Missing(Exception):
    pass


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _name(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def parse_formula(text: str, where: str = "formula") -> Formula:
    """Parse ``text`` or raise ``InvalidInputError`` naming ``where`` and the unsupported piece."""
    if not text.strip() or len(text) > MAX_FORMULA_LENGTH:
        raise InvalidInputError(f"{where} must be 1-{MAX_FORMULA_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise InvalidInputError(f"{where}: {text!r} is not a valid expression ({exc.msg})") from None
    facts: list[str] = []
    _check(tree, where, facts)
    return Formula(text.strip(), tree, tuple(dict.fromkeys(facts)))


def _check(node: ast.expr, where: str, facts: list[str]) -> None:
    name = _name(node)
    if name is not None:
        if name in _FUNCTIONS:
            raise InvalidInputError(f"{where}: {name} is a function; call it as {name}(a, b)")
        facts.append(name)
        return
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        return
    if isinstance(node, ast.BinOp) and isinstance(node.op, _OPS):
        _check(node.left, where, facts)
        _check(node.right, where, facts)
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        _check(node.operand, where, facts)
        return
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and node.args
        and not node.keywords
    ):
        for arg in node.args:
            _check(arg, where, facts)
        return
    piece = ast.unparse(node)
    raise InvalidInputError(
        f"{where}: {piece!r} is not allowed",
        hint="use numbers, fact names, + - * /, parentheses and min/max/abs",
    )


def _eval(node: ast.expr, facts: Mapping[str, float | None]) -> float:
    name = _name(node)
    if name is not None:
        value = facts.get(name)
        if value is None:
            raise _Missing
        return float(value)
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, int | float)  # _check admitted only numbers
        return float(node.value)
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, facts)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        return float(_FUNCTIONS[node.func.id](*(_eval(a, facts) for a in node.args)))
    assert isinstance(node, ast.BinOp)
    left, right = _eval(node.left, facts), _eval(node.right, facts)
    if isinstance(node.op, ast.Add):
        return left + right
    if isinstance(node.op, ast.Sub):
        return left - right
    if isinstance(node.op, ast.Mult):
        return left * right
    if right == 0:
        raise _Missing
    return left / right


__all__ = ["MAX_FORMULA_LENGTH", "Formula", "parse_formula"]
