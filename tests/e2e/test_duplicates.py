"""Duplicate-aware reporting through the gateway and the real services: two tenants of one
building report the same fault, the report form shows what is already open there, staff see
the two as possible duplicates and join one with the other, whose order it then follows, and
its reporter is mailed; another customer's account reaches none of it.

The SMTP sink is shared by the session: mail is picked by an address of its own.
"""

from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from kundonline_devstack.smtp_sink import SmtpSink
from kundonline_devstack.system import System
from tests.e2e.test_conversation_pages import browser
from tests.e2e.test_notifications import PostRoom, address, kind, order_of, unique
from tests.helpers import Staff, bearer, eventually, html, login, plain

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def post(
    http: httpx.Client, staff: Staff, smtp_sink: SmtpSink, system: System, kafka_bootstrap: str
) -> Iterator[PostRoom]:
    """Mail in Swedish local time, a window of 14 days; the settings are put back afterwards
    and what is left waiting is handled."""
    before = http.get("/admin/api/settings", headers=staff.h).json()
    room = PostRoom(http, staff, smtp_sink, system, kafka_bootstrap)
    room.configure(duplicate_window_days=14, time_zone="Europe/Stockholm")
    yield room
    room.clear_queue()
    assert http.put("/admin/api/settings", json=before, headers=staff.h).status_code == 200


def _tenant(staff: Staff, http: httpx.Client, customer_id: str, facility_id: str) -> Any:
    account = staff.account(customer_id, order_direct=False)
    staff.link(account["id"], [facility_id])
    token = bearer(login(http, account["username"], account["password"]))
    return {"account": account, "h": token}


@pytest.fixture(scope="module")
def building(staff: Staff, http: httpx.Client) -> dict[str, Any]:
    """One customer's facility with two tenants' accounts, and another customer's account
    with a facility of its own."""
    customer = staff.customer(unique("Hissbolaget AB"))
    facility = staff.facility(customer["id"], unique("Hus A, hiss 1"))
    stranger_customer = staff.customer(unique("Grannen AB"))
    elsewhere = staff.facility(stranger_customer["id"], unique("Grannhuset"))
    return {
        "facility": facility,
        "elsewhere": elsewhere,
        "anna": _tenant(staff, http, customer["id"], facility["id"]),
        "bo": _tenant(staff, http, customer["id"], facility["id"]),
        "stranger": _tenant(staff, http, stranger_customer["id"], elsewhere["id"]),
    }


def _queued(http: httpx.Client, staff: Staff, fault_id: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        reply = http.get(f"/admin/api/faults/{fault_id}", headers=staff.h)
        return reply.json() if reply.status_code == 200 else None

    return eventually(found, what="the fault in the queue")


def test_two_reports_of_one_fault_are_joined_and_the_second_follows_the_first_ones_order(
    http: httpx.Client, staff: Staff, post: PostRoom, building: dict[str, Any]
) -> None:
    facility, anna, bo = building["facility"]["id"], building["anna"], building["bo"]
    marker, anna_address, bo_address = unique("hiss"), address("anna"), address("bo")
    first = post.report(anna["h"], facility, f"{marker} Hissen står still", anna_address)
    second = post.report(bo["h"], facility, f"{marker} Hissen <b>fastnar</b>", bo_address)

    # Staff see each as a possible duplicate of the other.
    queue = http.get("/admin/api/faults", params={"limit": 200}, headers=staff.h).json()
    shown = {f["id"]: [d["id"] for d in f["possible_duplicates"]] for f in queue["items"]}
    assert shown[first["id"]] == [second["id"]] and shown[second["id"]] == [first["id"]]

    # Before staff decide, Bo's report form lists Anna's report, open on the facility.
    seen = http.get(f"/api/facilities/{facility}/open", headers=bo["h"])
    assert seen.status_code == 200, seen.text
    assert {f["id"] for f in seen.json()["faults"]} == {first["id"], second["id"]}

    accepted = http.post(f"/admin/api/faults/{first['id']}/create-order", headers=staff.h)
    assert accepted.status_code == 200, accepted.text
    order = order_of(http, anna["h"], first["id"])
    joined = http.post(
        f"/admin/api/faults/{second['id']}/duplicate-of",
        json={"fault_id": first["id"]},
        headers=staff.h,
    )
    assert joined.status_code == 200, joined.text
    assert joined.json()["status"] == "duplicate"
    again = http.post(
        f"/admin/api/faults/{second['id']}/duplicate-of",
        json={"fault_id": first["id"]},
        headers=staff.h,
    )
    assert again.status_code == 200 and again.json()["duplicate_of"] == first["id"]
    waiting = http.get("/admin/api/faults", params={"limit": 200}, headers=staff.h).json()
    assert second["id"] not in {f["id"] for f in waiting["items"]}

    # Bo sees the report joined, and follows Anna's report and its order.
    mine = http.get(f"/api/faults/{second['id']}", headers=bo["h"]).json()
    assert mine["status"] == "duplicate" and mine["duplicate_of"] == first["id"]
    theirs = http.get(f"/api/faults/{first['id']}", headers=bo["h"])
    assert theirs.status_code == 200 and theirs.json()["order_number"] == order["order_number"]
    assert http.get(f"/api/orders/{order['order_id']}", headers=bo["h"]).status_code == 200
    now_open = http.get(f"/api/facilities/{facility}/open", headers=bo["h"]).json()
    assert now_open["faults"] == []
    assert [o["id"] for o in now_open["orders"]] == [order["order_id"]]
    assert now_open["orders"][0]["fault_id"] == first["id"]

    # Bo is told by mail, in Swedish, with the order and a link to the report's page.
    def told(mail: EmailMessage) -> bool:
        return kind(mail) == (bo_address, "fault_duplicate")

    (mail,) = post.sink.wait_for(told, timeout=60)
    assert str(mail["Subject"]).startswith("Din felanmälan har slagits ihop med en annan")
    assert f"Arbetet görs i order {order['order_number']}." in plain(mail)
    assert f"/faults/{second['id']}" in plain(mail)
    assert "Hissen &lt;b&gt;fastnar&lt;/b&gt;" in html(mail) and "<b>fastnar" not in html(mail)
    assert not [m for m in post.sink.messages() if kind(m) == (anna_address, "fault_duplicate")]

    # Another customer's account reaches none of it.
    stranger = building["stranger"]["h"]
    for path in (
        f"/api/faults/{first['id']}",
        f"/api/faults/{second['id']}",
        f"/api/orders/{order['order_id']}",
        f"/api/facilities/{facility}/open",
    ):
        reply = http.get(path, headers=stranger)
        assert reply.status_code == 404, path
        assert set(reply.json()) == {"error", "message", "details"}
    listed = http.get(
        "/api/faults", params={"facility_id": facility, "open": "true"}, headers=stranger
    )
    assert listed.status_code == 200 and listed.json()["items"] == []


def test_the_pages_show_what_is_open_the_joined_report_and_staffs_possible_duplicates(
    http: httpx.Client, staff: Staff, post: PostRoom, building: dict[str, Any], system: System
) -> None:
    facility, anna, bo = building["facility"]["id"], building["anna"], building["bo"]
    marker = unique("sida")
    first = post.report(anna["h"], facility, f"{marker} Dörren går inte upp", address("a"))
    second = post.report(bo["h"], facility, f"{marker} Dörren kärvar", address("b"))
    _queued(http, staff, second["id"])
    tenant = browser(http, bo["account"]["username"], bo["account"]["password"], staff=False)
    c = system.config
    desk = browser(http, c.admin_username, c.admin_password, staff=True)
    try:
        form = tenant.get("/faults/new", params={"facility": facility})
        assert form.status_code == 200
        assert f'href="/faults/{first["id"]}#conversation"' in form.text
        assert "Redan anmält på" in form.text

        waiting = desk.get(f"/admin/faults/{second['id']}").text
        assert "möjlig" in waiting and f'name="fault_id" value="{first["id"]}"' in waiting
        assert f'action="/admin/faults/{second["id"]}/duplicate-of"' in waiting
        reply = desk.post(
            f"/admin/faults/{second['id']}/duplicate-of",
            data={"csrf_token": desk.cookies["kundonline_csrf"], "fault_id": first["id"]},
        )
        assert reply.status_code == 303 and reply.headers["location"] == "/admin?done=joined"

        page = tenant.get(f"/faults/{second['id']}").text
        assert "Sammanslagen med en annan" in page
        assert f'<a href="/faults/{first["id"]}">Felanmälan från' in page
        staff_page = desk.get(f"/admin/faults/{first['id']}").text
        assert "Felanmälningar sammanslagna med denna" in staff_page
        assert f'href="/admin/faults/{second["id"]}"' in staff_page
    finally:
        tenant.close()
        desk.close()


def test_every_new_route_refuses_what_is_not_the_callers_with_json(
    http: httpx.Client, staff: Staff, post: PostRoom, building: dict[str, Any]
) -> None:
    facility, anna = building["facility"]["id"], building["anna"]
    stranger = building["stranger"]
    theirs = post.report(stranger["h"], building["elsewhere"]["id"], "Grannens fel", address("g"))
    mine = post.report(anna["h"], facility, unique("egen") + " Lampan blinkar", address("e"))
    _queued(http, staff, mine["id"])

    def refused(reply: httpx.Response, status: int) -> str:
        assert reply.status_code == status, reply.text
        body = reply.json()
        assert set(body) == {"error", "message", "details"}
        code: str = body["error"]
        return code

    # The facility's open reports: only the account's own facilities.
    for other in (building["elsewhere"]["id"], "00000000-0000-4000-8000-000000000000", "nej"):
        refused(http.get(f"/api/facilities/{other}/open", headers=anna["h"]), 404)
    refused(http.get(f"/api/facilities/{facility}/open"), 401)

    # Joining: staff only; unknown and malformed ids 404; bad bodies 422; across customers 409.
    join = f"/admin/api/faults/{mine['id']}/duplicate-of"
    assert refused(http.post(join, json={"fault_id": theirs["id"]}, headers=anna["h"]), 401)
    unknown = "00000000-0000-4000-8000-000000000000"
    for path in (f"/admin/api/faults/{unknown}/duplicate-of", "/admin/api/faults/nej/duplicate-of"):
        refused(http.post(path, json={"fault_id": mine["id"]}, headers=staff.h), 404)
    refused(http.post(join, json={"fault_id": unknown}, headers=staff.h), 404)
    bodies: list[Any] = [{"fault_id": "nej"}, {}, [], {"fault_id": theirs["id"], "x": 1}]
    for body in bodies:
        refused(http.post(join, json=body, headers=staff.h), 422)
    assert refused(http.post(join, json={"fault_id": mine["id"]}, headers=staff.h), 422) == (
        "duplicate_of_itself"
    )
    elsewhere = http.post(join, json={"fault_id": theirs["id"]}, headers=staff.h)
    assert refused(elsewhere, 409) == "not_same_place"
    assert http.get(f"/api/faults/{mine['id']}", headers=anna["h"]).json()["status"] == "new"
