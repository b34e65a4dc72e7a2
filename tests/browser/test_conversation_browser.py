"""The conversation on a fault report and the timeline of its order, in a real browser: the
customer writes with a photo, staff answer and keep an internal note, a visit is planned and
moved, and the customer follows it all."""

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Page, expect

from kundonline_devstack.system import System
from tests.browser.conftest import assert_accessible, log_in, screenshot
from tests.helpers import Staff, image

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def reported(staff: Staff) -> dict[str, Any]:
    """A customer whose report became an order at once (Order direkt)."""
    who = staff.portal_account(
        "Samtal AB", "Värmecentral Hus D", order_direct=True, city="Västerås", name="Sam Samtal"
    )
    fault = staff.report(who["h"], who["facility"]["id"], "Elementen är kalla i hela huset")
    order_id = staff.order_of(who["h"], fault["id"])
    return {"account": who["account"], "fault": fault, "order_id": order_id, "h": who["h"]}


def test_customer_and_staff_talk_on_a_fault_report(
    page: Page, other_page: Page, system: System, reported: dict[str, Any], tmp_path: Any
) -> None:
    account, fault_id = reported["account"], reported["fault"]["id"]
    log_in(page, account["username"], account["password"])
    page.goto(f"/faults/{fault_id}")
    page.get_by_label("Nytt meddelande").fill("Det knackar i rören <också>")
    photo = tmp_path / "ror.png"
    photo.write_bytes(image("PNG", (64, 48)))
    page.get_by_label("Foton").set_input_files(str(photo))
    page.get_by_role("button", name="Skicka meddelande").click()
    expect(page.get_by_role("status")).to_contain_text("Ditt meddelande är skickat.")
    conversation = page.locator("#conversation")
    expect(conversation).to_contain_text("Det knackar i rören <också>")
    expect(conversation.locator("article.message img")).to_have_count(1)

    c = system.config
    staff_page = other_page
    log_in(staff_page, c.admin_username, c.admin_password, staff=True)
    staff_page.goto("/admin?unread=true")
    expect(staff_page.locator(f'a[href="/admin/faults/{fault_id}"]')).to_be_visible()
    staff_page.goto(f"/admin/faults/{fault_id}")
    expect(staff_page.locator("#conversation")).to_contain_text("Det knackar i rören")
    staff_page.get_by_label("Nytt meddelande").fill("Kunden har ringt två gånger")
    staff_page.get_by_label("Intern anteckning").check()
    staff_page.get_by_role("button", name="Skicka meddelande").click()
    expect(staff_page.locator("article.message.internal")).to_contain_text("två gånger")
    staff_page.get_by_label("Nytt meddelande").fill("Vi luftar elementen i morgon.")
    staff_page.get_by_role("button", name="Skicka meddelande").click()
    expect(staff_page.get_by_role("status")).to_be_visible()
    assert_accessible(staff_page)
    screenshot(staff_page, "admin-conversation")

    page.reload()
    expect(conversation).to_contain_text("Vi luftar elementen i morgon.")
    expect(conversation).not_to_contain_text("två gånger")
    expect(page.locator("article.message.internal")).to_have_count(0)
    assert_accessible(page)
    screenshot(page, "portal-conversation")


def test_the_customer_follows_a_planned_and_moved_visit(
    page: Page, staff: Staff, http: httpx.Client, reported: dict[str, Any]
) -> None:
    order_id, path = reported["order_id"], f"/admin/api/orders/{reported['order_id']}"
    # 08:00–10:00 in the portal's zone, tomorrow and then the day after.
    stockholm = ZoneInfo("Europe/Stockholm")
    tomorrow = datetime.combine(date.today() + timedelta(days=1), time(8), tzinfo=stockholm)
    for start, more in [
        (tomorrow, {}),
        (tomorrow + timedelta(days=1), {"reason": "Reservdelen dröjer"}),
    ]:
        end = start + timedelta(hours=2)
        body = {"planned_start": start.isoformat(), "planned_end": end.isoformat(), **more}
        reply = http.patch(path, json=body, headers=staff.h)
        assert reply.status_code == 200, reply.text

    account = reported["account"]
    log_in(page, account["username"], account["password"])
    expect(page.locator("#upcoming-visits + div")).to_contain_text("10:00")
    page.goto(f"/faults/{reported['fault']['id']}")
    timeline = page.locator("ol.timeline")
    expect(timeline.locator("li.step-reported")).to_have_count(1)
    expect(timeline.locator("li.step-visit_moved")).to_contain_text("Reservdelen dröjer")
    expect(timeline.locator("li.step-visit_moved del")).to_contain_text("08:00–10:00")
    expect(timeline.locator("li.step-visit_moved ins")).to_contain_text("08:00–10:00")
    assert_accessible(page)
    screenshot(page, "portal-timeline")
    page.goto(f"/orders/{order_id}")
    expect(page.locator("ol.timeline li.step-visit_moved")).to_contain_text("Reservdelen dröjer")
    assert_accessible(page)
