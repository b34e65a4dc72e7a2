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

    def mails_in() -> Counter[str]:
        got = Counter(str(m["To"]) for m in smtp.messages() if str(m["To"]) in expected)
        return got if got == expected else Counter()

    eventually(lambda: bool(mails_in()), timeout=timeout, what="every e-mail delivered")
    ours = [m for m in smtp.messages() if str(m["To"]) in expected]
    ids_seen = Counter(str(m["Message-ID"]) for m in ours)
    assert [i for i, n in ids_seen.items() if n > 1] == [], "an e-mail was sent twice"
    eventually(
        lambda: asyncio.run(_outbox_rows(database_urls)) == 0,
        timeout=timeout,
        what="every outbox drained",
    )
    return {**workload.summary(), "orders": len(orders), "mails": len(ours)}
