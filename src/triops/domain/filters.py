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

Limits, so that no filter can exhaust the parser, the SQL compiler or the database (each refused with an
``InvalidInputError`` naming the limit): ``MAX_FILTER_LENGTH`` characters, ``MAX_FILTER_DEPTH`` levels of
parentheses and ``not``, ``MAX_FILTER_COMPARISONS`` comparisons, ``MAX_IN_VALUES`` values in one ``in`` list
and ``MAX_ORDER_KEYS`` ordering keys.

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

from triops.errors import FilterSyntaxError, InvalidInputError

ENTITY_PREFIXES = {
    "metrics": "metric",
    "metric": "metric",
    "params": "param",
    "param": "param",
    "tags": "tag",
    "tag": "tag",
}
ATTRIBUTES = ("status", "name", "kind", "user", "id", "parent_id", "start_time", "end_time")
NUMERIC_ATTRIBUTES = ("start_time", "end_time")
COMPARISON_OPS = ("=", "!=", "<", "<=", ">", ">=", "like", "ilike")
_OP_ALIASES = {"==": "=", "<>": "!="}
_KEYWORDS = {"and", "or", "not", "in", "is", "null", "like", "ilike"}
MAX_FILTER_LENGTH = 10_000
MAX_FILTER_DEPTH = 50
MAX_FILTER_COMPARISONS = 200
MAX_IN_VALUES = 1_000
MAX_ORDER_KEYS = 20

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![A-Za-z_]))
      | (?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
      | (?P<backtick>`[^`]*`)
      | (?P<op><=|>=|!=|<>|==|=|<|>)
      | (?P<punct>[(),.])
      | (?P<word>[A-Za-z_][A-Za-z0-9_\-:/]*)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Field:
    entity: str  # "metric" | "param" | "tag" | "attribute"
    key: str


@dataclass(frozen=True, slots=True)
class Comparison:
    field: Field
    op: str  # one of COMPARISON_OPS, "in", "not in", "is null", "is not null"
    value: Any = None  # float | str | tuple of those | None


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: str  # "and" | "or"
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Node


Node = Comparison | BoolOp | Not


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str
    text: str
    col: int  # 1-based column of the token's first character


def _tokenize(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise FilterSyntaxError(f"unexpected character {text[pos]!r}", column=pos + 1, text=text)
        kind = match.lastgroup or ""
        if kind != "ws":
            out.append(_Tok(kind, match.group(), pos + 1))
        pos = match.end()
    out.append(_Tok("end", "", len(text) + 1))
    return out


def _unquote(token: _Tok) -> str:
    body = token.text[1:-1]
    if token.kind == "string":
        quote = token.text[0]
        return body.replace(quote * 2, quote)
    return body


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
        self.toks = _tokenize(text)
        self.i = 0
        self.depth = 0
        self.comparisons = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def is_word(self, word: str) -> bool:
        tok = self.peek()
        return tok.kind == "word" and tok.text.lower() == word

    def fail(self, message: str, tok: _Tok | None = None) -> FilterSyntaxError:
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

    def nest(self, tok: _Tok) -> None:
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
        if tok.kind != "word" or tok.text.lower() in _KEYWORDS:
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

    def attribute(self, name: str, tok: _Tok) -> Field:
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
            key = _unquote(tok)
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
            return _unquote(tok)
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
            op = _OP_ALIASES.get(tok.text.lower(), tok.text.lower())
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
