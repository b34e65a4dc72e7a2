"""Helpers for tests against the running system: polling with a deadline, and a portal client."""

import asyncio
import csv
import io
import json
import time
import uuid
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from typing import Any, TypeVar

import httpx
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from PIL import Image

T = TypeVar("T")


def eventually(probe: Callable[[], T | None], *, timeout: float = 20.0, what: str = "") -> T:
    """Poll until `probe` returns something truthy; events cross services asynchronously."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except AssertionError as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(0.05)  # poll interval; the deadline above bounds the wait
    raise AssertionError(f"not within {timeout}s: {what or probe}; last: {last!r}")


def image(kind: str = "PNG", size: tuple[int, int] = (8, 8)) -> bytes:
    """A real, tiny JPEG or PNG (or any format Pillow writes)."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, kind)
    return buffer.getvalue()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(http: httpx.Client, username: str, password: str, *, staff: bool = False) -> str:
    path = "/admin/api/auth/login" if staff else "/api/auth/login"
    reply = http.post(path, json={"username": username, "password": password})
    assert reply.status_code == 200, reply.text
    # Bearer tokens only: a shared client must not carry someone's session cookie on.
    http.cookies.clear()
    token: str = reply.json()["access_token"]
    return token


def created(reply: httpx.Response) -> dict[str, Any] | None:
    """The body of a 201, or None while the system has not caught up yet (a 422/404)."""
    if reply.status_code == 201:
        body: dict[str, Any] = reply.json()
        return body
    assert reply.status_code in (404, 422), reply.text
    return None


class Staff:
    """Drives the staff API to set up customers the way an administrator would."""

    def __init__(self, http: httpx.Client, token: str) -> None:
        self.http = http
        self.h = bearer(token)

    def customer(
        self, name: str = "Fastighets AB", email: str = "vr@example.com"
    ) -> dict[str, Any]:
        body = {"name": name, "our_reference": {"name": "Vera Referens", "email": email}}
        reply = self.http.post("/admin/api/customers", json=body, headers=self.h)
        assert reply.status_code == 201, reply.text
        customer: dict[str, Any] = reply.json()
        return customer

    def facility(self, customer_id: str, name: str, **fields: Any) -> dict[str, Any]:
        body = {"customer_id": customer_id, "name": name, **fields}
        reply = self.http.post("/admin/api/facilities", json=body, headers=self.h)
        assert reply.status_code == 201, reply.text
        facility: dict[str, Any] = reply.json()
        return facility

    def account(self, customer_id: str, *, order_direct: bool, **fields: Any) -> dict[str, Any]:
        username = f"kund-{uuid.uuid4().hex[:8]}"
        body = {
            "customer_id": customer_id,
            "name": "Kalle Kund",
            "username": username,
            "password": "ett-bra-losenord",
            "email": f"{username}@example.com",
            "order_direct": order_direct,
            **fields,
        }
        # auth learns of the customer from the masterdata topic a moment after it is created.
        account = eventually(
            lambda: created(self.http.post("/admin/api/accounts", json=body, headers=self.h)),
            what="account created",
        )
        return {**account, "password": body["password"]}

    def portal_account(
        self,
        customer_name: str,
        facility_name: str,
        *,
        order_direct: bool,
        city: str = "",
        **account_fields: Any,
    ) -> dict[str, Any]:
        """A customer with one facility (in `city`) and a logged-in account (with
        `account_fields` besides the defaults) linked to it, once the gateway's services know
        of the link: customer, facility, account and h (its bearer header)."""
        customer = self.customer(customer_name)
        facility = self.facility(customer["id"], facility_name, city=city)
        account = self.account(customer["id"], order_direct=order_direct, **account_fields)
        self.link(account["id"], [facility["id"]])
        h = bearer(login(self.http, account["username"], account["password"]))

        def linked() -> list[Any] | None:
            # Until orders has the account's link it may answer with an error, not a list.
            reply = self.http.get("/api/facilities", headers=h)
            assert reply.status_code == 200, reply.text
            items: list[Any] = reply.json()["items"]
            return items

        eventually(linked, what="facility linked")
        return {"customer": customer, "facility": facility, "account": account, "h": h}

    def link(self, account_id: str, facility_ids: list[str]) -> None:
        def _put() -> bool:
            reply = self.http.put(
                f"/admin/api/accounts/{account_id}/facilities",
                json={"facility_ids": facility_ids},
                headers=self.h,
            )
            assert reply.status_code in (200, 422), reply.text
            return reply.status_code == 200

        eventually(_put, what="facilities linked")

    def link_projects(self, account_id: str, project_ids: list[str]) -> None:
        def _put() -> bool:
            reply = self.http.put(
                f"/admin/api/accounts/{account_id}/projects",
                json={"project_ids": project_ids},
                headers=self.h,
            )
            assert reply.status_code in (200, 422), reply.text
            return reply.status_code == 200

        eventually(_put, what="projects linked")

    def patch_account(self, account_id: str, **changes: Any) -> dict[str, Any]:
        reply = self.http.patch(f"/admin/api/accounts/{account_id}", json=changes, headers=self.h)
        assert reply.status_code == 200, reply.text
        account: dict[str, Any] = reply.json()
        return account

    def report(self, headers: dict[str, str], facility_id: str, text: str) -> dict[str, Any]:
        """A customer's fault report, once faults knows of the account's links."""
        body = {"facility_id": facility_id, "description": text}

        def attempt() -> dict[str, Any] | None:
            reply = self.http.post("/api/faults", json=body, headers=headers)
            assert reply.status_code in (201, 404), reply.text
            return reply.json() if reply.status_code == 201 else None

        return eventually(attempt, what="fault reported")

    def order_of(self, headers: dict[str, str], fault_id: str) -> str:
        """The id of the order an Order direkt report became, once orders has made it."""

        def made() -> str | None:
            fault = self.http.get(f"/api/faults/{fault_id}", headers=headers).json()
            order_id: str | None = fault.get("order_id")
            return order_id

        return eventually(made, what="the report became an order")

    def settings(self, **changes: Any) -> dict[str, Any]:
        current = self.http.get("/admin/api/settings", headers=self.h).json()
        reply = self.http.put("/admin/api/settings", json={**current, **changes}, headers=self.h)
        assert reply.status_code == 200, reply.text
        settings: dict[str, Any] = reply.json()
        return settings


def listed_orders(http: httpx.Client, who: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """The orders a portal account (`who`, as Staff.portal_account makes it) sees, once
    there are at least `count` of them."""

    def listed() -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = http.get("/api/orders", headers=who["h"]).json()["items"]
        return items if len(items) >= count else None

    return eventually(listed, what=f"{count} orders listed")


def csv_rows(reply: httpx.Response) -> list[list[str]]:
    """The rows of a CSV download, checked to be one as Excel reads it: UTF-8 with a byte
    order mark, cells split at ';'."""
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "text/csv; charset=utf-8"
    assert reply.content.startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    return list(csv.reader(io.StringIO(reply.content[3:].decode()), delimiter=";"))


def plain(mail: EmailMessage) -> str:
    """The text part of a mail; every mail is sent with a text and an HTML part."""
    part = mail.get_body(("plain",))
    assert part is not None, "the mail has no text part"
    text: str = part.get_content()
    return text


def html(mail: EmailMessage) -> str:
    """The HTML part of a mail."""
    part = mail.get_body(("html",))
    assert part is not None, "the mail has no HTML part"
    text: str = part.get_content()
    return text


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from synchronous test code, on a thread of its own.

    Not asyncio.run here: Playwright's sync API keeps a loop running on the main thread for
    the rest of a session that has run the browser tests, and asyncio.run refuses to nest.
    """
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def read_record(
    bootstrap: str, topic: str, match: Callable[[dict[str, Any]], bool], *, timeout: float = 20.0
) -> ConsumerRecord:
    """The first record on `topic` whose decoded envelope matches, waiting for it to appear."""

    async def _read() -> ConsumerRecord:
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
        )
        await consumer.start()
        try:
            async with asyncio.timeout(timeout):
                while True:
                    batches = await consumer.getmany(timeout_ms=500)
                    for record in (r for rs in batches.values() for r in rs):
                        if _matches(match, record):
                            return record
        finally:
            await consumer.stop()

    return run_async(_read())


def _matches(match: Callable[[dict[str, Any]], bool], record: ConsumerRecord) -> bool:
    """Poison on a topic (not JSON, or not shaped as `match` expects) matches nothing."""
    try:
        return bool(match(json.loads(record.value)))
    except (ValueError, TypeError, KeyError, AttributeError):
        return False


def wait_consumed(
    bootstrap: str, group: str, topic: str, partition: int, offset: int, *, timeout: float = 30.0
) -> None:
    """Wait until consumer group `group` has committed past `offset`: its effects are stored."""

    async def _wait() -> None:
        position = TopicPartition(topic, partition)
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            async with asyncio.timeout(timeout):
                while True:
                    offsets = await admin.list_consumer_group_offsets(group, partitions=[position])
                    committed = offsets.get(position)
                    if committed is not None and committed.offset > offset:
                        return
                    await asyncio.sleep(0.1)  # poll interval; the timeout bounds the wait
        finally:
            await admin.close()

    run_async(_wait())
