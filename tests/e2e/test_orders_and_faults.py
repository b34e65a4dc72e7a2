"""Triage, the order lifecycle, master data from outside, photos, and what customers see."""

import asyncio
import io
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from PIL import Image

from kundonline_contracts import FacilityChanged, wrap
from kundonline_devstack.system import System
from tests.helpers import Staff, bearer, eventually, image, login

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def site(staff: Staff, http: httpx.Client) -> dict[str, Any]:
    customer = staff.customer("Livscykel AB")
    facility = staff.facility(customer["id"], "Kylmaskin 1")
    other = staff.facility(customer["id"], "Kylmaskin 2")
    account = staff.account(customer["id"], order_direct=False)
    staff.link(account["id"], [facility["id"], other["id"]])
    h = bearer(login(http, account["username"], account["password"]))
    return {"customer": customer, "facility": facility, "other": other, "account": account, "h": h}


def _order(staff: Staff, facility_id: str, **fields: Any) -> dict[str, Any]:
    body = {"facility_id": facility_id, "description": "Service", **fields}
    reply = staff.http.post("/admin/api/orders", json=body, headers=staff.h)
    assert reply.status_code == 201, reply.text
    order: dict[str, Any] = reply.json()
    return order


# --- triage --------------------------------------------------------------------------


def test_staff_turn_a_queued_fault_into_a_planned_order(
    http: httpx.Client, staff: Staff, site: dict[str, Any]
) -> None:
    fault = staff.report(site["h"], site["facility"]["id"], "Ventilen droppar")
    before = http.get("/admin/api/faults", params={"status": "new"}, headers=staff.h).json()
    queued = http.get(f"/admin/api/faults/{fault['id']}", headers=staff.h).json()
    assert queued["status"] == "new" and before["total"] >= 1
    accepted = http.post(f"/admin/api/faults/{fault['id']}/create-order", headers=staff.h)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    after = http.get("/admin/api/faults", params={"status": "new"}, headers=staff.h).json()
    assert fault["id"] not in [f["id"] for f in after["items"]]
    assert after["total"] <= before["total"] - 1
    seen = eventually(
        lambda: (
            (f := http.get(f"/api/faults/{fault['id']}", headers=site["h"]).json())
            and f["status"] == "order_created"
            and f
        ),
        what="order created from the accepted fault",
    )
    order = http.get(f"/admin/api/orders/{seen['order_id']}", headers=staff.h).json()
    assert (order["status"], order["origin"], order["fault_id"]) == (
        "planned",
        "fault_accepted",
        fault["id"],
    )
    assert order["facility_id"] == site["facility"]["id"]
    again = http.post(
        f"/admin/api/faults/{fault['id']}/reject", json={"reason": "x"}, headers=staff.h
    )
    assert again.status_code == 409 and again.json()["error"] == "already_handled"


def test_simultaneous_decisions_on_one_fault_have_one_winner(
    http: httpx.Client, staff: Staff, site: dict[str, Any]
) -> None:
    fault = staff.report(site["h"], site["facility"]["id"], "Två handläggare samtidigt")

    def decide(i: int) -> int:
        if i % 2:
            path, body = f"/admin/api/faults/{fault['id']}/create-order", None
        else:
            path, body = f"/admin/api/faults/{fault['id']}/reject", {"reason": f"nej {i}"}
        with httpx.Client(base_url=str(http.base_url), timeout=15) as own:
            return own.post(path, json=body, headers=staff.h).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(decide, range(8)))
    assert codes == [200] + [409] * 7
    final = http.get(f"/admin/api/faults/{fault['id']}", headers=staff.h).json()
    orders = http.get(
        "/admin/api/orders", params={"facility_id": site["facility"]["id"]}, headers=staff.h
    ).json()["items"]
    made = [o for o in orders if o["fault_id"] == fault["id"]]
    if final["status"] == "rejected":
        assert made == []
    else:
        eventually(
            lambda: (
                http.get(f"/admin/api/faults/{fault['id']}", headers=staff.h).json()["status"]
                == "order_created"
            ),
            what="order for the winner",
        )
        orders = http.get(
            "/admin/api/orders", params={"facility_id": site["facility"]["id"]}, headers=staff.h
        ).json()["items"]
        assert len([o for o in orders if o["fault_id"] == fault["id"]]) == 1


# --- the order lifecycle -------------------------------------------------------------


def test_order_statuses_move_only_forward_and_value_is_the_sum_of_rows(
    http: httpx.Client, staff: Staff, site: dict[str, Any]
) -> None:
    rows = [
        {"article": "FILTER", "quantity": "3", "unit_price": "120.50", "purchase_price": "60.00"},
        {"article": "ARBETE", "description": "Timmar", "quantity": "1.5", "unit_price": "650.00"},
    ]
    order = _order(staff, site["facility"]["id"], rows=rows)
    assert order["status"] == "planned" and order["value"] == "1336.50"
    path = f"/admin/api/orders/{order['id']}"
    refused = http.patch(path, json={"status": "invoiced"}, headers=staff.h)
    assert refused.status_code == 409 and refused.json()["error"] == "invalid_transition"
    for status in ("started", "completed", "invoiced"):
        moved = http.patch(path, json={"status": status}, headers=staff.h)
        assert moved.status_code == 200 and moved.json()["status"] == status
    assert http.patch(path, json={"status": "cancelled"}, headers=staff.h).status_code == 409
    assert http.get(path, headers=staff.h).json()["status"] == "invoiced"
    other = _order(staff, site["facility"]["id"])
    cancelled = http.patch(
        f"/admin/api/orders/{other['id']}", json={"status": "cancelled"}, headers=staff.h
    )
    assert cancelled.status_code == 200
    assert (
        http.patch(
            f"/admin/api/orders/{other['id']}", json={"status": "planned"}, headers=staff.h
        ).status_code
        == 409
    )
    numbers = [order["order_number"], other["order_number"]]
    assert numbers[1] > numbers[0]


# --- what customers see ----------------------------------------------------------------


def test_every_visibility_rule_on_and_off(
    http: httpx.Client, staff: Staff, site: dict[str, Any]
) -> None:
    h, account = site["h"], site["account"]
    order = _order(
        staff,
        site["facility"]["id"],
        performed_action="Bytte filter",
        rows=[
            {"article": "F1", "quantity": "1", "unit_price": "100.00", "purchase_price": "40.00"}
        ],
    )
    path = f"/api/orders/{order['id']}"
    seen = http.get(path, headers=h).json()
    assert seen["performed_action"] == "Bytte filter"
    assert "rows" not in seen and "value" not in seen

    staff.settings(show_order_rows=True)
    try:
        seen = eventually(
            lambda: (o := http.get(path, headers=h).json()) and "rows" in o and o, what="rows shown"
        )
        assert seen["value"] == "100.00" and "purchase_price" not in seen["rows"][0]
        staff.patch_account(account["id"], show_purchase_price_on_order_rows=True)
        eventually(
            lambda: http.get(path, headers=h).json()["rows"][0].get("purchase_price") == "40.00",
            what="purchase price shown",
        )
        staff.patch_account(account["id"], hide_performed_action=True)
        eventually(
            lambda: "performed_action" not in http.get(path, headers=h).json(),
            what="performed action hidden",
        )
    finally:
        staff.settings(show_order_rows=False)
        staff.patch_account(
            account["id"], hide_performed_action=False, show_purchase_price_on_order_rows=False
        )


def test_hide_cancelled_removes_cancelled_orders_everywhere(
    http: httpx.Client, staff: Staff, site: dict[str, Any]
) -> None:
    h = site["h"]
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    order = _order(staff, site["other"]["id"], planned_start=start.isoformat())
    http.patch(f"/admin/api/orders/{order['id']}", json={"status": "cancelled"}, headers=staff.h)
    window = {
        "from": date.today().isoformat(),
        "to": (date.today() + timedelta(days=7)).isoformat(),
    }
    staff.settings(show_statistics=True, show_calendar=True)
    try:

        def everywhere() -> dict[str, bool]:
            return {
                "list": order["id"]
                in [o["id"] for o in http.get("/api/orders", headers=h).json()["items"]],
                "detail": http.get(f"/api/orders/{order['id']}", headers=h).status_code == 200,
                "statistics": order["id"]
                in [o["id"] for o in http.get("/api/statistics", headers=h).json()["items"]],
                "calendar": order["id"]
                in [
                    o["id"]
                    for o in http.get("/api/calendar", params=window, headers=h).json()["items"]
                ],
            }

        eventually(lambda: all(everywhere().values()), what="cancelled order visible")
        staff.settings(hide_cancelled=True)
        eventually(lambda: not any(everywhere().values()), what="cancelled order hidden")
    finally:
        staff.settings(hide_cancelled=False, show_statistics=False, show_calendar=False)


def test_statistics_and_calendar_only_when_enabled(
    http: httpx.Client, staff: Staff, site: dict[str, Any]
) -> None:
    h = site["h"]
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    order = _order(
        staff,
        site["facility"]["id"],
        planned_start=start.isoformat(),
        rows=[{"article": "X", "quantity": "2", "unit_price": "10.00"}],
    )
    window = {
        "from": date.today().isoformat(),
        "to": (date.today() + timedelta(days=3)).isoformat(),
    }
    staff.settings(show_statistics=False, show_calendar=False)
    assert http.get("/api/statistics", headers=h).status_code == 404
    assert http.get("/api/calendar", params=window, headers=h).status_code == 404
    assert http.get("/api/me", headers=h).json()["calendar_url"] is None
    staff.settings(show_statistics=True, show_calendar=True)
    try:
        stats = eventually(
            lambda: (r := http.get("/api/statistics", headers=h)).status_code == 200 and r.json(),
            what="statistics on",
        )
        assert stats["total"]["count"] >= 1
        facility_total = {t["facility_id"]: t for t in stats["by_facility"]}
        assert facility_total[site["facility"]["id"]]["name"] == "Kylmaskin 1"
        assert sum(t["count"] for t in stats["by_status"]) == stats["total"]["count"]
        assert sum(t["count"] for t in stats["by_month"]) == stats["total"]["count"]
        entries = http.get("/api/calendar", params=window, headers=h).json()["items"]
        assert order["id"] in [e["id"] for e in entries]
        # No range: the current month where the portal is (Europe/Stockholm by default).
        today = datetime.now(ZoneInfo("Europe/Stockholm")).date()
        month = {
            "from": today.replace(day=1).isoformat(),
            "to": (
                (today.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
            ).isoformat(),
        }
        this_month = http.get("/api/calendar", params=month, headers=h).json()["items"]
        assert http.get("/api/calendar", headers=h).json()["items"] == this_month
        feed_url = http.get("/api/me", headers=h).json()["calendar_url"]
        token = feed_url.split("token=")[1]
        feed = http.get("/api/calendar.ics", params={"token": token})
        assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
        assert f"Order {order['order_number']}" in feed.text and "BEGIN:VCALENDAR" in feed.text
        assert "DTSTART;TZID=Europe/Stockholm:" in feed.text and "BEGIN:VTIMEZONE" in feed.text
        renewed = http.post("/api/me/calendar-token", headers=h).json()["calendar_url"]
        assert renewed != feed_url
        eventually(
            lambda: http.get("/api/calendar.ics", params={"token": token}).status_code == 404,
            what="old feed revoked",
        )
        new_token = renewed.split("token=")[1]
        eventually(
            lambda: http.get("/api/calendar.ics", params={"token": new_token}).status_code == 200,
            what="new feed works",
        )
    finally:
        staff.settings(show_statistics=False, show_calendar=False)


# --- photos ----------------------------------------------------------------------------


def test_photos_are_checked_by_content_limited_and_private(
    http: httpx.Client, staff: Staff, site: dict[str, Any]
) -> None:
    h = site["h"]
    fault = staff.report(h, site["facility"]["id"], "Se bild")
    path = f"/api/faults/{fault['id']}/photos"
    jpeg = image("JPEG")
    added = http.post(path, files={"photo": ("bild.jpg", jpeg, "image/jpeg")}, headers=h)
    assert added.status_code == 201, added.text
    assert added.json()["content_type"] == "image/jpeg"
    fake = http.post(
        path, files={"photo": ("bild.png", b"<script>alert(1)</script>", "image/png")}, headers=h
    )
    assert fake.status_code == 422 and fake.json()["error"] == "invalid_photo"
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, "GIF")
    assert (
        http.post(
            path, files={"photo": ("a.gif", gif.getvalue(), "image/gif")}, headers=h
        ).status_code
        == 422
    )
    huge = http.post(
        path, files={"photo": ("stor.png", b"\x89PNG" + b"0" * 5_300_000, "image/png")}, headers=h
    )
    assert huge.status_code == 413
    for _ in range(4):
        assert (
            http.post(path, files={"photo": ("p.png", image(), "image/png")}, headers=h).status_code
            == 201
        )
    sixth = http.post(path, files={"photo": ("p.png", image(), "image/png")}, headers=h)
    assert sixth.status_code == 409 and sixth.json()["error"] == "too_many_photos"

    photos = http.get(f"/api/faults/{fault['id']}", headers=h).json()["photos"]
    assert len(photos) == 5
    photo_path = f"{path}/{photos[0]['id']}"
    served = http.get(photo_path, headers=h)
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    # Re-encoded, not the file sent: the same picture in a fresh JPEG.
    assert Image.open(io.BytesIO(served.content)).size == Image.open(io.BytesIO(jpeg)).size
    staff_copy = http.get(
        f"/admin/api/faults/{fault['id']}/photos/{photos[0]['id']}", headers=staff.h
    )
    assert staff_copy.content == served.content

    stranger_customer = staff.customer("Främling AB")
    stranger = staff.account(stranger_customer["id"], order_direct=False)
    sh = bearer(login(http, stranger["username"], stranger["password"]))
    assert http.get(photo_path, headers=sh).status_code == 404
    assert (
        http.post(path, files={"photo": ("p.png", image(), "image/png")}, headers=sh).status_code
        == 404
    )


# --- master data from another system --------------------------------------------------


def test_masterdata_events_from_outside_create_and_update_facilities(
    http: httpx.Client,
    staff: Staff,
    site: dict[str, Any],
    system: System,
    kafka_bootstrap: str,
) -> None:
    facility_id = uuid.uuid4()

    def erp(name: str, city: str) -> FacilityChanged:
        return FacilityChanged(
            facility_id=facility_id,
            customer_id=site["customer"]["id"],
            name=name,
            city=city,
            reference_number="ERP-77",
            categories=("Kyla",),
        )

    async def publish(*events: FacilityChanged) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            for event in events:
                await producer.send_and_wait(
                    f"{system.config.topic_prefix}masterdata",
                    wrap(event, source="erp/affarssystem").to_bytes(),
                    key=event.key.encode(),
                )
        finally:
            await producer.stop()

    asyncio.run(publish(erp("Kylrum ERP", "Luleå")))
    path = f"/admin/api/facilities/{facility_id}"
    made = eventually(
        lambda: (r := http.get(path, headers=staff.h)).status_code == 200 and r.json(),
        what="facility from the ERP",
    )
    assert (made["name"], made["city"], made["categories"]) == ("Kylrum ERP", "Luleå", ["Kyla"])
    asyncio.run(publish(erp("Kylrum ERP, ombyggt", "Kiruna")))
    eventually(
        lambda: http.get(path, headers=staff.h).json()["city"] == "Kiruna",
        what="facility updated by the ERP",
    )
    kept = [site["facility"]["id"], site["other"]["id"]]
    staff.link(site["account"]["id"], [*kept, str(facility_id)])
    eventually(
        lambda: (
            str(facility_id)
            in [f["id"] for f in http.get("/api/facilities", headers=site["h"]).json()["items"]]
        ),
        what="customer sees the ERP facility",
    )


def test_the_order_list_filters_by_status_facility_and_date(
    http: httpx.Client, staff: Staff, site: dict[str, Any]
) -> None:
    h = site["h"]
    started = _order(staff, site["other"]["id"], description="Filtrerbar")
    http.patch(f"/admin/api/orders/{started['id']}", json={"status": "started"}, headers=staff.h)

    def ids(**params: Any) -> list[str]:
        reply = http.get("/api/orders", params={"limit": 200, **params}, headers=h)
        assert reply.status_code == 200, reply.text
        return [o["id"] for o in reply.json()["items"]]

    assert started["id"] in ids(status="started")
    assert started["id"] not in ids(status="planned")
    assert started["id"] in ids(facility_id=site["other"]["id"])
    assert started["id"] not in ids(facility_id=site["facility"]["id"])
    # The list's days are the portal's local days (Stockholm here), not the machine's UTC.
    today = datetime.now(ZoneInfo("Europe/Stockholm")).date()
    assert started["id"] in ids(**{"from": today.isoformat(), "to": today.isoformat()})
    assert started["id"] not in ids(**{"to": (today - timedelta(days=1)).isoformat()})
    assert started["id"] not in ids(**{"from": (today + timedelta(days=1)).isoformat()})
    newest_first = ids()
    assert newest_first.index(started["id"]) == 0


def test_the_order_list_pages_with_a_cursor(
    http: httpx.Client, staff: Staff, site: dict[str, Any]
) -> None:
    for i in range(5):
        _order(staff, site["facility"]["id"], description=f"Sida {i}")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = http.get("/api/orders", params=params, headers=site["h"]).json()
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    everything = [
        o["id"]
        for o in http.get("/api/orders", params={"limit": 200}, headers=site["h"]).json()["items"]
    ]
    assert seen == everything and len(seen) == len(set(seen)) >= 5
