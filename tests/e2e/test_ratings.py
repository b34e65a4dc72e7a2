"""Rating a completed order through the running system: the completion mail in the real SMTP
sink carries five signed links; following one opens the gateway's form without a login and
changes nothing; sending it rates the order once (staff's API and page show it, OrderRated
is on Kafka); a second send, a changed link and a link of another order are refused."""

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from kundonline_devstack.smtp_sink import SmtpSink
from kundonline_devstack.system import System
from tests.e2e.test_conversation_pages import browser
from tests.e2e.test_notifications import (
    NOTIFY_GROUP,
    PostRoom,
    address,
    order_of,
    portal_account,
    to,
    unique,
)
from tests.helpers import Staff, html, plain, read_record, wait_consumed

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def post(
    http: httpx.Client, staff: Staff, smtp_sink: SmtpSink, system: System, kafka_bootstrap: str
) -> Iterator[PostRoom]:
    """Mail whose links lead to this system's gateway: public_url is its address."""
    before = http.get("/admin/api/settings", headers=staff.h).json()
    room = PostRoom(http, staff, smtp_sink, system, kafka_bootstrap)
    # A slash more or less tells this change from the one before; links are made without it.
    url = system.base_url if before["public_url"] != system.base_url else f"{system.base_url}/"
    staff.settings(public_url=url)
    record = read_record(
        kafka_bootstrap,
        f"{system.config.topic_prefix}settings",
        lambda e: e["data"]["settings"]["public_url"] == url,
    )
    wait_consumed(kafka_bootstrap, NOTIFY_GROUP, record.topic, record.partition, record.offset)
    yield room
    assert http.put("/admin/api/settings", json=before, headers=staff.h).status_code == 200


@pytest.fixture(scope="module")
def completed(http: httpx.Client, staff: Staff, post: PostRoom) -> dict[str, Any]:
    """An Order direkt report, its order taken to completed by staff, and the reporter's mail."""
    customer = staff.customer(unique("Betyg AB"))
    facility = staff.facility(customer["id"], unique("Värmecentral"))
    shop = {"customer": customer, "facility": facility}
    h = portal_account(staff, http, shop, order_direct=True)
    contact = address("betyg")
    fault = post.report(h, facility["id"], unique("Elementen är kalla"), contact)
    order_id = order_of(http, h, fault["id"])["order_id"]
    for status in ("started", "completed"):
        reply = http.patch(
            f"/admin/api/orders/{order_id}", json={"status": status}, headers=staff.h
        )
        assert reply.status_code == 200, reply.text
    (mail,) = post.sink.wait_for(to(contact, "order_completed"))
    return {"order_id": order_id, "mail": mail, "shop": shop, "h": h}


def links_in(mail_text: str, base_url: str) -> list[str]:
    return re.findall(re.escape(base_url.rstrip("/")) + r"/rating/\S+", mail_text)


def test_a_mail_link_rates_the_order_once_and_staff_see_it(
    completed: dict[str, Any],
    http: httpx.Client,
    staff: Staff,
    system: System,
    kafka_bootstrap: str,
) -> None:
    order_id, mail = completed["order_id"], completed["mail"]
    links = links_in(plain(mail), system.base_url)
    assert [parse_qs(urlsplit(u).query)["score"] for u in links] == [[str(s)] for s in range(1, 6)]
    assert html(mail).count(f"/rating/{order_id}?token=") == 5
    four = urlsplit(links[3])
    token = parse_qs(four.query)["token"][0]

    with httpx.Client(base_url=system.base_url, timeout=15) as visitor:  # no login at all
        for _ in range(2):  # a mail scanner's visit first: opening the link uses nothing up
            page = visitor.get(f"{four.path}?{four.query}")
            assert page.status_code == 200, page.text
            assert 'value="4" required checked' in page.text
        sent = visitor.post(
            four.path, data={"token": token, "score": "4", "comment": "Snabbt <b>och</b> bra"}
        )
        assert sent.status_code == 200, sent.text
        assert "Tack för ditt betyg" in sent.text

        again = visitor.post(four.path, data={"token": token, "score": "1"})
        assert again.status_code == 409 and "redan betygsatt" in again.text
        assert visitor.get(f"{four.path}?{four.query}").status_code == 409

    customer_id = completed["shop"]["customer"]["id"]
    facility_id = completed["shop"]["facility"]["id"]
    for params in ({"customer_id": customer_id}, {"facility_id": facility_id}):
        found = http.get("/admin/api/ratings", params=params, headers=staff.h).json()
        assert (found["count"], found["average"]) == (1, 4.0), found
        (item,) = found["items"]
        assert (item["order_id"], item["score"]) == (order_id, 4)
        assert item["comment"] == "Snabbt <b>och</b> bra"

    record = read_record(
        kafka_bootstrap,
        f"{system.config.topic_prefix}orders",
        lambda e: e["type"] == "kundonline.order.rated.v1" and e["data"]["order_id"] == order_id,
    )
    assert record.key == order_id.encode()

    c = system.config
    desk = browser(http, c.admin_username, c.admin_password, staff=True)
    try:
        page = desk.get("/admin/ratings", params={"customer_id": customer_id})
    finally:
        desk.close()
    assert page.status_code == 200
    assert (
        "Snabbt &lt;b&gt;och&lt;/b&gt; bra" in page.text and "1 betyg, i snitt 4 av 5" in page.text
    )


def test_no_log_holds_a_rating_link(completed: dict[str, Any], system: System) -> None:
    """Its token is a credential: no service logs it (nor would a URL with `token=` in a log
    line show it: the logs redact that parameter)."""
    token = parse_qs(urlsplit(links_in(plain(completed["mail"]), system.base_url)[0]).query)
    with httpx.Client(base_url=system.base_url, timeout=15) as visitor:
        visitor.get(f"/rating/{completed['order_id']}", params={"token": token["token"][0]})
    logs = "".join(p.read_text(errors="replace") for p in system.log_dir.glob("*.log"))
    assert logs, "the services wrote no logs at all"
    assert token["token"][0] not in logs


def test_a_changed_or_foreign_link_is_refused_with_a_page(
    completed: dict[str, Any], system: System
) -> None:
    order_id = completed["order_id"]
    token = parse_qs(urlsplit(links_in(plain(completed["mail"]), system.base_url)[0]).query)[
        "token"
    ][0]
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    other = "00000000-0000-4000-8000-000000000000"
    with httpx.Client(base_url=system.base_url, timeout=15) as visitor:
        for path, t in ((f"/rating/{order_id}", forged), (f"/rating/{other}", token)):
            shown = visitor.get(path, params={"token": t, "score": "5"})
            sent = visitor.post(path, data={"token": t, "score": "5"})
            for reply in (shown, sent):
                assert reply.status_code == 403, reply.text
                assert "Betygslänken är inte giltig." in reply.text


def test_only_staff_read_ratings(
    completed: dict[str, Any], http: httpx.Client, staff: Staff
) -> None:
    customer = http.get("/admin/api/ratings", headers=completed["h"])
    assert customer.status_code == 401  # a customer's token is no staff login
    assert http.get("/admin/api/ratings").status_code == 401
    bad = http.get("/admin/api/ratings", params={"customer_id": "x"}, headers=completed["h"])
    assert bad.status_code == 401
    malformed = http.get("/admin/api/ratings", params={"customer_id": "x"}, headers=staff.h)
    assert malformed.status_code == 422 and malformed.json()["error"]
    # The gateway's own calls are not reachable from outside.
    assert http.get(f"/internal/ratings/{completed['order_id']}").status_code == 404
