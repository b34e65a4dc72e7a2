"""The customer's orders, projects, statistics, calendar and account pages."""

import calendar as cal
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kundonline_common.errors import DomainError

from .portal import places, portal, query_without_cursor
from .web import check_form

router = APIRouter(include_in_schema=False)

ORDER_FILTERS = ("status", "facility_id", "from", "to")


@router.get("/orders")
async def orders(request: Request, cursor: str | None = None) -> Response:
    page = await portal(request)
    filters = {k: v for k in ORDER_FILTERS if (v := request.query_params.get(k))}
    params = {"limit": 25, **filters, **({"cursor": cursor} if cursor else {})}
    try:
        found = await page.api("orders", "GET", "/api/orders", params=params)
    except DomainError as exc:
        if exc.status_code != 422:
            raise
        found, filters = {"items": [], "next_cursor": None}, {}
    facilities = (await page.api("orders", "GET", "/api/facilities"))["items"]
    return page.render(
        "portal/orders.html",
        orders=found["items"],
        filters=filters,
        facilities=facilities,
        places=await places(page),
        cursor=cursor,
        next_cursor=found["next_cursor"],
        query_without_cursor=query_without_cursor(request),
    )


@router.get("/orders/{order_id}")
async def order(request: Request, order_id: UUID) -> Response:
    page = await portal(request)
    found = await page.api("orders", "GET", f"/api/orders/{order_id}")
    return page.render("portal/order.html", order=found, places=await places(page))


@router.get("/projects")
async def projects(request: Request) -> Response:
    page = await portal(request)
    found = await page.api("orders", "GET", "/api/projects")
    return page.render("portal/projects.html", projects=found["items"])


@router.get("/projects/{project_id}")
async def project(request: Request, project_id: UUID) -> Response:
    page = await portal(request)
    found = await page.api("orders", "GET", f"/api/projects/{project_id}")
    return page.render("portal/project.html", project=found)


@router.get("/statistics")
async def statistics(request: Request, cursor: str | None = None) -> Response:
    page = await portal(request)
    params = {"limit": 50, **({"cursor": cursor} if cursor else {})}
    found = await page.api("orders", "GET", "/api/statistics", params=params)
    return page.render(
        "portal/statistics.html",
        stats=found,
        cursor=cursor,
        query_without_cursor=query_without_cursor(request),
    )


def _weeks(view: str, anchor: date) -> tuple[list[list[date]], date, date]:
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


@router.get("/calendar")
async def calendar(request: Request, view: str = "month") -> Response:
    page = await portal(request)
    view = "week" if view == "week" else "month"
    try:
        anchor = date.fromisoformat(request.query_params.get("date") or "")
    except ValueError:
        anchor = date.today()
    weeks, previous, following = _weeks(view, anchor)
    window = {"from": weeks[0][0].isoformat(), "to": weeks[-1][-1].isoformat()}
    found = await page.api("orders", "GET", "/api/calendar", params=window)
    by_day: dict[str, list[Any]] = {}
    for entry in found["items"]:
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


@router.get("/account")
async def account(request: Request, done: str | None = None) -> Response:
    page = await portal(request)
    messages = [("ok", page.t("saved"))] if done else []
    return page.render("portal/account.html", messages=messages)


@router.post("/account/password")
async def change_password(request: Request) -> Response:
    page = await portal(request)
    form = await check_form(page)
    body = {
        "current_password": str(form.get("current_password", "")),
        "new_password": str(form.get("new_password", "")),
    }
    try:
        await page.api("auth", "POST", "/api/me/password", json=body)
    except DomainError as exc:
        if exc.status_code != 422:
            raise
        key = {"weak_password": "password_help"}.get(exc.code, "wrong_password")
        return page.render("portal/account.html", status=422, messages=[("error", page.t(key))])
    # Every session of the account ended with the change; log in anew.
    return page.redirect("/login", reason="password_changed")


@router.post("/account/calendar-token")
async def renew_calendar(request: Request) -> Response:
    page = await portal(request)
    await check_form(page)
    await page.api("auth", "POST", "/api/me/calendar-token")
    return page.redirect("/account", done="1")
