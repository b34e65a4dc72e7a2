"""What must hold after any fault injection: nothing accepted lost, nothing done twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import asyncpg
import httpx

from kundonline_devstack.smtp_sink import SmtpSink
from tests.helpers import eventually
from tests.resilience.load import Workload


def _pages(http: httpx.Client, path: str, headers: dict[str, str], **params: Any) -> list[Any]:
    items: list[Any] = []
    cursor = None
    while True:
        query = {"limit": 200, **params, **({"cursor": cursor} if cursor else {})}
        page = http.get(path, params=query, headers=headers).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def _statuses(http: httpx.Client, headers: dict[str, str], ids: list[str]) -> dict[str, str]:
    """Every fault's status, read from the staff lists (a few pages, not one call each)."""
    wanted = set(ids)
    found = {
        f["id"]: status
        for status in ("new", "accepted", "order_created", "rejected")
        for f in _pages(http, "/admin/api/faults", headers, status=status)
        if f["id"] in wanted
    }
    return {i: found.get(i, "missing") for i in ids}


def _orders_by_fault(http: httpx.Client, headers: dict[str, str], facility: str) -> Counter[str]:
    orders = _pages(http, "/admin/api/orders", headers, facility_id=facility)
    return Counter(o["fault_id"] for o in orders if o["fault_id"])


async def _outbox_rows(urls: list[str]) -> int:
    total = 0
    for url in urls:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            total += await conn.fetchval("SELECT count(*) FROM outbox")
        finally:
            await conn.close()
    return total


def assert_nothing_lost_nothing_twice(
    workload: Workload,
    http: httpx.Client,
    staff_headers: dict[str, str],
    smtp: SmtpSink,
    database_urls: list[str],
    timeout: float = 300,
    allowed_resends: int = 0,
) -> dict[str, Any]:
    ids = [a.fault_id for a in workload.accepted]
    direct = {a.fault_id for a in workload.direct}

    def settled() -> bool:
        statuses = _statuses(http, staff_headers, ids)
        assert "missing" not in statuses.values(), "an accepted report is gone"
        return all(statuses[f] == "order_created" for f in direct) and all(
            statuses[f] == "new" for f in ids if f not in direct
        )

    eventually(settled, timeout=timeout, what="every report settled")
    facility = workload.reporters[0].facility_id
    orders = _orders_by_fault(http, staff_headers, facility)
    assert {f: n for f, n in orders.items() if n != 1} == {}, "a fault has two orders"
    assert set(orders) == direct, "an Order direkt fault has no order, or a queued one has"

    expected = {a.contact: 2 if a.order_direct else 1 for a in workload.accepted}

    def mails_in() -> bool:
        distinct = {(str(m["To"]), str(m["Message-ID"])) for m in _ours(smtp, expected)}
        return Counter(to for to, _ in distinct) == expected

    eventually(mails_in, timeout=timeout, what="every e-mail delivered")
    copies = Counter(str(m["Message-ID"]) for m in _ours(smtp, expected))
    resent = sum(n - 1 for n in copies.values())
    # Two notifications for one event would carry two Message-IDs; that never passes.
    # The same Message-ID twice is SMTP's own window (RFC 1047): a kill after the server's
    # "250 OK" and before "sent" is saved. Only a notify kill may open it.
    assert resent <= allowed_resends, f"{resent} e-mails were sent twice"
    eventually(
        lambda: asyncio.run(_outbox_rows(database_urls)) == 0,
        timeout=timeout,
        what="every outbox drained",
    )
    return {**workload.summary(), "orders": len(orders), "mails": len(copies), "resent": resent}


def _ours(smtp: SmtpSink, expected: dict[str, int]) -> list[Any]:
    return [m for m in smtp.messages() if str(m["To"]) in expected]
