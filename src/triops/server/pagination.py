"""Cursor pagination for every list the API serves.

A cursor is opaque to clients: base64url of a small JSON object naming the listing it belongs to (a hash of
the route and its filters) and the sort key of the last item served. The next page holds the items whose
key sorts after it, so items added meanwhile never shift or repeat a page (the walk is stable). A cursor
from another listing, or with other filters, is refused with 422 naming the parameter.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from triops.errors import InvalidInputError

T = TypeVar("T")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_CURSOR_LENGTH = 2048

LimitQuery = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description=f"page size, 1-{MAX_LIMIT} (default {DEFAULT_LIMIT})")
]
CursorQuery = Annotated[
    str | None,
    Query(max_length=MAX_CURSOR_LENGTH, description="next_cursor of the previous page of the same listing"),
]


class PageOut(BaseModel):
    """One page of a listing: its items and the cursor of the next page (null on the last page)."""

    items: list[Any]
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class Listing:
    """Identifies one listing: the route and the filters it was called with."""

    kind: str
    filters: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, kind: str, **filters: Any) -> Listing:
        return cls(kind, tuple(sorted(filters.items())))

    @property
    def digest(self) -> str:
        text = json.dumps([self.kind, self.filters], sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def encode(self, after: Sequence[Any]) -> str:
        body = json.dumps({"l": self.digest, "a": list(after)}, separators=(",", ":"), default=str)
        return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")

    def decode(self, cursor: str | None) -> list[Any] | None:
        """The sort key a cursor points after, or None for the first page."""
        if cursor is None or cursor == "":
            return None
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            data = json.loads(raw)
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise _bad_cursor("it is not a cursor this server made") from None
        if not isinstance(data, dict) or not isinstance(data.get("a"), list):
            raise _bad_cursor("it is not a cursor this server made")
        if data.get("l") != self.digest:
            raise _bad_cursor(f"it belongs to another listing than {self.kind} with these filters")
        after: list[Any] = data["a"]
        if not all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in after):
            raise _bad_cursor("it is not a cursor this server made")
        return after


def _bad_cursor(why: str) -> InvalidInputError:
    return InvalidInputError(
        f"invalid cursor: {why}",
        hint="pass the next_cursor of the previous page of the same listing, or omit it for the first page",
        detail={"parameter": "cursor"},
    )


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None

    def out(self, shape: Callable[[T], Any]) -> dict[str, Any]:
        return {"items": [shape(i) for i in self.items], "next_cursor": self.next_cursor}


def _comparable(key: Sequence[Any]) -> tuple[Any, ...]:
    # numbers and strings never share a position in one listing's key, so plain tuples compare
    return tuple(key)


def paginate(
    items: Iterable[T],
    key: Callable[[T], Sequence[str | int]],
    listing: Listing,
    cursor: str | None,
    limit: int,
    *,
    descending: bool = False,
) -> Page[T]:
    """Page ``items`` by ``key`` (unique; ascending unless ``descending``). Services hand back whole lists;
    the cursor holds the last key, so the walk stays stable when items are added between pages."""
    after = listing.decode(cursor)
    ordered = sorted(items, key=lambda i: _comparable(key(i)), reverse=descending)
    if after is not None:
        bound = _comparable(after)
        try:
            ordered = [
                i
                for i in ordered
                if (_comparable(key(i)) < bound if descending else _comparable(key(i)) > bound)
            ]
        except TypeError:
            raise _bad_cursor("its key does not fit this listing") from None
    page = ordered[:limit]
    more = len(ordered) > limit
    return Page(page, listing.encode(list(key(page[-1]))) if more and page else None)


__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "CursorQuery",
    "LimitQuery",
    "Listing",
    "Page",
    "PageOut",
    "paginate",
]
