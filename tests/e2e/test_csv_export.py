"""The order list as CSV through the real services: a customer's file holds its own orders,
as Excel reads them, and nothing of another account's."""

import uuid
from contextlib import closing
from typing import Any

import httpx
import pytest

from tests.e2e.test_conversation_pages import browser
from tests.helpers import Staff, csv_rows, listed_orders

pytestmark = pytest.mark.e2e


def with_a_neighbour(
    staff: Staff, http: httpx.Client, name: str, facility: str, formula: str
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """Two customers' Order direkt accounts, once their reports are orders: customer `name`'s
    on `facility` with two (the first says `formula`, which a spreadsheet would take for
    one), and a neighbour's with one. The first account (as Staff.portal_account makes it),
    its two orders and the neighbour's order."""
    tag = uuid.uuid4().hex[:6]
    mine = staff.portal_account(f"{name} {tag}", facility, order_direct=True)
    other = staff.portal_account(f"Grannen {tag}", "Hiss Grannen", order_direct=True)
    staff.report(mine["h"], mine["facility"]["id"], formula)
    staff.report(mine["h"], mine["facility"]["id"], "Värmen är borta")
    staff.report(other["h"], other["facility"]["id"], "Grannens hiss står still")
    my_orders = listed_orders(http, mine, 2)
    (their_order,) = listed_orders(http, other, 1)
    return mine, my_orders, their_order


def test_a_customers_order_csv_holds_its_orders_and_none_of_another_accounts(
    staff: Staff, http: httpx.Client
) -> None:
    mine, my_orders, their_order = with_a_neighbour(
        staff, http, "CSV Ekbacken", "Undercentral Åby", "=Fläkten låter; högt"
    )

    account = mine["account"]
    customer = browser(http, account["username"], account["password"], staff=False)
    # closing, not the client's own `with`: it has logged in already, and httpx opens a
    # client once.
    with closing(customer):
        reply = customer.get("/orders.csv")
    rows = csv_rows(reply)
    assert rows[0][:3] == ["Nummer", "Skapad", "Status"]
    numbers = sorted(int(r[0]) for r in rows[1:])
    assert numbers == sorted(o["order_number"] for o in my_orders)
    assert their_order["order_number"] not in numbers
    descriptions = {r[4] for r in rows[1:]}
    assert descriptions == {"'=Fläkten låter; högt", "Värmen är borta"}
    assert {r[3] for r in rows[1:]} == {"Undercentral Åby"}
    assert "Grannen" not in reply.content.decode()
