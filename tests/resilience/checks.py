"""What must hold after any fault injection: nothing accepted lost, nothing done twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import httpx

from kundonline_devstack.smtp_sink import SmtpSink
from tests.helpers import eventually
from tests.resilience.load import Workload


def _statuses(http: httpx.Client, headers: dict[str, str], ids: list[str]) -> dict[str, str]:
    def one(fault_id: str) -> tuple[str, str]:
        reply = http.get(f"/admin/api/faults/{fault_id}", headers=headers)
        return fault_id, reply.json()["status"] if reply.status_code == 200 else "missing"

    with ThreadPoolExecutor(8) as pool:
        return dict(pool.map(one, ids))


def _orders_by_fault(http: httpx.Client, headers: dict[str, str], facility: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    cursor = None
    while True:
        params = {"facility_id": facility, "limit": 200, **({"cursor": cursor} if cursor else {})}
        page = http.get("/admin/api/orders", params=params, headers=headers).json()
        counts.update(o["fault_id"] for o in page["items"] if o["fault_id"])
        cursor = page["next_cursor"]
        if not cursor:
            return counts


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
