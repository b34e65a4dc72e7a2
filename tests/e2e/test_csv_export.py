"""The order list as CSV through the real services: a customer's file holds its own orders,
as Excel reads them, and nothing of another account's."""

import csv
import io
import uuid
from typing import Any

import httpx
import pytest

from tests.helpers import Staff, eventually

pytestmark = pytest.mark.e2e


def _orders(http: httpx.Client, who: dict[str, Any], count: int) -> list[dict[str, Any]]:
    def listed() -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = http.get("/api/orders", headers=who["h"]).json()["items"]
        return items if len(items) >= count else None

    return eventually(listed, what="orders made from the reports")


def test_a_customers_order_csv_holds_its_orders_and_none_of_another_accounts(
    staff: Staff, http: httpx.Client
) -> None:
    tag = uuid.uuid4().hex[:6]
    mine = staff.portal_account(f"CSV Ekbacken {tag}", "Undercentral Åby", order_direct=True)
    other = staff.portal_account(f"CSV Grannen {tag}", "Hiss Grannen", order_direct=True)
    staff.report(mine["h"], mine["facility"]["id"], "=Fläkten låter; högt")
    staff.report(mine["h"], mine["facility"]["id"], "Värmen är borta")
    staff.report(other["h"], other["facility"]["id"], "Grannens hiss står still")
    my_orders = _orders(http, mine, 2)
    (their_order,) = _orders(http, other, 1)

    account = mine["account"]
    with httpx.Client(base_url=str(http.base_url)) as browser:
        body = {"username": account["username"], "password": account["password"]}
        assert browser.post("/api/auth/login", json=body).status_code == 200
        reply = browser.get("/orders.csv")
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "text/csv; charset=utf-8"
    assert reply.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(reply.content[3:].decode()), delimiter=";"))
    assert rows[0][:3] == ["Nummer", "Skapad", "Status"]
    numbers = sorted(int(r[0]) for r in rows[1:])
    assert numbers == sorted(o["order_number"] for o in my_orders)
    assert their_order["order_number"] not in numbers
    descriptions = {r[4] for r in rows[1:]}
    assert descriptions == {"'=Fläkten låter; högt", "Värmen är borta"}
    assert {r[3] for r in rows[1:]} == {"Undercentral Åby"}
    assert "Grannen" not in reply.content.decode()
