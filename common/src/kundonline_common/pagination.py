"""Keyset pagination: an opaque cursor naming the sort key and id a page ended on."""

import base64
import json
from typing import Any, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from .errors import Invalid

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(key: str, id_: UUID) -> str:
    raw = json.dumps([key, str(id_)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key, id_ = json.loads(base64.urlsafe_b64decode(padded))
        return str(key), UUID(id_)
    except (ValueError, TypeError) as exc:
        raise Invalid("The cursor is not valid.", code="invalid_cursor") from exc


async def keyset_page(
    session: AsyncSession,
    query: Select[Any],
    *,
    key: Any,
    id_column: Any,
    cursor: str | None,
    limit: int,
    descending: bool = False,
    key_of: Any = str,
    parse_key: Any = str,
) -> tuple[list[Any], str | None]:
    """One page of `query` ordered by (key, id); returns the rows and the next cursor."""
    if cursor:
        last_key, last_id = decode_cursor(cursor)
        try:
            value = parse_key(last_key)
        except (ValueError, TypeError) as exc:
            raise Invalid("The cursor is not valid.", code="invalid_cursor") from exc
        if descending:
            query = query.where(or_(key < value, and_(key == value, id_column < last_id)))
        else:
            query = query.where(or_(key > value, and_(key == value, id_column > last_id)))
    order = (key.desc(), id_column.desc()) if descending else (key.asc(), id_column.asc())
    rows = list((await session.scalars(query.order_by(*order).limit(limit + 1))).all())
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_cursor(key_of(last), last.id)
