"""The run-search filter language: a tokenizer, a recursive-descent parser and a reference evaluator.

Grammar (keywords are case-insensitive)::

    filter      := or_expr
    or_expr     := and_expr ("or" and_expr)*
    and_expr    := not_expr ("and" not_expr)*
    not_expr    := "not" not_expr | "(" or_expr ")" | comparison
    comparison  := field op value
                 | field ["not"] "in" "(" value ("," value)* ")"
                 | field "is" ["not"] "null"
    field       := ("metrics" | "params" | "tags") "." key  |  attribute  |  "attributes." attribute
    key         := name ("." name)*  |  `any text`  |  "any text"
    op          := "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">=" | "like" | "ilike"
    value       := number | 'text' | "text"          (quotes are doubled to escape: 'it''s')
    attribute   := status | name | kind | user | id | parent_id | start_time | end_time   (times in unix ms)

The tokens, the tree's node types, the names the language knows and its limits (length, depth, comparisons,
``in`` values, ordering keys) are in ``triops.domain.filter_syntax``; they are exported from here too.

The parser produces a tree of frozen nodes; it never builds SQL. The store compiles the tree into bound
SQLAlchemy expressions, and ``evaluate`` gives the same answer in Python (the property tests check both agree).
A comparison with a missing key, or against a NaN metric, is false.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from triops.domain.filter_syntax import (
    ATTRIBUTES,
    ENTITY_PREFIXES,
    KEYWORDS,
    MAX_FILTER_COMPARISONS,
    MAX_FILTER_DEPTH,
    MAX_FILTER_LENGTH,
    MAX_IN_VALUES,
    MAX_ORDER_KEYS,
    NUMERIC_ATTRIBUTES,
    OP_ALIASES,
    BoolOp,
    Comparison,
    Field,
    Node,
    Not,
    Token,
    tokenize,
    unquote,
)
from triops.errors import FilterSyntaxError, InvalidInputError


class _Parser:
    def __init__(self, text: str) -> None:
        if len(text) > MAX_FILTER_LENGTH:
            raise FilterSyntaxError(
                f"the filter is {len(text):,} characters; the limit is {MAX_FILTER_LENGTH:,}",
                column=MAX_FILTER_LENGTH + 1,
                text=text[:200],
                hint="search with a shorter filter (use 'in (…)' for lists of values)",
            )
        self.text = text
        self.toks = tokenize(text)
        self.i = 0
        self.depth = 0
        self.comparisons = 0

    def peek(self) -> Token:
        return self.toks[self.i]

    def take(self) -> Token:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def is_word(self, word: str) -> bool:
        tok = self.peek()
        return tok.kind == "word" and tok.text.lower() == word

    def fail(self, message: str, tok: Token | None = None) -> FilterSyntaxError:
        tok = tok or self.peek()
        found = "end of filter" if tok.kind == "end" else repr(tok.text)
        return FilterSyntaxError(f"{message}, found {found}", column=tok.col, text=self.text)

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise self.fail("expected a comparison such as metrics.auc > 0.8")
        node = self.or_expr()
        if self.peek().kind != "end":
            raise self.fail("expected 'and', 'or' or the end of the filter")
        return node

    def or_expr(self) -> Node:
        items = [self.and_expr()]
        while self.is_word("or"):
            self.take()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def and_expr(self) -> Node:
        items = [self.not_expr()]
        while self.is_word("and"):
            self.take()
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def nest(self, tok: Token) -> None:
        self.depth += 1
        if self.depth > MAX_FILTER_DEPTH:
            raise FilterSyntaxError(
                f"the filter nests deeper than {MAX_FILTER_DEPTH} levels of parentheses and 'not'",
                column=tok.col,
                text=self.text[:200],
                hint="write the condition with fewer levels",
            )

    def not_expr(self) -> Node:
        if self.is_word("not"):
            self.nest(self.take())
            node: Node = Not(self.not_expr())
            self.depth -= 1
            return node
        if self.peek().text == "(":
            self.nest(self.take())
            node = self.or_expr()
            if self.peek().text != ")":
                raise self.fail("expected ')'")
            self.take()
            self.depth -= 1
            return node
        return self.comparison()

    def field(self) -> Field:
        tok = self.take()
        if tok.kind != "word" or tok.text.lower() in KEYWORDS:
            raise self.fail("expected a field such as metrics.auc, params.model, tags.team or status", tok)
        head = tok.text.lower()
        if head in ENTITY_PREFIXES or head in ("attributes", "attribute", "attr", "run"):
            if self.peek().text != ".":
                raise self.fail(f"expected '.' and a key after {tok.text!r}")
            self.take()
            key = self.key()
            if head in ENTITY_PREFIXES:
                return Field(ENTITY_PREFIXES[head], key)
            return self.attribute(key, tok)
        return self.attribute(tok.text, tok)

    def attribute(self, name: str, tok: Token) -> Field:
        if name.lower() not in ATTRIBUTES:
            raise FilterSyntaxError(
                f"unknown field {name!r}",
                column=tok.col,
                text=self.text,
                hint=f"use metrics.KEY, params.KEY, tags.KEY or one of: {', '.join(ATTRIBUTES)}",
            )
        return Field("attribute", name.lower())

    def key(self) -> str:
        tok = self.take()
        if tok.kind in ("backtick", "string"):
            key = unquote(tok)
            if not key:
                raise self.fail("expected a non-empty key", tok)
            return key
        if tok.kind != "word":
            raise self.fail("expected a key name", tok)
        parts = [tok.text]
        while self.peek().text == "." and self.toks[self.i + 1].kind == "word":
            self.take()
            parts.append(self.take().text)
        return ".".join(parts)

    def value(self, field: Field) -> float | str:
        tok = self.take()
        numeric = field.entity == "metric" or field.key in NUMERIC_ATTRIBUTES
        if tok.kind == "number":
            # params, tags and text attributes hold text: a bare number means its own spelling
            return float(tok.text) if numeric else tok.text
        if tok.kind == "string":
            if numeric:
                raise self.fail(f"{field.key!r} holds numbers; compare it with a number", tok)
            return unquote(tok)
        raise self.fail("expected a number or a quoted string", tok)

    def comparison(self) -> Comparison:
        self.comparisons += 1
        if self.comparisons > MAX_FILTER_COMPARISONS:
            raise FilterSyntaxError(
                f"the filter has more than {MAX_FILTER_COMPARISONS} comparisons",
                column=self.peek().col,
                text=self.text[:200],
                hint="use 'in (…)' for lists of values, or split the search",
            )
        field = self.field()
        tok = self.peek()
        if self.is_word("is"):
            self.take()
            negate = self.is_word("not")
            if negate:
                self.take()
            if not self.is_word("null"):
                raise self.fail("expected 'null' after 'is'")
            self.take()
            return Comparison(field, "is not null" if negate else "is null")
        if self.is_word("not") or self.is_word("in"):
            negate = self.is_word("not")
            if negate:
                self.take()
                if not self.is_word("in"):
                    raise self.fail("expected 'in' after 'not'")
            self.take()
            if self.peek().text != "(":
                raise self.fail("expected '(' to start the list")
            self.take()
            values = [self.value(field)]
            while self.peek().text == ",":
                self.take()
                values.append(self.value(field))
                if len(values) > MAX_IN_VALUES:
                    raise self.fail(f"an 'in' list holds at most {MAX_IN_VALUES:,} values")
            if self.peek().text != ")":
                raise self.fail("expected ',' or ')' in the list")
            self.take()
            return Comparison(field, "not in" if negate else "in", tuple(values))
        if tok.kind == "op" or (tok.kind == "word" and tok.text.lower() in ("like", "ilike")):
            self.take()
            op = OP_ALIASES.get(tok.text.lower(), tok.text.lower())
            if op in ("like", "ilike") and (field.entity == "metric" or field.key in NUMERIC_ATTRIBUTES):
                raise self.fail(f"{op} works on text; {field.key!r} holds numbers", tok)
            value = self.value(field)
            return Comparison(field, op, value)
        raise self.fail("expected a comparison operator (=, !=, <, <=, >, >=, like, ilike, in, is null)")


def parse_filter(text: str) -> Node | None:
    """Parse a filter; an empty or blank filter means "all runs" and gives None."""
    if not isinstance(text, str):
        raise FilterSyntaxError(f"a filter is text, not {type(text).__name__}", column=1, text=str(text))
    if not text.strip():
        return None
    return _Parser(text).parse()


def like_to_regex(pattern: str, case_insensitive: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.DOTALL | (re.IGNORECASE if case_insensitive else 0))


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if isinstance(actual, float) and math.isnan(actual):
        return False
    if op in ("like", "ilike"):
        return bool(like_to_regex(str(expected), op == "ilike").match(str(actual)))
    match op:
        case "=":
            return bool(actual == expected)
        case "!=":
            return bool(actual != expected)
        case "<":
            return bool(actual < expected)
        case "<=":
            return bool(actual <= expected)
        case ">":
            return bool(actual > expected)
        case ">=":
            return bool(actual >= expected)
    raise ValueError(op)  # pragma: no cover


def evaluate(node: Node | None, record: dict[str, dict[str, Any]]) -> bool:
    """The reference meaning of a filter over ``{"metric": {...}, "param": {...}, "tag": {...},
    "attribute": {...}}``; the SQL compiler must agree with it."""
    if node is None:
        return True
    if isinstance(node, BoolOp):
        results = (evaluate(item, record) for item in node.items)
        return all(results) if node.op == "and" else any(results)
    if isinstance(node, Not):
        return not evaluate(node.item, record)
    values = record.get(node.field.entity, {})
    present = node.field.key in values and values[node.field.key] is not None
    if node.op == "is null":
        return not present
    if node.op == "is not null":
        return present
    if not present:
        return False
    actual = values[node.field.key]
    if node.op == "in":
        return any(_compare(actual, "=", v) for v in node.value)
    if node.op == "not in":
        if isinstance(actual, float) and math.isnan(actual):
            return False
        return not any(_compare(actual, "=", v) for v in node.value)
    return _compare(actual, node.op, node.value)


@dataclass(frozen=True, slots=True)
class OrderBy:
    field: Field
    descending: bool


def parse_order_by(text: str) -> OrderBy:
    """``metrics.auc desc``, ``start_time``, ``params.model asc``."""
    parser = _Parser(text)
    if parser.peek().kind == "end":
        raise parser.fail("expected a field to order by")
    field = parser.field()
    descending = False
    if parser.is_word("desc") or parser.is_word("asc"):
        descending = parser.take().text.lower() == "desc"
    if parser.peek().kind != "end":
        raise parser.fail("expected 'asc', 'desc' or the end of the ordering")
    return OrderBy(field, descending)


def parse_orderings(keys: Sequence[str]) -> list[OrderBy]:
    """Every ordering key of a search, at most ``MAX_ORDER_KEYS`` of them."""
    if len(keys) > MAX_ORDER_KEYS:
        raise InvalidInputError(
            f"order_by has {len(keys):,} keys; the limit is {MAX_ORDER_KEYS}",
            hint="order by fewer keys",
        )
    return [parse_order_by(key) for key in keys]


def _render_value(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    return "'" + text.replace("'", "''") + "'"


def _render_field(field: Field) -> str:
    if field.entity == "attribute":
        return field.key
    prefix = {"metric": "metrics", "param": "params", "tag": "tags"}[field.entity]
    return f"{prefix}.`{field.key}`"


def render(node: Node) -> str:
    """Canonical text of a parsed filter; ``parse_filter(render(n)) == n``."""
    if isinstance(node, BoolOp):
        return "(" + f" {node.op} ".join(render(item) for item in node.items) + ")"
    if isinstance(node, Not):
        return f"not {render(node.item)}"
    field = _render_field(node.field)
    if node.op in ("is null", "is not null"):
        return f"{field} {node.op}"
    if node.op in ("in", "not in"):
        return f"{field} {node.op} (" + ", ".join(_render_value(v) for v in node.value) + ")"
    return f"{field} {node.op} {_render_value(node.value)}"


__all__ = [
    "ATTRIBUTES",
    "ENTITY_PREFIXES",
    "MAX_FILTER_COMPARISONS",
    "MAX_FILTER_DEPTH",
    "MAX_FILTER_LENGTH",
    "MAX_IN_VALUES",
    "MAX_ORDER_KEYS",
    "NUMERIC_ATTRIBUTES",
    "BoolOp",
    "Comparison",
    "Field",
    "Node",
    "Not",
    "OrderBy",
    "evaluate",
    "like_to_regex",
    "parse_filter",
    "parse_order_by",
    "parse_orderings",
    "render",
]
