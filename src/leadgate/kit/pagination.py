"""Keyset pagination: `{"items": [...], "next_cursor": ...}` with opaque cursors."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.orm import Session

from leadgate.errors import InvalidRequest

T = TypeVar("T")
M = TypeVar("M")

MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    """A page of a list."""

    items: list[T]
    next_cursor: str | None = None


def encode_cursor(last_id: int) -> str:
    """The opaque cursor that continues after `last_id`."""
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id a cursor continues after; InvalidRequest for anything we did not hand out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = raw.partition(":")
        if kind != "id":
            raise ValueError(kind)
        return int(value)
    except ValueError as exc:
        raise InvalidRequest("The cursor is not one this server handed out.") from exc


def paginate(
    session: Session,
    query: Select[M],
    id_column: Any,
    *,
    limit: int,
    cursor: str | None,
    to_item: Callable[[M], T],
    descending: bool = False,
) -> Page[T]:
    """Run `query` one page at a time, ordered by `id_column`."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be between 1 and {MAX_LIMIT}.")
    if cursor:
        after = decode_cursor(cursor)
        query = query.where(id_column < after if descending else id_column > after)
    query = query.order_by(id_column.desc() if descending else id_column).limit(limit + 1)
    rows: Sequence[M] = session.scalars(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(int(getattr(rows[-1], "id"))) if more and rows else None  # noqa: B009
    return Page[Any](items=[to_item(r) for r in rows], next_cursor=next_cursor)
