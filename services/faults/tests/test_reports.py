"""Reporting a fault on a real database: stored with its account's customer and routing and
published once, or refused, with nothing stored, for a facility the account has no link to
and for an account that is no longer active."""

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import pytest
from faults_app import SECRET, Service, refused, service_on
from sqlmodel import col, select

from kundonline_common.projections import AccountView
from kundonline_common.tokens import HEADER, Caller, issue_token
from kundonline_contracts import AccountChanged, CloudEvent, FaultReported, unwrap
from kundonline_faults.tables import Fault


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
async def service(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Service]:
    async with service_on(request.param, request, tmp_path) as service:
        yield service


async def report(
    service: Service,
    account: UUID,
    facility: UUID,
    *,
    flags: dict[str, bool] | None = None,
    key: str | None = None,
) -> httpx.Response:
    caller = Caller(subject=str(account), role="account", flags=flags or {})
    headers = {HEADER: issue_token(caller, SECRET)}
    if key is not None:
        headers["Idempotency-Key"] = key
    body = {"facility_id": str(facility), "description": "Hissen står still"}
    return await service.http.post("/api/faults", json=body, headers=headers)


async def customer_of(service: Service, account: UUID) -> UUID:
    async with service.db.sessions() as session:
        view = await session.scalar(
            select(AccountView).where(col(AccountView.account_id) == account)
        )
    assert view is not None
    return view.customer_id


async def faults(service: Service) -> list[Fault]:
    async with service.db.sessions() as session:
        return list(await session.scalars(select(Fault)))


async def published(service: Service) -> list[FaultReported]:
    events = [unwrap(CloudEvent.from_bytes(r.value)) for r in await service.outbox()]
    return [e for e in events if isinstance(e, FaultReported)]


@pytest.mark.parametrize(("flags", "routed"), [({"order_direct": True}, True), (None, False)])
async def test_a_report_is_stored_with_its_account_s_customer_and_published_once(
    service: Service, flags: dict[str, bool] | None, routed: bool
) -> None:
    account, facility = uuid4(), uuid4()
    await service.link(account, facility)
    reply = await report(service, account, facility, flags=flags)
    assert reply.status_code == 201, reply.text
    receipt = reply.json()
    assert receipt["status"] == "new" and receipt["facility_id"] == str(facility)
    assert receipt["next_step"] == ("order_created" if routed else "awaiting_handling")
    customer = await customer_of(service, account)
    [stored] = await faults(service)
    assert (stored.id, stored.account_id, stored.customer_id) == (
        UUID(receipt["id"]),
        account,
        customer,
    )
    assert stored.order_direct is routed and stored.status == "new"
    assert stored.photo_count == 0 and stored.unread_customer_messages == 0
    [event] = await published(service)
    assert (event.fault_id, event.customer_id, event.order_direct) == (stored.id, customer, routed)
    assert event.reported_at == stored.reported_at


async def test_a_facility_not_linked_to_the_account_is_not_found_and_nothing_is_stored(
    service: Service,
) -> None:
    account, other, facility, theirs = uuid4(), uuid4(), uuid4(), uuid4()
    await service.link(account, facility)
    await service.link(other, theirs)
    assert refused(await report(service, account, theirs), 404, "not_found")
    assert refused(await report(service, account, uuid4()), 404, "not_found")
    assert refused(await report(service, uuid4(), facility), 404, "not_found")
    assert await faults(service) == [] and await published(service) == []


async def test_an_account_no_longer_active_reports_nothing(service: Service) -> None:
    account, facility = uuid4(), uuid4()
    await service.link(account, facility)
    ended = AccountChanged(
        account_id=account,
        customer_id=await customer_of(service, account),
        name="Kollega",
        username="kollega",
        active=False,
        order_direct=False,
        hide_performed_action=False,
        show_purchase_prices_on_projects=False,
        show_purchase_price_on_order_rows=False,
        facility_ids=[facility],
    )
    async with service.unit_of_work() as uow:
        await uow.repo.save_account(ended)
    assert refused(await report(service, account, facility), 404, "not_found")
    assert await faults(service) == [] and await published(service) == []


async def test_the_same_idempotency_key_again_answers_with_the_first_report(
    service: Service,
) -> None:
    account, facility = uuid4(), uuid4()
    await service.link(account, facility)
    first = await report(service, account, facility, key="klick-1")
    again = await report(service, account, facility, key="klick-1")
    assert first.status_code == 201 and again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    # The key names the report, whatever the repeat's body says, even a facility not linked.
    elsewhere = await report(service, account, uuid4(), key="klick-1")
    assert elsewhere.status_code == 201 and elsewhere.json() == first.json()
    assert len(await faults(service)) == 1 and len(await published(service)) == 1


async def test_an_idempotency_key_is_the_account_s_own(service: Service) -> None:
    account, other, facility = uuid4(), uuid4(), uuid4()
    await service.link(account, facility)
    await service.link(other, facility)
    mine = await report(service, account, facility, key="klick-1")
    theirs = await report(service, other, facility, key="klick-1")
    assert mine.status_code == 201 and theirs.status_code == 201
    assert theirs.json()["id"] != mine.json()["id"]
    assert refused(await report(service, account, uuid4(), key="klick-2"), 404, "not_found")
    assert refused(await report(service, uuid4(), facility, key="klick-1"), 404, "not_found")
    assert len(await faults(service)) == 2 and len(await published(service)) == 2


async def test_an_empty_idempotency_key_is_no_key(service: Service) -> None:
    """An empty header names no report: each report is one of its own, not a repeat of the
    first made with the empty key, nor refused as a facility not linked."""
    account, facility = uuid4(), uuid4()
    await service.link(account, facility)
    first = await report(service, account, facility, key="")
    second = await report(service, account, facility, key="")
    assert first.status_code == 201 and second.status_code == 201, second.text
    assert first.json()["id"] != second.json()["id"]
    assert len(await faults(service)) == 2 and len(await published(service)) == 2


async def test_requests_at_the_same_moment_with_one_key_all_get_the_one_report(
    service: Service,
) -> None:
    """A double click, or a retry before the first reply: the others wait for the first
    insert's commit (at the key's unique index on PostgreSQL, for the write lock on SQLite)
    and answer with its report, where they answered 409 when the key was looked up first."""
    account, facility = uuid4(), uuid4()
    await service.link(account, facility)
    replies = await asyncio.gather(
        *(report(service, account, facility, key="klick-1") for _ in range(6))
    )
    assert [r.status_code for r in replies] == [201] * 6, [r.text for r in replies]
    assert len({r.json()["id"] for r in replies}) == 1
    assert len(await faults(service)) == 1 and len(await published(service)) == 1


# A report's fields with characters a mail must not carry raw; each is refused as the
# message API refuses them, before anything is stored or published.
BAD_TEXT: list[tuple[str, dict[str, object]]] = [
    ("nul-description", {"description": "a\u0000b"}),
    ("escape-description", {"description": "CTRL\u001b[31m\u0007"}),
    ("surrogate-description", {"description": "\ud800"}),
    ("nul-name", {"contact": {"name": "n\u0000"}}),
    ("crlf-name", {"contact": {"name": "Eva\r\nBcc: x@example.com"}}),
    ("nul-phone", {"contact": {"phone": "1\u0000"}}),
    ("nul-email", {"contact": {"email": "a\u0000@b.se"}}),
]


@pytest.mark.parametrize("fields", [f for _, f in BAD_TEXT], ids=[i for i, _ in BAD_TEXT])
async def test_control_characters_in_a_report_are_refused_and_nothing_is_stored(
    service: Service, fields: dict[str, object]
) -> None:
    account, facility = uuid4(), uuid4()
    await service.link(account, facility)
    body = {"facility_id": str(facility), "description": "Hissen står still"} | fields
    # As the client sends it: JSON escapes, which are how control characters arrive.
    raw = json.dumps(body).encode()
    headers = {HEADER: issue_token(Caller(subject=str(account), role="account"), SECRET)}
    headers["Content-Type"] = "application/json"
    reply = await service.http.post("/api/faults", content=raw, headers=headers)
    assert refused(reply, 422, "invalid_request")
    assert await faults(service) == [] and await published(service) == []


async def test_a_rejection_reason_with_control_characters_is_refused_and_changes_nothing(
    service: Service,
) -> None:
    fault = await service.fault()
    staff = service.as_("staff-1", role="handler", name="Sven")
    url = f"/admin/api/faults/{fault}/reject"
    for reason in ("\u0000", "Nej\u001b[2J", "\u0007"):
        reply = await service.http.post(url, json={"reason": reason}, headers=staff)
        assert refused(reply, 422, "invalid_request")
    assert (await service.get(fault)).status == "new" and await service.outbox() == []
    # A reason in lines, with a tab, is what staff may write.
    reply = await service.http.post(url, json={"reason": "Inget fel\r\n\thittat"}, headers=staff)
    assert reply.status_code == 200, reply.text
    assert (await service.get(fault)).reason == "Inget fel\r\n\thittat"
