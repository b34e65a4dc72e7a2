"""/calendar: the account's orders by planned day, a month or a week at a time, the days
as they fall in the portal's time zone."""

import calendar as cal
from datetime import date, timedelta
from typing import Annotated, Any

from babel.dates import get_day_names
from fastapi import Query
from fastapi.responses import Response

from kundonline_common import localtime
from kundonline_common.errors import Invalid

from ...clients import orders
from ...deps import PortalPage, portal_router
from ...pages.templates import moment

router = portal_router("/calendar")


def weeks_of(view: str, anchor: date) -> tuple[list[list[date]], date, date]:
    """The days to show, Monday first, and the anchors of the previous and next views."""
    if view == "week":
        monday = anchor - timedelta(days=anchor.weekday())
        return (
            [[monday + timedelta(days=i) for i in range(7)]],
            anchor - timedelta(7),
            anchor + timedelta(7),
        )
    weeks = cal.Calendar().monthdatescalendar(anchor.year, anchor.month)
    first = anchor.replace(day=1)
    previous = (first - timedelta(days=1)).replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return weeks, previous, following


@router.get("")
async def calendar(
    page: PortalPage, view: str = "month", day: Annotated[str | None, Query(alias="date")] = None
) -> Response:
    view = "week" if view == "week" else "month"
    today = localtime.today(page.l10n.tz)
    anchor = _day(day, today)
    try:
        weeks, previous, following = weeks_of(view, anchor)
    except (OverflowError, ValueError) as exc:
        # The calendar's first and last months (years 1 and 9999) have no neighbours; the
        # orders service refuses days that far out as well.
        raise Invalid("No calendar for that date.") from exc
    by_day: dict[str, list[Any]] = {}
    for entry in await orders.calendar(page.api, weeks[0][0], weeks[-1][-1]):
        planned = localtime.local_date(moment(entry["planned_start"]), page.l10n.tz)
        by_day.setdefault(planned.isoformat(), []).append(entry)
    title = (
        page.l10n.format_month(anchor)
        if view == "month"
        else page.gettext(
            "Week %(week)d, %(year)d", week=anchor.isocalendar().week, year=anchor.year
        )
    )
    short, wide = (get_day_names(width, locale=page.l10n.locale) for width in ("short", "wide"))
    return page.render(
        "portal/calendar.html",
        view=view,
        weeks=weeks,
        by_day=by_day,
        today=today,
        anchor=anchor.isoformat(),
        anchor_month=anchor.month,
        previous=previous.isoformat(),
        next=following.isoformat(),
        weekdays=[(short[n], wide[n]) for n in range(7)],  # Monday first
        title=title,
    )


def _day(text: str | None, today: date) -> date:
    """The day asked for; today when none, or none that is a day."""
    try:
        return date.fromisoformat(text or "")
    except ValueError:
        return today
