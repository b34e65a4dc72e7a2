"""What must hold after any fault injection: nothing accepted lost, nothing done twice.

Read straight from each service's database, the record of what the system did: a few
queries, however many reports a scenario sends.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from typing import Any
from uuid import UUID

import asyncpg

from kundonline_devstack.smtp_sink import SmtpSink
from tests.helpers import eventually, run_async
from tests.resilience.load import Workload


async def _query(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        records: list[asyncpg.Record] = await conn.fetch(sql, *args)
        return records
    finally:
        await conn.close()


def _statuses(urls: dict[str, str], ids: list[UUID]) -> dict[UUID, str]:
    rows = run_async(
        _query(urls["faults"], "SELECT id, status FROM faults WHERE id = ANY($1)", ids)
    )
    found = {r["id"]: r["status"] for r in rows}
    return {i: found.get(i, "missing") for i in ids}


def _orders_by_fault(urls: dict[str, str], ids: list[UUID]) -> Counter[UUID]:
    sql = "SELECT fault_id, count(*) AS n FROM orders WHERE fault_id = ANY($1) GROUP BY fault_id"
    rows = run_async(_query(urls["orders"], sql, ids))
    return Counter({UUID(str(r["fault_id"])): r["n"] for r in rows})


def _outbox_rows(urls: dict[str, str]) -> int:
    return sum(
        run_async(_query(url, "SELECT count(*) AS n FROM outbox"))[0]["n"] for url in urls.values()
    )


def assert_nothing_lost_nothing_twice(
    workload: Workload,
    smtp: SmtpSink,
    database_urls: dict[str, str],
    timeout: float = 300,
    allowed_resends: int = 0,
    accepted_by_staff: Collection[str] = (),
) -> dict[str, Any]:
    """Every accepted report is in the faults database; each Order direkt report and each
    one staff accepted (`accepted_by_staff`, fault ids) has exactly one order, the others
    none; every mail arrived, at most `allowed_resends` twice; every outbox is empty."""
    ids = [UUID(a.fault_id) for a in workload.accepted]
    ordered = {UUID(a.fault_id) for a in workload.direct} | {UUID(f) for f in accepted_by_staff}
    assert len(set(ids)) == len(ids), "two accepted reports got the same id"
    statuses = _statuses(database_urls, ids)
    assert [i for i, s in statuses.items() if s == "missing"] == [], "an accepted report is gone"

    def settled() -> bool:
        statuses = _statuses(database_urls, ids)
        return all(statuses[f] == "order_created" for f in ordered) and all(
            statuses[f] == "new" for f in ids if f not in ordered
        )

    eventually(settled, timeout=timeout, what="every Order direkt report has its order")
    orders = _orders_by_fault(database_urls, ids)
    assert {f: n for f, n in orders.items() if n != 1} == {}, "a fault has two orders"
    assert set(orders) == ordered, "an Order direkt fault has no order, or a queued one has"

    # A receipt for every report, and word of the order where there is one.
    expected = {a.contact: 2 if UUID(a.fault_id) in ordered else 1 for a in workload.accepted}
    inbox = _Inbox(smtp, expected)
    eventually(inbox.complete, timeout=timeout, what="every e-mail delivered")
    resent = sum(n - 1 for n in inbox.copies.values())
    # Two notifications for one event would carry two Message-IDs; that never passes.
    # The same Message-ID twice is SMTP's own window (RFC 1047): a kill after the server's
    # "250 OK" and before "sent" is saved. Only a notify kill may open it.
    assert resent <= allowed_resends, f"{resent} e-mails were sent twice"
    eventually(lambda: _outbox_rows(database_urls) == 0, timeout=timeout, what="outboxes empty")
    mails = len(inbox.copies)
    return {**workload.summary(), "orders": len(orders), "mails": mails, "resent": resent}


class _Inbox:
    """The scenario's mails in the sink, read as they arrive: the sink runs in this process,
    and re-reading thousands of messages on every poll would starve it."""

    def __init__(self, smtp: SmtpSink, expected: dict[str, int]) -> None:
        self.smtp, self.expected = smtp, expected
        self.copies: Counter[tuple[str, str]] = Counter()  # (recipient, Message-ID)
        self._read = 0

    def complete(self) -> bool:
        arrived = self.smtp.messages()[self._read :]
        self._read += len(arrived)
        for message in arrived:
            to = str(message["To"])
            if to in self.expected:
                self.copies[(to, str(message["Message-ID"]))] += 1
        mails = Counter(to for to, _ in self.copies)
        # Said when the wait ends without them: which are missing, and which are one too many.
        missing = sorted(to for to, n in self.expected.items() if mails[to] < n)
        extra = sorted(to for to, n in self.expected.items() if mails[to] > n)
        assert not missing and not extra, (
            f"{len(missing)} recipients lack a mail (e.g. {missing[:3]}), "
            f"{len(extra)} have more mails than expected (e.g. {extra[:3]})"
        )
        return True
