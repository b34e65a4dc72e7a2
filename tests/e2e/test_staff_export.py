"""Staff's order list as CSV through the real services, and a refused photo told on the page:
the file holds exactly the orders the list's filters select, as Excel reads them; a report
sent with a photo the service refuses keeps its good photo and names the other."""

import uuid

import httpx
import pytest

from kundonline_devstack.system import System
from tests.e2e.test_conversation_pages import browser
from tests.e2e.test_csv_export import with_a_neighbour
from tests.helpers import Staff, csv_rows, image

pytestmark = pytest.mark.e2e


def test_staffs_csv_holds_only_the_orders_the_filter_selects(
    staff: Staff, http: httpx.Client, system: System
) -> None:
    mine, (planned, started), theirs = with_a_neighbour(
        staff, http, "Export Åkerby", "Pannrum Åkerby", "=SUMMA(A1); läcker"
    )
    reply = http.patch(
        f"/admin/api/orders/{started['id']}", json={"status": "started"}, headers=staff.h
    )
    assert reply.status_code == 200, reply.text

    c = system.config
    desk = browser(http, c.admin_username, c.admin_password, staff=True)
    try:
        customer_id = mine["customer"]["id"]
        everything = csv_rows(desk.get("/admin/orders.csv", params={"customer_id": customer_id}))
        only_planned = csv_rows(
            desk.get("/admin/orders.csv", params={"customer_id": customer_id, "status": "planned"})
        )
        page = desk.get("/admin/orders", params={"customer_id": customer_id, "status": "planned"})
    finally:
        desk.close()

    assert everything[0] == [
        "Nummer", "Skapad", "Status", "Anläggning eller projekt", "Beskrivning",
        "Planerad start", "Planerat slut", "Värde", "Kund",
    ]  # fmt: skip
    numbers = {int(r[0]) for r in everything[1:]}
    assert numbers == {planned["order_number"], started["order_number"]}
    assert theirs["order_number"] not in numbers
    assert {r[8] for r in everything[1:]} == {mine["customer"]["name"]}
    assert {r[3] for r in everything[1:]} == {"Pannrum Åkerby"}
    assert "'=SUMMA(A1); läcker" in {r[4] for r in everything[1:]}  # text, never a formula
    (row,) = only_planned[1:]
    assert int(row[0]) == planned["order_number"] and row[2] == "Planerad"
    # The list offers the file of what it shows.
    link = page.text.split('href="/admin/orders.csv?')[1].split('"')[0]
    assert sorted(link.split("&amp;")) == [f"customer_id={customer_id}", "status=planned"]


def test_a_refused_photo_is_named_on_the_reports_page_and_the_good_one_kept(
    staff: Staff, http: httpx.Client
) -> None:
    tag = uuid.uuid4().hex[:6]
    who = staff.portal_account(f"Foto {tag}", "Tvättstuga", order_direct=False)
    account = who["account"]
    customer = browser(http, account["username"], account["password"], staff=False)
    try:
        form = {
            "csrf_token": customer.cookies["kundonline_csrf"],
            "target": f"facility:{who['facility']['id']}",
            "description": "Torktumlaren luktar bränt",
            "contact_name": "Kim",
        }
        files = [
            ("photos", ("trasig.png", image("PNG"), "image/png")),
            ("photos", ("katt.gif", b"GIF89a not really", "image/gif")),
        ]
        sent = customer.post("/faults/new", data=form, files=files)
        assert sent.status_code == 303, sent.text
        location = sent.headers["location"]
        assert "left_out=invalid_photo%3Akatt.gif" in location
        page = customer.get(location)
        switch = {"lang": "en", "next": location}
        english = customer.get("/language", params=switch, follow_redirects=True)
    finally:
        customer.close()
    assert "Bilden “katt.gif” kom inte med: den är inte en JPEG- eller PNG-bild." in page.text
    assert "The photo “katt.gif” was left out: it is not a JPEG or PNG image." in english.text
    fault_id = location.split("?")[0].rsplit("/", 1)[1]
    photos = http.get(f"/api/faults/{fault_id}", headers=who["h"]).json()["photos"]
    assert len(photos) == 1  # the good photo is kept beside the report
