"""The Calendar tab and the private iCalendar feed: orders by planned date (SPEC §4.5)."""

import hashlib
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.sql.functions import coalesce

from kundonline_common import projections
from kundonline_common.errors import Invalid, NotFound
from kundonline_common.pagination import Page
from kundonline_common.projections import AccountView
from kundonline_common.tables import utcnow
from kundonline_common.uow import UnitOfWork

from .repository import OrdersRepository
from .schemas import CalendarEntry
from .tables import Order
from .visibility import sight_of

Uow = UnitOfWork[OrdersRepository]

MAX_DAYS = 400
FEED_PAST, FEED_AHEAD = timedelta(days=90), timedelta(days=400)
PLANNED_LENGTH = timedelta(hours=1)  # shown for an order planned without an end


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


async def _planned(
    uow: Uow, account: AccountView | UUID, start: datetime, end: datetime
) -> list[Order]:
    """The account's orders whose planned time touches [start, end), by planned start."""
    sight = await sight_of(uow, account)
    sight.require_calendar()
    query = select(Order).where(
        sight.orders(),
        Order.planned_start < end,
        coalesce(Order.planned_end, Order.planned_start) >= start,
    )
    return list((await uow.session.scalars(query.order_by(Order.planned_start).limit(2000))).all())


async def calendar(*, uow: Uow, account_id: UUID, since: date, until: date) -> Page[Any]:
    """Orders planned from `since` to `until`, both days included (month and week views)."""
    if until < since or (until - since).days > MAX_DAYS:
        raise Invalid(
            f"Give a range of at most {MAX_DAYS} days, from before to.", code="invalid_range"
        )
    orders = await _planned(uow, account_id, _midnight(since), _midnight(until + timedelta(days=1)))
    return Page(items=[CalendarEntry.model_validate(o, from_attributes=True) for o in orders])


async def feed(*, uow: Uow, token: str) -> bytes:
    """The private iCalendar feed of the account whose token this is."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    account = await uow.session.scalar(
        select(projections.AccountView).where(
            projections.AccountView.calendar_token_hash == digest,
            projections.AccountView.active,
        )
    )
    if account is None:
        raise NotFound("No such calendar.")
    now = utcnow()
    orders = await _planned(uow, account, now - FEED_PAST, now + FEED_AHEAD)
    return ical(orders, now)


def ical(orders: list[Order], now: datetime) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//KundOnline//Orders//SV")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "KundOnline")
    for order in orders:
        event = Event()
        event.add("uid", f"{order.id}@kundonline")
        event.add("dtstamp", now)
        event.add("dtstart", order.planned_start)
        event.add("dtend", order.planned_end or order.planned_start + PLANNED_LENGTH)
        event.add(
            "summary", f"Order {order.order_number}: {order.description.splitlines()[0][:80]}"
        )
        event.add("description", order.description)
        event.add("status", "CANCELLED" if order.status == "cancelled" else "CONFIRMED")
        cal.add_component(event)
    return cal.to_ical()
