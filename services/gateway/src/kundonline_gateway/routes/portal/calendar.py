"""/calendar: the account's orders by planned day, a month or a week at a time."""

import calendar as cal
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import Response

from ...clients import orders
from ...deps import PortalPage, portal_router

router = portal_router("/calendar")

WEEKDAYS = {
    "sv": [
        ("må", "måndag"),
        ("ti", "tisdag"),
        ("on", "onsdag"),
        ("to", "torsdag"),
        ("fr", "fredag"),
        ("lö", "lördag"),
        ("sö", "söndag"),
    ],
    "en": [
        ("Mo", "Monday"),
        ("Tu", "Tuesday"),
        ("We", "Wednesday"),
        ("Th", "Thursday"),
        ("Fr", "Friday"),
        ("Sa", "Saturday"),
        ("Su", "Sunday"),
    ],
}
MONTHS = {
    "sv": [
        "januari",
        "februari",
        "mars",
        "april",
        "maj",
        "juni",
        "juli",
        "augusti",
        "september",
        "oktober",
        "november",
        "december",
    ],
    "en": list(cal.month_name)[1:],
}


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
    anchor = _day(day)
    weeks, previous, following = weeks_of(view, anchor)
    by_day: dict[str, list[Any]] = {}
    for entry in await orders.calendar(page.api, weeks[0][0], weeks[-1][-1]):
        by_day.setdefault(entry["planned_start"][:10], []).append(entry)
    title = (
        f"{MONTHS[page.lang][anchor.month - 1]} {anchor.year}"
        if view == "month"
        else f"{page.t('week')} {anchor.isocalendar().week}, {anchor.year}"
    )
    return page.render(
        "portal/calendar.html",
        view=view,
        weeks=weeks,
        by_day=by_day,
        anchor=anchor.isoformat(),
        anchor_month=anchor.month,
        previous=previous.isoformat(),
        next=following.isoformat(),
        weekdays=WEEKDAYS[page.lang],
        title=title,
    )


def _day(text: str | None) -> date:
    """The day asked for; today when none, or none that is a day."""
    try:
        return date.fromisoformat(text or "")
    except ValueError:
        return date.today()
