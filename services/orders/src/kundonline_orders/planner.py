"""The Calendar tab and the private iCalendar feed: orders by planned date (SPEC §4.5), with
days, weeks and months as they are in the portal's time zone."""

import hashlib
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from uuid import UUID

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.sql.functions import coalesce
from sqlmodel import col

from kundonline_common import localtime, projections
from kundonline_common.errors import Invalid, NotFound
from kundonline_common.pagination import Page
from kundonline_common.projections import AccountView
from kundonline_common.tables import utcnow
from kundonline_common.uow import UnitOfWork

from .repository import OrdersRepository
from .schemas import CalendarEntry
from .tables import Order
from .visibility import Sight, sight_of

Uow = UnitOfWork[OrdersRepository]

MAX_DAYS = 400
FEED_PAST, FEED_AHEAD = timedelta(days=90), timedelta(days=400)
PLANNED_LENGTH = timedelta(hours=1)  # shown for an order planned without an end


async def _calendar_of(uow: Uow, account: AccountView | UUID) -> Sight:
    """What the account sees; 404 while the portal shows no calendar."""
    sight = await sight_of(uow, account)
    sight.require_calendar()
    return sight


async def _planned(uow: Uow, sight: Sight, start: datetime, end: datetime) -> list[Order]:
    """The orders the account sees whose planned time touches [start, end), by planned start."""
    query = select(Order).where(
        sight.orders(),
        col(Order.planned_start) < end,
        coalesce(col(Order.planned_end), col(Order.planned_start)) >= start,
    )
    query = query.order_by(col(Order.planned_start)).limit(2000)
    return list((await uow.session.scalars(query)).all())


def local_days(
    since: date | None, until: date | None, tz: tzinfo, now: datetime | None = None
) -> tuple[date, date]:
    """The days asked for, both included; none asked for: the current month where the portal
    is (at 23:30 UTC on 31 March it is already April in Sweden)."""
    if since is None and until is None:
        return localtime.month_of(localtime.today(tz, now))
    if since is None or until is None:
        raise Invalid("Give both from and to, or neither.", code="invalid_range")
    if until < since or (until - since).days > MAX_DAYS:
        raise Invalid(
            f"Give a range of at most {MAX_DAYS} days, from before to.", code="invalid_range"
        )
    return since, until


async def calendar(
    *, uow: Uow, account_id: UUID, since: date | None, until: date | None
) -> Page[Any]:
    """Orders planned from the start of `since` to the end of `until` in the portal's zone
    (the month and week views ask for whole local days)."""
    sight = await _calendar_of(uow, account_id)
    tz = localtime.zone(sight.settings.time_zone)
    first, last = local_days(since, until, tz)
    orders = await _planned(uow, sight, *localtime.days(first, last, tz))
    return Page(items=[CalendarEntry.model_validate(o, from_attributes=True) for o in orders])


async def feed(*, uow: Uow, token: str) -> bytes:
    """The private iCalendar feed of the account whose token this is."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    account = await uow.session.scalar(
        select(projections.AccountView).where(
            col(projections.AccountView.calendar_token_hash) == digest,
            col(projections.AccountView.active),
        )
    )
    if account is None:
        raise NotFound("No such calendar.")
    now = utcnow()
    sight = await _calendar_of(uow, account)
    orders = await _planned(uow, sight, now - FEED_PAST, now + FEED_AHEAD)
    return ical(orders, now, localtime.zone(sight.settings.time_zone))


def ical(orders: list[Order], now: datetime, tz: tzinfo) -> bytes:
    """The orders as events at their local times (TZID), the zone's rules in a VTIMEZONE, so
    a calendar elsewhere still shows the hour the work is planned for."""
    cal = Calendar()
    cal.add("prodid", "-//KundOnline//Orders//SV")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "KundOnline")
    cal.add("x-wr-timezone", str(tz))
    for order in orders:
        start = order.planned_start
        assert start is not None  # the calendar holds planned orders only
        # The default length is added in UTC: an hour of work, whatever the clocks do.
        end = order.planned_end or start + PLANNED_LENGTH
        event = Event()
        event.add("uid", f"{order.id}@kundonline")
        event.add("dtstamp", now)  # always UTC, as RFC 5545 wants
        event.add("dtstart", _local(start, tz))
        event.add("dtend", _local(end, tz))
        event.add(
            "summary", f"Order {order.order_number}: {order.description.splitlines()[0][:80]}"
        )
        event.add("description", order.description)
        event.add("status", "CANCELLED" if order.status == "cancelled" else "CONFIRMED")
        cal.add_component(event)
    cal.add_missing_timezones()
    ics: bytes = cal.to_ical()  # icalendar leaves to_ical's return unannotated
    return ics


def _local(moment: datetime, tz: tzinfo) -> datetime:
    """The moment at its local time, except in the hour that comes twice when the clocks go
    back: RFC 5545 reads a local time there as the first of the two, so the second is
    written in UTC."""
    local = moment.astimezone(tz)
    return moment.astimezone(UTC) if local.fold else local
