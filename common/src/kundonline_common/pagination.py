"""Keyset pagination: an opaque cursor naming the sort key and id a page ended on."""

import base64
import json
from datetime import UTC
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, StringConstraints, TypeAdapter
from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from .errors import Invalid
from .tables import UTCDateTime

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(key: str, id_: UUID) -> str:
    raw = json.dumps([key, str(id_)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# A cursor comes back from the client, so it is checked like any other input: any shape
# that is not [text, uuid] is a 422, never a failure further down. NUL is refused because
# PostgreSQL text cannot hold it.
_Key = Annotated[str, StringConstraints(max_length=1000, pattern=r"^[^\x00]*$")]
_CURSOR = TypeAdapter(tuple[_Key, UUID])
_MOMENT = TypeAdapter(AwareDatetime)


def _invalid_cursor() -> Invalid:
    return Invalid("The cursor is not valid.", code="invalid_cursor")


def decode_cursor(cursor: str) -> tuple[str, UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return _CURSOR.validate_json(base64.urlsafe_b64decode(padded))
    except ValueError as exc:  # binascii.Error and ValidationError are ValueErrors
        raise _invalid_cursor() from exc


async def keyset_page(
    session: AsyncSession,
    query: Select[Any],
    *,
    key: Any,
    cursor: str | None,
    limit: int,
    descending: bool = False,
) -> tuple[list[Any], str | None]:
    """One page of `query` ordered by `key` and then the id of the key's table; returns the
    rows and the next cursor. A timestamp key travels in the cursor as ISO 8601."""
    id_column = key.class_.id
    is_time = isinstance(key.type, UTCDateTime)
    if cursor:
        last_key, last_id = decode_cursor(cursor)
        try:
            # In UTC here: a moment at the calendar's very edge overflows now, not in the driver.
            value = _MOMENT.validate_python(last_key).astimezone(UTC) if is_time else last_key
        except (ValueError, OverflowError) as exc:
            raise _invalid_cursor() from exc
        if descending:
            query = query.where(or_(key < value, and_(key == value, id_column < last_id)))
        else:
            query = query.where(or_(key > value, and_(key == value, id_column > last_id)))
    order = (key.desc(), id_column.desc()) if descending else (key.asc(), id_column.asc())
    rows = list((await session.scalars(query.order_by(*order).limit(limit + 1))).all())
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    last_value = getattr(last, key.key)
    return rows[:limit], encode_cursor(
        last_value.isoformat() if is_time else str(last_value), last.id
    )
