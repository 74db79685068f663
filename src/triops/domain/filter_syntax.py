"""The words of the run-search filter language (``triops.domain.filters``): its tokens, the frozen tree
the parser builds (``Field``, ``Comparison``, ``BoolOp``, ``Not``), the names it knows and its limits.

Limits, so that no filter can exhaust the parser, the SQL compiler or the database (each refused with an
``InvalidInputError`` naming the limit): ``MAX_FILTER_LENGTH`` characters, ``MAX_FILTER_DEPTH`` levels of
parentheses and ``not``, ``MAX_FILTER_COMPARISONS`` comparisons, ``MAX_IN_VALUES`` values in one ``in`` list
and ``MAX_ORDER_KEYS`` ordering keys.

The store compiles the tree into bound SQLAlchemy expressions (``store.repositories.search``);
``filters.evaluate`` gives the same answer in Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from triops.errors import FilterSyntaxError

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
OP_ALIASES = {"==": "=", "<>": "!="}
KEYWORDS = {"and", "or", "not", "in", "is", "null", "like", "ilike"}
MAX_FILTER_LENGTH = 10_000
MAX_FILTER_DEPTH = 50
MAX_FILTER_COMPARISONS = 200
MAX_IN_VALUES = 1_000
MAX_ORDER_KEYS = 20

TOKEN = re.compile(
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
class Token:
    kind: str
    text: str
    col: int  # 1-based column of the token's first character


def tokenize(text: str) -> list[Token]:
    out: list[Token] = []
    pos = 0
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if match is None:
            raise FilterSyntaxError(f"unexpected character {text[pos]!r}", column=pos + 1, text=text)
        kind = match.lastgroup or ""
        if kind != "ws":
            out.append(Token(kind, match.group(), pos + 1))
        pos = match.end()
    out.append(Token("end", "", len(text) + 1))
    return out


def unquote(token: Token) -> str:
    body = token.text[1:-1]
    if token.kind == "string":
        quote = token.text[0]
        return body.replace(quote * 2, quote)
    return body
