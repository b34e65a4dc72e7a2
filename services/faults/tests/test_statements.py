"""The statements a report and an OrderCreated cost on PostgreSQL, pinned: at a quiet 50
reports/s every round trip counts directly in CPU per report, so one more must be a choice."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from faults_app import SECRET, Service, service_on

from kundonline_common.consumer import apply_all
from kundonline_common.testing import delivery, statements_sent, verb_and_table
from kundonline_common.tokens import HEADER, Caller, issue_token
from kundonline_contracts import OrderCreated, wrap
from kundonline_faults.handlers import EVENT_HANDLERS

pytestmark = pytest.mark.integration


@pytest.fixture
async def service(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Service]:
    async with service_on("postgresql", request, tmp_path) as service:
        yield service


async def report(service: Service, account: UUID, facility: UUID, key: str) -> str:
    caller = Caller(subject=str(account), role="account", flags={"order_direct": True})
    headers = {HEADER: issue_token(caller, SECRET), "Idempotency-Key": key}
    body = {"facility_id": str(facility), "description": "Hissen står still"}
    reply = await service.http.post("/api/faults", json=body, headers=headers)
    assert reply.status_code == 201, reply.text
    fault_id: str = reply.json()["id"]
    return fault_id


async def test_a_report_costs_its_insert_and_its_outbox(service: Service) -> None:
    account, facility = uuid4(), uuid4()
    await service.link(account, facility)
    await report(service, account, facility, "k-0")  # statements are prepared once
    await report(service, account, facility, "k-0")
    with statements_sent(service.db) as sent:
        await report(service, account, facility, "k-1")
    # The account's link and the key are checked by the insert itself (INSERT … SELECT …
    # ON CONFLICT DO NOTHING): the key is looked up only when nothing went in.
    assert [verb_and_table(s) for s in sent] == ["INSERT INTO faults", "INSERT INTO outbox"]
    with statements_sent(service.db) as sent:
        await report(service, account, facility, "k-1")
    assert [verb_and_table(s) for s in sent] == ["INSERT INTO faults", "SELECT FROM faults"]


async def test_an_order_created_costs_its_claim_and_one_update(service: Service) -> None:
    account, facility = uuid4(), uuid4()
    await service.link(account, facility)
    faults = [UUID(await report(service, account, facility, f"k-{i}")) for i in range(2)]

    async def consume(fault_id: UUID, number: int) -> None:
        order = OrderCreated(
            order_id=uuid4(),
            order_number=number,
            fault_id=fault_id,
            customer_id=uuid4(),
            facility_id=facility,
            description="Hissen står still",
            created_at=datetime.now(UTC),
            origin="order_direct",
        )
        envelope = wrap(order, source="kundonline/orders")
        async with service.unit_of_work() as uow:
            assert await uow.claim_all("faults", [envelope.id]) == {envelope.id}
            await apply_all(uow, [delivery(EVENT_HANDLERS, envelope, order)])

    await consume(faults[0], 1001)
    with statements_sent(service.db) as sent:
        await consume(faults[1], 1002)
    assert [verb_and_table(s) for s in sent] == [
        "INSERT INTO processed_events",
        "UPDATE faults SET",
    ]
    assert (await service.get(faults[1])).order_number == 1002
