"""The pages in Swedish and English from one set of templates: the catalogue complete, each
page wholly in its visitor's language, and money and plurals as that language writes them."""

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from gateway_fakes import CUSTOMER, ORDER, FakeServices, me, order, with_order_timeline

from kundonline_common import i18n_check
from kundonline_contracts import Language
from kundonline_gateway.i18n import CATALOGUES

SERVICE = Path(__file__).resolve().parents[1]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
STATISTICS = {
    "total": {"count": 2, "value": "1234.50"},
    "by_facility": [{"name": "Undercentral Ekbacken 2", "count": 2, "value": "1234.50"}],
    "by_status": [{"status": "planned", "count": 2, "value": "1234.50"}],
    "by_month": [{"month": "2026-03", "count": 2, "value": "1234.50"}],
    "items": [order(7, value="1234.50")],
    "next_cursor": None,
}
ADMIN_PAGES = ["/admin", f"/admin/orders/{ORDER}", "/admin/staff", "/admin/settings"]
PORTAL_PAGES = ["/", "/orders", f"/orders/{ORDER}", "/faults/new", "/statistics", "/calendar"]


def test_the_swedish_catalogue_translates_every_message_of_the_pages() -> None:
    assert i18n_check.problems(SERVICE) == []


def words(text: str) -> set[str]:
    """The runs of text between a message's placeholders that are long enough to tell apart."""
    return {part.strip() for part in PLACEHOLDER.split(text) if len(part.strip()) >= 10}


def catalogue_words() -> dict[Language, set[str]]:
    translations = CATALOGUES.translations("sv")
    english: set[str] = set()
    swedish: set[str] = set()
    for message in i18n_check.extract(SERVICE):
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        for text in filter(None, ids):
            english |= words(text)
            translated = (
                translations.pgettext(message.context, text)
                if message.context
                else translations.gettext(text)
            )
            swedish |= words(translated)
    return {"en": english, "sv": swedish}


@pytest.fixture
def pages(portal: FakeServices) -> FakeServices:
    """A customer who sees statistics and the calendar, with an order everywhere."""
    portal.on("GET", "/api/me", me(statistics=True, calendar=True))
    listing = {"items": [order(7)], "next_cursor": None}
    for path in ("/api/orders", "/api/calendar"):
        portal.on("GET", path, listing)
    portal.on("GET", "/api/faults", {"items": [], "next_cursor": None})
    portal.on("GET", f"/api/orders/{ORDER}", order(7, rows=[], value="1234.50"))
    portal.on("GET", "/api/statistics", STATISTICS)
    return portal


def read_in(client: httpx.AsyncClient, language: Language) -> None:
    client.cookies.set("kundonline_lang", language, domain="portal.local")


@pytest.mark.parametrize(("language", "other"), [("sv", "en"), ("en", "sv")])
async def test_each_page_is_written_wholly_in_its_visitors_language(
    customer: httpx.AsyncClient, pages: FakeServices, language: Language, other: Language
) -> None:
    read_in(customer, language)
    known = catalogue_words()
    for path in PORTAL_PAGES:
        reply = await customer.get(path)
        assert reply.status_code == 200, path
        assert f'<html lang="{language}">' in reply.text
        assert not [w for w in known[other] - known[language] if w in reply.text], path


@pytest.fixture
def admin_pages(services: FakeServices) -> FakeServices:
    """The fault queue with one fault, an order, the staff and the settings."""
    fault = {
        **order(7, customer_id=str(CUSTOMER.customer_id)),
        "contact": {"name": "K"},
        "photos": [],
    }
    fault["reported_at"] = fault["created_at"]
    services.on("GET", "/admin/api/faults", {"items": [fault], "next_cursor": None, "total": 1})
    admin_order = {**fault, "origin": "staff", "performed_action": None, "rows": []}
    services.on("GET", f"/admin/api/orders/{ORDER}", {**admin_order, "value": "0"})
    with_order_timeline(services, "/admin")
    staff = {"id": "s1", "username": "eva", "name": "Eva", "role": "handler", "active": True}
    services.on("GET", "/admin/api/staff", {"items": [staff], "next_cursor": None})
    services.on("GET", "/admin/api/settings", {"session_timeout_minutes": 30, "port": 49148})
    return services


@pytest.mark.parametrize(("language", "other"), [("sv", "en"), ("en", "sv")])
async def test_each_admin_page_is_written_wholly_in_its_visitors_language(
    staff: httpx.AsyncClient, admin_pages: FakeServices, language: Language, other: Language
) -> None:
    read_in(staff, language)
    known = catalogue_words()
    for path in ADMIN_PAGES:
        reply = await staff.get(path)
        assert reply.status_code == 200, path
        assert not [w for w in known[other] - known[language] if w in reply.text], path


async def test_money_times_and_counts_in_english(
    customer: httpx.AsyncClient, pages: FakeServices
) -> None:
    read_in(customer, "en")
    html = (await customer.get(f"/orders/{ORDER}")).text
    assert "<dd>1 Mar 2026, 15:37</dd>" in html and "<h1>Order 7</h1>" in html
    html = (await customer.get("/statistics")).text
    assert "2 orders, SEK\xa01,234.50" in html and "March 2026" in html
    pages.on("GET", "/api/statistics", {**STATISTICS, "total": {"count": 1, "value": "9"}})
    assert "1 order, SEK\xa09.00" in (await customer.get("/statistics")).text


async def test_money_and_counts_in_swedish(
    customer: httpx.AsyncClient, pages: FakeServices
) -> None:
    html = (await customer.get("/statistics")).text
    assert "2 order, 1\xa0234,50\xa0kr" in html and "mars 2026" in html
    assert '<th scope="row">Planerad' in html


@pytest.mark.parametrize(("asked", "chosen"), [("en", "en"), ("sv", "sv"), ("fi", "sv")])
async def test_the_language_chosen_is_remembered_swedish_unless_english(
    visitor: httpx.AsyncClient, asked: str, chosen: str
) -> None:
    reply = await visitor.get("/language", params={"lang": asked, "next": "/login"})
    assert reply.headers["location"] == "/login"
    assert f"kundonline_lang={chosen};" in reply.headers["set-cookie"]
    page = await visitor.get("/login")
    heading: dict[str, Any] = {"sv": "<h1>Logga in</h1>", "en": "<h1>Log in</h1>"}
    assert heading[chosen] in page.text
