"""Issue 18's rating page and duplicate-aware reporting, tried as an attacker would through
the running system: forged, expired, foreign, over-long and odd tokens; a link opened many
times and sent many times at once; hostile comments; a huge body; the language switch as a
redirect; two joins of the same pair at once; the open-reports look-up of a facility the
account is not linked to; odd filters on the new pages; staff's order CSV as an Excel of
either locale reads it; and no rating token in any log line."""

import asyncio
import contextlib
import csv
import io
import itertools
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit
from uuid import UUID, uuid4

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from kundonline_common import rating_links
from kundonline_devstack.smtp_sink import SmtpSink
from kundonline_devstack.system import System
from tests.e2e.test_conversation_pages import browser
from tests.e2e.test_notifications import PostRoom, address, to, unique
from tests.helpers import Staff, bearer, eventually, login, plain, read_record, run_async

pytestmark = pytest.mark.e2e

MB = 1024 * 1024
SCRIPT = '<script>alert("x")</script>=HYPERLINK("http://evil.example")'


@pytest.fixture(scope="module")
def shop(staff: Staff) -> dict[str, Any]:
    """A customer with one facility and an account linked to it whose reports wait for staff."""
    return staff.portal_account(unique("Angrepp AB"), unique("Pannrum"), order_direct=False)


def completed_order(http: httpx.Client, staff: Staff, facility_id: str) -> str:
    """An order made by staff on the facility and taken to completed."""
    body = {"facility_id": facility_id, "description": unique("Byt filter")}
    made = http.post("/admin/api/orders", json=body, headers=staff.h)
    assert made.status_code == 201, made.text
    order_id: str = made.json()["id"]
    for status in ("started", "completed"):
        reply = http.patch(
            f"/admin/api/orders/{order_id}", json={"status": status}, headers=staff.h
        )
        assert reply.status_code == 200, reply.text
    return order_id


def token_for(system: System, order_id: str, *, days: float = 30, account: str = "") -> str:
    link = rating_links.RatingLink(
        UUID(order_id),
        UUID(account) if account else uuid4(),
        datetime.now(UTC) + timedelta(days=days),
    )
    return rating_links.issue(str(system.config.rating_link_secret), link)


def visitor(system: System, local_address: str | None = None) -> httpx.Client:
    """No login, no cookies of anyone's: whoever holds the mail."""
    transport = httpx.HTTPTransport(local_address=local_address) if local_address else None
    return httpx.Client(base_url=system.base_url, timeout=30, transport=transport)


def rated(http: httpx.Client, staff: Staff, customer_id: str) -> set[str]:
    """The orders of the customer that have a rating."""
    return {i["order_id"] for i in ratings_of(http, staff, customer_id)["items"]}


def ratings_of(http: httpx.Client, staff: Staff, customer_id: str) -> dict[str, Any]:
    reply = http.get("/admin/api/ratings", params={"customer_id": customer_id}, headers=staff.h)
    assert reply.status_code == 200, reply.text
    found: dict[str, Any] = reply.json()
    return found


def count_records(bootstrap: str, topic: str, match: Callable[[dict[str, Any]], bool]) -> int:
    """How many records on `topic`, read to its end as it is now, match."""

    async def _count() -> int:
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
        )
        await consumer.start()
        try:
            partitions = consumer.assignment()
            while not partitions:
                await consumer.getmany(timeout_ms=200)
                partitions = consumer.assignment()
            ends = await consumer.end_offsets(list(partitions))
            seen, found = dict.fromkeys(partitions, 0), 0
            async with asyncio.timeout(30):
                while any(seen[p] < ends[p] for p in partitions):
                    batches = await consumer.getmany(timeout_ms=500)
                    for partition, records in batches.items():
                        for record in records:
                            seen[partition] = record.offset + 1
                            with contextlib.suppress(ValueError, TypeError, KeyError):
                                found += bool(match(json.loads(record.value)))
            return found
        finally:
            await consumer.stop()

    return run_async(_count())


# --- the rating link -------------------------------------------------------------------------


def test_forged_expired_foreign_long_and_odd_tokens_get_a_page_never_a_5xx(
    http: httpx.Client, staff: Staff, system: System, shop: dict[str, Any]
) -> None:
    order_id = completed_order(http, staff, shop["facility"]["id"])
    other_id = completed_order(http, staff, shop["facility"]["id"])
    good = token_for(system, order_id)
    order_hex, account_hex, expiry, signature = good.split(".")
    forged_secret = rating_links.issue(
        "x" * 40, rating_links.RatingLink(UUID(order_id), uuid4(), datetime.now(UTC) + timedelta(1))
    )
    cases: dict[str, tuple[str, int]] = {
        "expired": (token_for(system, order_id, days=-1), 410),
        "another order's": (token_for(system, other_id), 403),
        "another secret's": (forged_secret, 403),
        "a later expiry, same signature": (
            f"{order_hex}.{account_hex}.{int(expiry) + 9}.{signature}",
            403,
        ),
        "signature cut": (good[:-1], 403),
        "signature padded": (good + "=", 403),
        "fields swapped": (f"{account_hex}.{order_hex}.{expiry}.{signature}", 403),
        "empty": ("", 403),
        "over-long": (good + "A" * 5000, 403),
        "dots only": ("...", 403),
        "NUL": (good + "\x00", 403),
        "right-to-left mark": ("\u202e" + good, 403),
        "non-ASCII digits": (f"{order_hex}.{account_hex}.{'١٢٣'}.{signature}", 403),
        "huge expiry": (f"{order_hex}.{account_hex}.{'9' * 60}.{signature}", 403),
        "markup": ('"><script>alert(1)</script>', 403),
    }
    with visitor(system) as v:
        for what, (token, status) in cases.items():
            shown = v.get(f"/rating/{order_id}", params={"token": token, "score": "5"})
            sent = v.post(f"/rating/{order_id}", data={"token": token, "score": "5"})
            for reply in (shown, sent):
                # An empty or over-long token never reaches the check: 422 from the service.
                assert reply.status_code in (status, 422), (what, reply.status_code, reply.text)
                assert reply.headers["content-type"].startswith("text/html"), what
                assert "<form" not in reply.text, what
                # The query comes back only in the language switch's link, encoded.
                assert "<script>alert(1)" not in reply.text, what
        # Odd bytes in the path and the query: a lone surrogate, invalid UTF-8, a NUL.
        for raw in (
            f"/rating/{order_id}?token=%ED%A0%80&score=5",
            f"/rating/{order_id}?token=%FF%FE&score=%00",
            f"/rating/{order_id}%00?token={good}",
            "/rating/..%2F..%2Fadmin?token=x",
        ):
            reply = v.get(raw)
            assert 400 <= reply.status_code < 500, (raw, reply.status_code)
        # The same bytes in a multipart form, which a page's POST may also be.
        for odd in (b"\xed\xa0\x80", b"\xff\xfe", good.encode() + b"\xed\xa0\x80"):
            files = {"token": (None, odd), "score": (None, b"5"), "comment": (None, odd)}
            reply = v.post(f"/rating/{order_id}", files=files)
            assert 400 <= reply.status_code < 500, (odd, reply.status_code)
    assert not {order_id, other_id} & rated(http, staff, shop["customer"]["id"])


def test_opening_a_link_any_number_of_times_uses_nothing_up(
    http: httpx.Client, staff: Staff, system: System, shop: dict[str, Any]
) -> None:
    order_id = completed_order(http, staff, shop["facility"]["id"])
    token = token_for(system, order_id)
    with visitor(system) as v:
        for method in ("GET", "HEAD", "GET", "OPTIONS"):
            reply = v.request(method, f"/rating/{order_id}", params={"token": token, "score": "1"})
            assert reply.status_code < 500, (method, reply.status_code)
        # A score out of range in the link is no choice made.
        page = v.get(f"/rating/{order_id}", params={"token": token, "score": "9"})
        assert page.status_code == 200 and "checked" not in page.text
        sent = v.post(f"/rating/{order_id}", data={"token": token, "score": "3"})
        assert sent.status_code == 200, sent.text


def test_many_sends_of_one_link_at_once_keep_exactly_one_rating_and_one_event(
    http: httpx.Client, staff: Staff, system: System, kafka_bootstrap: str
) -> None:
    own = staff.portal_account(unique("Kapplopp AB"), unique("Hus K"), order_direct=False)
    order_id = completed_order(http, staff, own["facility"]["id"])
    token = token_for(system, order_id)
    # The gateway lets one address have 8 requests in flight: three addresses, six each.
    senders = [f"127.0.0.{1 + i % 3}" for i in range(18)]
    start = threading.Barrier(len(senders))

    def send(address: str) -> tuple[int, bool]:
        with visitor(system, address) as v:
            start.wait(timeout=30)
            data = {"token": token, "score": "5", "comment": address}
            reply = v.post(f"/rating/{order_id}", data=data)
            return reply.status_code, "redan betygsatt" in reply.text

    with ThreadPoolExecutor(len(senders)) as pool:
        answers = sorted(pool.map(send, senders))
    # The losers are told the order is rated, not that their link is bad.
    assert answers == [(200, False)] + [(409, True)] * (len(senders) - 1), answers

    found = ratings_of(http, staff, own["customer"]["id"])
    assert found["count"] == 1 and len(found["items"]) == 1
    topic = f"{system.config.topic_prefix}orders"

    def rated(e: dict[str, Any]) -> bool:
        return bool(e["type"] == "kundonline.order.rated.v1" and e["data"]["order_id"] == order_id)

    read_record(kafka_bootstrap, topic, rated)
    assert count_records(kafka_bootstrap, topic, rated) == 1


def test_hostile_comments_are_refused_or_kept_as_text_never_a_5xx(
    http: httpx.Client, staff: Staff, system: System
) -> None:
    own = staff.portal_account(unique("Elak Kommentar AB"), unique("Hus L"), order_direct=False)
    facility = own["facility"]["id"]
    with visitor(system) as v:
        # 1 MB: refused with a page (the form parser's cap on one field is 1 MB), the link
        # still works.
        order_id = completed_order(http, staff, facility)
        token = token_for(system, order_id)
        for size in (2001, MB):
            big = v.post(
                f"/rating/{order_id}", data={"token": token, "score": "2", "comment": "a" * size}
            )
            assert big.status_code in (400, 422), (size, big.status_code)
            assert "Betygslänken är inte giltig." not in big.text, size
        # Script is kept as text.
        kept = v.post(f"/rating/{order_id}", data={"token": token, "score": "2", "comment": SCRIPT})
        assert kept.status_code == 200, kept.text
        # A NUL cannot be stored: the rating is kept without it, or the form says what is
        # wrong with the comment; never that the link is bad.
        nul_order = completed_order(http, staff, facility)
        data = {"token": token_for(system, nul_order), "score": "2", "comment": "a\x00b"}
        nul = v.post(f"/rating/{nul_order}", data=data)
        assert nul.status_code in (200, 422), nul.text
        assert "Betygslänken är inte giltig." not in nul.text, "a NUL is told as a bad link"
        if nul.status_code == 200:
            items = ratings_of(http, staff, own["customer"]["id"])["items"]
            assert [i["comment"] for i in items if i["order_id"] == nul_order] == ["ab"]
        # A lone surrogate and invalid UTF-8 in the form: replaced, never a 5xx.
        odd = completed_order(http, staff, facility)
        body = f"token={token_for(system, odd)}&score=4&comment=%ED%A0%80%FF%00x".encode()
        headers = {"content-type": "application/x-www-form-urlencoded"}
        reply = v.post(f"/rating/{odd}", content=body, headers=headers)
        assert reply.status_code in (200, 422), reply.text
        assert "Betygslänken är inte giltig." not in reply.text

    c = system.config
    desk = browser(http, c.admin_username, c.admin_password, staff=True)
    try:
        page = desk.get("/admin/ratings", params={"customer_id": own["customer"]["id"]})
    finally:
        desk.close()
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text or (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page.text
    )


def test_a_huge_body_on_the_rating_form_is_413_unread(
    http: httpx.Client, staff: Staff, system: System, shop: dict[str, Any]
) -> None:
    order_id = completed_order(http, staff, shop["facility"]["id"])
    token = token_for(system, order_id)
    headers = {"content-type": "application/x-www-form-urlencoded"}
    body = f"token={token}&score=5&comment=".encode() + b"a" * (7 * MB)
    with visitor(system) as v:
        reply = v.post(f"/rating/{order_id}", content=body, headers=headers)
        assert reply.status_code == 413, reply.status_code
        # Many fields instead of one long one.
        fields = "&".join(f"f{i}=x" for i in range(20000))
        many = v.post(
            f"/rating/{order_id}", content=f"token={token}&score=5&{fields}", headers=headers
        )
        assert many.status_code < 500, many.status_code
        assert v.get(f"/rating/{order_id}", params={"token": token}).status_code in (200, 409)


def test_a_post_without_the_link_rates_nothing_even_with_a_session(
    http: httpx.Client, staff: Staff, system: System, shop: dict[str, Any]
) -> None:
    """No CSRF token is asked for: the signed link is the credential, and a cross-site form
    without it, sent with the victim's session cookie, is refused."""
    order_id = completed_order(http, staff, shop["facility"]["id"])
    account = shop["account"]
    customer = browser(http, account["username"], account["password"], staff=False)
    try:
        headers = {"origin": "https://evil.example", "referer": "https://evil.example/"}
        for data in ({"score": "1"}, {"score": "1", "token": "x"}):
            reply = customer.post(f"/rating/{order_id}", data=data, headers=headers)
            assert reply.status_code in (403, 422), reply.status_code
    finally:
        customer.close()
    assert order_id not in rated(http, staff, shop["customer"]["id"])


def test_the_language_switch_never_leads_off_site(system: System) -> None:
    base = system.base_url.rstrip("/") + "/"
    nexts = [
        "//evil.example/",
        "///evil.example/",
        "/\\evil.example/",
        "/\t/evil.example/",
        "/\n/evil.example/",
        "/ /evil.example",
        "https://evil.example/",
        "http:/evil.example",
        "/%2F/evil.example",
        "/%5Cevil.example",
        "/\r\nSet-Cookie: kundonline_session=x",
        "javascript:alert(1)",
        "/rating/x?token=a&next=//evil.example",
    ]
    with visitor(system) as v:
        for target in nexts:
            reply = v.get("/language", params={"lang": "en", "next": target})
            assert reply.status_code in (302, 303, 307), (target, reply.status_code)
            location = reply.headers["location"]
            assert "\r" not in location and "\n" not in location, target
            assert "set-cookie: kundonline_session=x" not in str(reply.headers).lower(), target
            # As a browser resolves it: tabs and newlines are dropped, `\` is `/`.
            browser_view = location.replace("\t", "").replace("\\", "/")
            resolved = urlsplit(urljoin(base, browser_view))
            assert resolved.netloc == urlsplit(base).netloc, (target, location)


def test_no_rating_token_reaches_a_log(
    http: httpx.Client, staff: Staff, system: System, shop: dict[str, Any]
) -> None:
    order_id = completed_order(http, staff, shop["facility"]["id"])
    token = token_for(system, order_id)
    with visitor(system) as v:
        page = v.get(f"/rating/{order_id}", params={"token": token, "score": "4"})
        assert page.status_code == 200
        switch = v.get(
            "/language", params={"lang": "en", "next": f"/rating/{order_id}?token={token}"}
        )
        assert switch.status_code in (302, 303)
        assert v.post(f"/rating/{order_id}", data={"token": token, "score": "x"}).status_code == 422
        data = {"token": token, "score": "4", "comment": "a\x00"}
        assert v.post(f"/rating/{order_id}", data=data).status_code == 200
        assert v.post(f"/rating/{order_id}", data=data).status_code == 409
    signature = token.rsplit(".", 1)[1]

    def logs() -> str:
        return "\n".join(p.read_text(errors="replace") for p in Path(system.log_dir).glob("*.log"))

    text = logs()
    assert text, "no logs"
    assert signature not in text, "a rating link's token is in a log"


# --- duplicate-aware reporting ---------------------------------------------------------------


def joins_at_once(http: httpx.Client, staff: Staff, *pairs: tuple[str, str]) -> list[int]:
    """Each pair's join (the first with the second), all sent at the same moment."""
    start = threading.Barrier(len(pairs))

    def join(pair: tuple[str, str]) -> int:
        with httpx.Client(base_url=str(http.base_url), timeout=30) as own:
            start.wait(timeout=30)
            reply = own.post(
                f"/admin/api/faults/{pair[0]}/duplicate-of",
                json={"fault_id": pair[1]},
                headers=staff.h,
            )
            return reply.status_code

    with ThreadPoolExecutor(len(pairs)) as pool:
        return sorted(pool.map(join, pairs))


def test_two_opposite_joins_at_once_leave_one_join_and_no_circle(
    http: httpx.Client, staff: Staff, shop: dict[str, Any]
) -> None:
    facility = shop["facility"]["id"]
    for round_ in range(4):
        a = staff.report(shop["h"], facility, unique(f"Hissen A{round_}"))
        b = staff.report(shop["h"], facility, unique(f"Hissen B{round_}"))
        statuses = joins_at_once(http, staff, (a["id"], b["id"]), (b["id"], a["id"]))
        assert statuses == [200, 409], statuses
        states = {
            f["id"]: http.get(f"/admin/api/faults/{f['id']}", headers=staff.h).json()
            for f in (a, b)
        }
        kinds = sorted(s["status"] for s in states.values())
        assert kinds == ["duplicate", "new"], states
        joined = next(s for s in states.values() if s["status"] == "duplicate")
        assert states[joined["duplicate_of"]]["duplicate_of"] is None


def test_a_join_by_a_customer_or_across_customers_is_refused(
    http: httpx.Client, staff: Staff, shop: dict[str, Any]
) -> None:
    mine = staff.report(shop["h"], shop["facility"]["id"], unique("Min"))
    other = staff.portal_account(unique("Annan AB"), unique("Hus O"), order_direct=False)
    theirs = staff.report(other["h"], other["facility"]["id"], unique("Deras"))
    path = f"/admin/api/faults/{mine['id']}/duplicate-of"
    as_customer = http.post(path, json={"fault_id": theirs["id"]}, headers=shop["h"])
    assert as_customer.status_code in (401, 403), as_customer.status_code
    across = http.post(path, json={"fault_id": theirs["id"]}, headers=staff.h)
    assert across.status_code == 409 and across.json()["error"] == "not_same_place"
    for body in ({"fault_id": "x"}, {"fault_id": None}, {}, {"fault_id": mine["id"], "x": 1}):
        reply = http.post(path, json=body, headers=staff.h)
        assert reply.status_code in (404, 422), (body, reply.status_code)
    huge = http.post(
        path,
        content=b'{"fault_id": "' + b"a" * (7 * MB) + b'"}',
        headers={**staff.h, "content-type": "application/json"},
    )
    assert huge.status_code == 413
    assert http.get(f"/admin/api/faults/{mine['id']}", headers=staff.h).json()["status"] == "new"


def test_the_open_look_up_of_a_facility_not_linked_to_the_account_is_404(
    http: httpx.Client, staff: Staff, shop: dict[str, Any]
) -> None:
    # The same customer's other facility, on which a colleague has an open report.
    unlinked = staff.facility(shop["customer"]["id"], unique("Hus utan länk"))
    colleague = staff.account(shop["customer"]["id"], order_direct=False)
    staff.link(colleague["id"], [unlinked["id"]])
    h = bearer(login(http, colleague["username"], colleague["password"]))
    secret = unique("Hemligt fel")
    staff.report(h, unlinked["id"], secret)

    reply = http.get(f"/api/facilities/{unlinked['id']}/open", headers=shop["h"])
    assert reply.status_code == 404, reply.text
    assert set(reply.json()) == {"error", "message", "details"}
    listed = http.get(
        "/api/faults", params={"facility_id": unlinked["id"], "open": "true"}, headers=shop["h"]
    )
    assert listed.status_code == 200 and listed.json()["items"] == []
    for path in (f"/api/facilities/{uuid4()}/open", "/api/facilities/x/open"):
        assert http.get(path, headers=shop["h"]).status_code in (404, 422), path
    assert http.get(f"/api/facilities/{unlinked['id']}/open").status_code == 401

    account = shop["account"]
    page_client = browser(http, account["username"], account["password"], staff=False)
    try:
        form = page_client.get("/faults/new", params={"facility": unlinked["id"]})
    finally:
        page_client.close()
    assert form.status_code == 404, form.status_code  # as a QR label of it would be
    assert secret not in form.text


# --- staff's order CSV -----------------------------------------------------------------------


def test_no_cell_of_staffs_csv_becomes_a_formula_in_an_excel_of_the_other_locale(
    http: httpx.Client, staff: Staff, system: System
) -> None:
    customer = staff.customer(unique("=Kund AB"))
    facility = staff.facility(customer["id"], unique("@Plats"))
    for text in ("Läcker;=1+1;", "Läcker,=1+1,", "-2+3", "\t=1"):
        body = {"facility_id": facility["id"], "description": text}
        made = http.post("/admin/api/orders", json=body, headers=staff.h)
        assert made.status_code == 201, made.text
    c = system.config
    desk = browser(http, c.admin_username, c.admin_password, staff=True)
    try:
        files = {}
        for lang in ("sv", "en"):
            desk.cookies.set("kundonline_lang", lang)
            reply = desk.get("/admin/orders.csv", params={"customer_id": customer["id"]})
            assert reply.status_code == 200, reply.status_code
            files[lang] = reply.content.decode("utf-8-sig")
    finally:
        desk.close()
    # A customer's session is no staff login.
    account = staff.account(customer["id"], order_direct=False)
    customer_browser = browser(http, account["username"], account["password"], staff=False)
    try:
        theirs = customer_browser.get("/admin/orders.csv", params={"customer_id": customer["id"]})
        assert not theirs.headers.get("content-type", "").startswith("text/csv")
    finally:
        customer_browser.close()

    for lang, text in files.items():
        assert len(text.splitlines()) == 5, text
        # Read as an Excel of either locale reads it: split at ';' and at ','.
        for separator in (";", ","):
            for row in csv.reader(io.StringIO(text), delimiter=separator):
                for cell in row:
                    assert not cell.startswith(("=", "+", "-", "@", "\t")), (lang, separator, row)


# --- the new pages with what a hand-edited address or form holds ----------------------------


def test_the_new_pages_answer_odd_filters_and_forms_with_4xx_or_a_page_never_5xx(
    http: httpx.Client, staff: Staff, system: System, shop: dict[str, Any]
) -> None:
    fault = staff.report(shop["h"], shop["facility"]["id"], unique("Udda"))
    c = system.config
    desk = browser(http, c.admin_username, c.admin_password, staff=True)
    account = shop["account"]
    customer = browser(http, account["username"], account["password"], staff=False)
    odd = ["x", "%00", str(uuid4()), "'; drop table ratings;--", "a" * 5000]
    try:
        for value in odd:
            for path, params in (
                ("/admin/ratings", {"customer_id": value}),
                ("/admin/ratings", {"facility_id": value}),
                ("/admin/ratings", {"cursor": value}),
                ("/admin/orders.csv", {"customer_id": value}),
                ("/admin/orders.csv", {"status": value}),
                ("/admin/orders.csv", {"cursor": value}),
            ):
                reply = desk.get(path, params=params)
                assert reply.status_code < 500, (path, params, reply.status_code)
            page = customer.get("/faults/new", params={"facility": value})
            assert page.status_code < 500, (value, page.status_code)
            looked = http.get(f"/api/facilities/{value}/open", headers=shop["h"])
            assert looked.status_code in (404, 422), (value, looked.status_code)

        join = f"/admin/faults/{fault['id']}/duplicate-of"
        # Without the CSRF token: refused before anything is done.
        assert desk.post(join, data={"fault_id": str(uuid4())}).status_code == 403
        csrf = desk.cookies["kundonline_csrf"]
        for value in ["", "x", str(uuid4()), fault["id"], "\x00"]:
            reply = desk.post(join, data={"csrf_token": csrf, "fault_id": value})
            assert reply.status_code in (303, 404, 422), (value, reply.status_code)
    finally:
        desk.close()
        customer.close()
    state = http.get(f"/admin/api/faults/{fault['id']}", headers=staff.h).json()
    assert state["status"] == "new"


def join(http: httpx.Client, staff: Staff, one: dict[str, Any], other: dict[str, Any]) -> None:
    reply = http.post(
        f"/admin/api/faults/{one['id']}/duplicate-of",
        json={"fault_id": other["id"]},
        headers=staff.h,
    )
    assert reply.status_code == 200, reply.text


def reporters_page(http: httpx.Client, shop: dict[str, Any], fault: dict[str, Any]) -> str:
    """The page of the shop's report `fault`, as its reporter's browser shows it."""
    account = shop["account"]
    customer = browser(http, account["username"], account["password"], staff=False)
    # closing, not the client's own `with`: it has logged in already, and httpx opens a
    # client once.
    with contextlib.closing(customer):
        page = customer.get(f"/faults/{fault['id']}")
    assert page.status_code == 200
    return page.text


def test_a_report_joined_with_one_later_joined_onwards_shows_the_order_it_follows(
    http: httpx.Client, staff: Staff, shop: dict[str, Any]
) -> None:
    """A with B, then B with C, which has an order: A's page names C's order, as the
    timeline already follows it."""
    facility = shop["facility"]["id"]
    a, b, c = (staff.report(shop["h"], facility, unique(f"Kedja {n}")) for n in "ABC")
    made = http.post(f"/admin/api/faults/{c['id']}/create-order", headers=staff.h)
    assert made.status_code == 200, made.text
    join(http, staff, a, b)
    join(http, staff, b, c)

    def ordered() -> dict[str, Any] | None:
        found: dict[str, Any] = http.get(f"/api/faults/{c['id']}", headers=shop["h"]).json()
        return found if found.get("order_id") else None

    order = eventually(ordered, what="C's order")
    assert f'href="/orders/{order["order_id"]}"' in reporters_page(http, shop, a)


def test_rejecting_a_report_others_follow_rejects_them_too_and_mails_their_reporters(
    http: httpx.Client,
    staff: Staff,
    shop: dict[str, Any],
    smtp_sink: SmtpSink,
    system: System,
    kafka_bootstrap: str,
) -> None:
    post = PostRoom(http, staff, smtp_sink, system, kafka_bootstrap)
    facility, marker = shop["facility"]["id"], unique("avslag")
    addresses = [address(f"avslag{n}") for n in "ABC"]
    a, b, c = (
        post.report(shop["h"], facility, f"{marker} {n}", email)
        for n, email in zip("ABC", addresses, strict=True)
    )
    join(http, staff, a, c)
    join(http, staff, b, c)
    rejected = http.post(
        f"/admin/api/faults/{c['id']}/reject", json={"reason": "Inget fel"}, headers=staff.h
    )
    assert rejected.status_code == 200, rejected.text
    for follower in (a, b):
        seen = http.get(f"/api/faults/{follower['id']}", headers=shop["h"]).json()
        assert (seen["status"], seen["reason"]) == ("rejected", "Inget fel"), seen
    # Each reporter gets the ordinary rejection mail, the followers' as the target's.
    for email in addresses:
        (mail,) = smtp_sink.wait_for(to(email, "fault_rejected"), timeout=60)
        assert "Inget fel" in plain(mail)


def test_a_long_chain_of_joins_still_shows_the_order_at_its_end(
    http: httpx.Client, staff: Staff, shop: dict[str, Any]
) -> None:
    facility = shop["facility"]["id"]
    chain = [staff.report(shop["h"], facility, unique(f"Lång kedja {n}")) for n in range(7)]
    made = http.post(f"/admin/api/faults/{chain[-1]['id']}/create-order", headers=staff.h)
    assert made.status_code == 200, made.text
    # Each report is joined with the next while that one is still the end of the chain.
    for one, other in itertools.pairwise(chain):
        join(http, staff, one, other)
    assert 'href="/orders/' in reporters_page(http, shop, chain[0])
