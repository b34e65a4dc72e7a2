"""Times as people see and type them: every time on a page in the portal's zone, and planned
times that staff type in local time sent to the orders service in UTC."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from gateway_fakes import CSRF, FAULT, ORDER, FakeServices, order, refusal, with_order_timeline
from pydantic import ValidationError

from kundonline_common.localtime import zone
from kundonline_gateway.config import GatewaySettings
from kundonline_gateway.pages.local_time import field_value, read_field

STOCKHOLM = zone("Europe/Stockholm")
CUSTOMER = "0c0ffee0-0000-4000-8000-000000000001"


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("2026-07-01T15:37", "2026-07-01T13:37:00+00:00"),  # summer time, UTC+2
        ("2026-01-15T15:37", "2026-01-15T14:37:00+00:00"),  # winter time, UTC+1
        ("2026-03-29T01:59", "2026-03-29T00:59:00+00:00"),  # the minute before the jump
        ("2026-03-29T03:00", "2026-03-29T01:00:00+00:00"),  # the minute after it
        ("2026-03-29T02:30", "2026-03-29T01:30:00+00:00"),  # skipped: read as 03:30
        ("2026-10-25T02:30", "2026-10-25T00:30:00+00:00"),  # shown twice: the first
        ("2026-10-25T03:00", "2026-10-25T02:00:00+00:00"),  # once more, after both
        ("2026-07-01T15:37+02:00", "2026-07-01T13:37:00+00:00"),  # an offset given is kept
    ],
)
def test_a_time_typed_in_local_time_is_sent_in_utc(typed: str, sent: str) -> None:
    assert read_field(typed, STOCKHOLM) == sent


def test_a_time_the_clock_shows_twice_is_the_one_the_form_showed() -> None:
    second = "2026-10-25T01:30:00+00:00"  # 02:30 once the clock has gone back
    assert field_value(second, STOCKHOLM) == "2026-10-25T02:30"
    assert read_field("2026-10-25T02:30", STOCKHOLM, was=second) == second
    other_day = "2026-10-24T01:30:00+00:00"
    assert read_field("2026-10-25T02:30", STOCKHOLM, was=other_day) == "2026-10-25T00:30:00+00:00"


def test_every_time_shown_in_a_form_is_read_back_as_itself_across_both_changes() -> None:
    for start in (datetime(2026, 3, 28, 22, tzinfo=UTC), datetime(2026, 10, 24, 22, tzinfo=UTC)):
        for minutes in range(0, 8 * 60, 15):
            moment = (start + timedelta(minutes=minutes)).isoformat()
            shown = field_value(moment, STOCKHOLM)
            assert read_field(shown, STOCKHOLM, was=moment) == moment, shown


def test_a_blank_field_is_no_time_and_anything_else_is_refused() -> None:
    assert read_field("  ", STOCKHOLM) is None
    assert field_value(None, STOCKHOLM) == ""
    for typed in ("i morgon", "0001-01-01T00:00", "0001-01-01T00:00+14:00"):
        with pytest.raises(ValueError):
            read_field(typed, STOCKHOLM)


async def test_the_portal_shows_times_in_swedish_time(
    customer: httpx.AsyncClient, portal: FakeServices
) -> None:
    summer = "2026-07-01T13:37:00+00:00"
    portal.on("GET", f"/api/orders/{ORDER}", order(7, created_at=summer))
    html = (await customer.get(f"/orders/{ORDER}")).text
    assert "<dd>1 juli 2026 15:37</dd>" in html  # created, in summer time
    assert "<dd>2 mars 2026 09:00</dd>" in html  # planned start, in winter time
    fault = {"id": FAULT, "status": "new", "reported_at": summer, "description": "Läcker"}
    portal.on("GET", "/api/faults", {"items": [fault], "next_cursor": None})
    html = (await customer.get("/faults")).text
    assert "<td>2026-07-01 15:37</td>" in html


async def test_the_calendar_puts_an_order_on_the_day_it_falls_on_in_sweden(
    customer: httpx.AsyncClient, portal: FakeServices
) -> None:
    late = {"id": ORDER, "order_number": 7, "description": "Kväll"}
    late["planned_start"] = "2026-03-01T23:30:00+00:00"  # 00:30 on 2 March in Stockholm
    portal.on("GET", "/api/calendar", {"items": [late], "next_cursor": None})
    html = (await customer.get("/calendar", params={"date": "2026-03-10"})).text
    assert "<h1>Kalender: mars 2026</h1>" in html
    entry = r'<div>2</div>\s*<ul><li><span class="when">00:30</span> <a href="/orders/'
    assert re.search(entry, html)
    assert not re.search(r"<div>1</div>\s*<ul>", html)
    asked = portal.made("GET", "/api/calendar")[0].kw["params"]
    assert asked == {"from": "2026-02-23", "to": "2026-04-05"}


@pytest.mark.parametrize("view", ["month", "week"])
@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1800-01-01"])
async def test_a_calendar_day_out_of_range_shows_the_error_page(
    customer: httpx.AsyncClient, portal: FakeServices, view: str, day: str
) -> None:
    # The orders service refuses days outside 1900-2999; at the calendar's own ends the page
    # cannot even work out the days around the one asked for.
    portal.on("GET", "/api/calendar", refusal(422, "invalid_request"))
    reply = await customer.get("/calendar", params={"date": day, "view": view})
    assert reply.status_code == 422
    assert "Kontrollera uppgifterna." in reply.text  # the usual page for a bad request


@pytest.mark.parametrize("settings", [GatewaySettings(time_zone="America/New_York")])
async def test_the_pages_show_times_in_the_zone_of_the_setting(
    customer: httpx.AsyncClient, portal: FakeServices
) -> None:
    portal.on("GET", f"/api/orders/{ORDER}", order(7))
    html = (await customer.get(f"/orders/{ORDER}")).text
    assert "<dd>1 mars 2026 09:37</dd>" in html  # 14:37 UTC is 09:37 in New York


@pytest.mark.parametrize("settings", [GatewaySettings(time_zone="America/New_York")])
async def test_the_settings_documents_zone_rules_once_auth_has_told_it(
    customer: httpx.AsyncClient, portal: FakeServices
) -> None:
    portal.document_time_zone = "Asia/Tokyo"
    portal.on("GET", f"/api/orders/{ORDER}", order(7))
    html = (await customer.get(f"/orders/{ORDER}")).text
    assert "<dd>1 mars 2026 23:37</dd>" in html  # 14:37 UTC is 23:37 in Tokyo


def test_the_zone_is_stockholm_unless_set_and_an_iana_zone() -> None:
    assert GatewaySettings().time_zone == "Europe/Stockholm"
    with pytest.raises(ValidationError):
        GatewaySettings(time_zone="Europe/Sthlm")


def admin_order(**fields: Any) -> dict[str, Any]:
    return {
        **order(12, customer_id=CUSTOMER, origin="staff", performed_action=None, rows=[]),
        "value": "0",
        **fields,
    }


@pytest.fixture
def orders(services: FakeServices) -> FakeServices:
    services.on("GET", "/admin/api/faults", {"items": [], "next_cursor": None, "total": 0})
    services.on("GET", f"/admin/api/orders/{ORDER}", admin_order())
    with_order_timeline(services, "/admin")
    services.on("PATCH", f"/admin/api/orders/{ORDER}", None, status=204)
    return services


async def test_staff_see_and_type_planned_times_in_local_time(
    staff: httpx.AsyncClient, orders: FakeServices
) -> None:
    html = (await staff.get(f"/admin/orders/{ORDER}")).text
    assert 'name="planned_start" type="datetime-local" value="2026-03-02T09:00"' in html
    form = {
        "csrf_token": CSRF,
        "status": "planned",
        "description": "Byt filter",
        "planned_start": "2026-07-01T15:37",
        "planned_end": "2026-07-01T17:00",
    }
    reply = await staff.post(f"/admin/orders/{ORDER}", data=form)
    assert reply.headers["location"] == f"/admin/orders/{ORDER}?done=saved"
    sent = orders.made("PATCH", f"/admin/api/orders/{ORDER}")[0].json
    assert sent["planned_start"] == "2026-07-01T13:37:00+00:00"
    assert sent["planned_end"] == "2026-07-01T15:00:00+00:00"


async def test_a_planned_time_that_is_no_time_is_said_beside_it(
    staff: httpx.AsyncClient, orders: FakeServices
) -> None:
    form = {"csrf_token": CSRF, "description": "Byt filter", "planned_start": "i morgon"}
    reply = await staff.post(f"/admin/orders/{ORDER}", data=form)
    assert reply.status_code == 422
    assert '<small id="planned_start-error" class="field-error">Ange datum och tid.' in reply.text
    assert orders.made("PATCH", f"/admin/api/orders/{ORDER}") == []
