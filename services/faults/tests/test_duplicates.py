"""Duplicate reports on a real database: possible duplicates in the staff queue, joining one
report with another, what the reporters then see, and what another account or a bad request
gets."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from alembic import command
from faults_app import Service, refused, service_on
from sqlalchemy import Connection

from kundonline_common.migrations import alembic_config
from kundonline_common.tables import utcnow
from kundonline_contracts import CloudEvent, FaultMarkedDuplicate, FaultRejected, unwrap
from kundonline_faults.main import MIGRATIONS
from kundonline_faults.tables import Fault

STAFF = {"role": "handler", "name": "Sven"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
async def service(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Service]:
    async with service_on(request.param, request, tmp_path) as service:
        yield service


class Building:
    """One customer's facility with two tenants' accounts linked to it, and another
    customer's account with a facility of its own."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.customer, self.facility, self.other_facility = uuid4(), uuid4(), uuid4()
        self.anna, self.bo, self.stranger = uuid4(), uuid4(), uuid4()

    async def link(self) -> "Building":
        await self.service.link(self.anna, self.facility, self.other_facility)
        await self.service.link(self.bo, self.facility)
        await self.service.link(self.stranger, uuid4())
        return self

    async def report(
        self,
        account: UUID,
        *,
        days_ago: float = 0,
        facility: UUID | None = None,
        customer: UUID | None = None,
        **values: Any,
    ) -> UUID:
        fault = Fault(
            account_id=account,
            customer_id=customer or self.customer,
            facility_id=facility or self.facility,
            description=f"Hissen står still ({account.hex[:4]})",
            contact_name="Anna",
            contact_email="anna@example.com",
            reported_at=utcnow() - timedelta(days=days_ago),
            **values,
        )
        async with self.service.unit_of_work() as uow:
            uow.session.add(fault)
        return fault.id


@pytest.fixture
async def building(service: Service) -> Building:
    return await Building(service).link()


def _staff(service: Service) -> dict[str, str]:
    return service.as_("staff-1", **STAFF)


async def _join(service: Service, fault: UUID | str, other: Any) -> httpx.Response:
    return await service.http.post(
        f"/admin/api/faults/{fault}/duplicate-of",
        json={"fault_id": str(other)},
        headers=_staff(service),
    )


async def _marked(service: Service) -> list[FaultMarkedDuplicate]:
    events = [unwrap(CloudEvent.from_bytes(r.value)) for r in await service.outbox()]
    return [e for e in events if isinstance(e, FaultMarkedDuplicate)]


async def _queue(service: Service, **params: str) -> dict[str, Any]:
    reply = await service.http.get("/admin/api/faults", params=params, headers=_staff(service))
    assert reply.status_code == 200, reply.text
    queue: dict[str, Any] = reply.json()
    return queue


def _possible(queue: dict[str, Any]) -> dict[str, list[str]]:
    return {f["id"]: [d["id"] for d in f["possible_duplicates"]] for f in queue["items"]}


async def test_the_queue_shows_reports_on_one_facility_within_the_window_as_possible_duplicates(
    service: Service, building: Building
) -> None:
    first = await building.report(building.anna, days_ago=10)
    second = await building.report(building.bo, days_ago=3)
    ordered = await building.report(building.bo, days_ago=2, status="order_created")
    elsewhere = await building.report(building.anna, days_ago=3, facility=building.other_facility)
    old = await building.report(building.bo, days_ago=40)
    rejected = await building.report(building.bo, days_ago=1, status="rejected")

    shown = _possible(await _queue(service))
    ids = {k: str(v) for k, v in locals().items() if isinstance(v, UUID)}
    assert shown == {
        ids["old"]: [],
        ids["first"]: [ids["second"], ids["ordered"]],
        ids["second"]: [ids["ordered"], ids["first"]],
        ids["elsewhere"]: [],
    }
    assert ids["rejected"] not in str(shown)

    await service.settings(duplicate_window_days=5)
    shown = _possible(await _queue(service))
    assert shown[ids["first"]] == [] and shown[ids["second"]] == [ids["ordered"]]

    page = await service.http.get(f"/admin/api/faults/{second}", headers=_staff(service))
    assert [d["id"] for d in page.json()["possible_duplicates"]] == [ids["ordered"]]
    assert page.json()["possible_duplicates"][0]["order_number"] is None


async def test_staff_join_a_report_with_another_it_leaves_the_queue_and_follows_its_order(
    service: Service, building: Building
) -> None:
    order_id = uuid4()
    root = await building.report(
        building.anna, days_ago=2, status="order_created", order_id=order_id, order_number=1042
    )
    dup = await building.report(building.bo)
    assert (await _queue(service))["total"] == 1

    joined = await _join(service, dup, root)
    assert joined.status_code == 200, joined.text
    body = joined.json()
    assert body["status"] == "duplicate" and body["duplicate_of"] == str(root)
    assert body["handled_by"] == "staff-1"
    assert (await _queue(service))["total"] == 0
    [joined_one] = (await _queue(service, status="duplicate"))["items"]
    assert joined_one["id"] == str(dup)
    assert joined_one["possible_duplicates"] == []  # no longer staff's to join

    [event] = await _marked(service)
    assert (event.fault_id, event.duplicate_of, event.account_id) == (dup, root, building.bo)
    assert (event.order_id, event.order_number, event.marked_by) == (order_id, 1042, "staff-1")
    assert event.contact.email == "anna@example.com" and event.facility_id == building.facility

    again = await _join(service, dup, root)
    assert again.status_code == 200 and again.json()["duplicate_of"] == str(root)
    assert len(await _marked(service)) == 1  # the same request again tells no one again

    staff_view = await service.http.get(f"/admin/api/faults/{root}", headers=_staff(service))
    assert [d["id"] for d in staff_view.json()["duplicates"]] == [str(dup)]

    # The reporter of the duplicate sees it joined, and the report it follows with its order,
    # though another account of the same facility reported that one.
    mine = await service.http.get(f"/api/faults/{dup}", headers=service.as_(building.bo))
    assert mine.json()["status"] == "duplicate" and mine.json()["duplicate_of"] == str(root)
    followed = await service.http.get(f"/api/faults/{root}", headers=service.as_(building.bo))
    assert followed.status_code == 200 and followed.json()["order_number"] == 1042
    # Another customer's account sees neither.
    for fault in (dup, root):
        seen = await service.http.get(
            f"/api/faults/{fault}", headers=service.as_(building.stranger)
        )
        assert refused(seen, 404, "not_found")


async def test_a_report_joined_with_a_duplicate_follows_the_report_that_one_follows(
    service: Service, building: Building
) -> None:
    root = await building.report(building.anna, days_ago=3)
    middle = await building.report(building.bo, days_ago=2)
    last = await building.report(building.bo, days_ago=1)
    assert (await _join(service, middle, root)).status_code == 200
    joined = await _join(service, last, middle)
    assert joined.status_code == 200 and joined.json()["duplicate_of"] == str(root)
    assert (await _join(service, last, middle)).status_code == 200  # the same request again
    assert refused(await _join(service, last, uuid4()), 404, "not_found")


async def test_joining_a_report_others_follow_onwards_takes_them_along_chains_stay_flat(
    service: Service, building: Building
) -> None:
    first, second, third, last = [
        await building.report(building.bo, days_ago=days) for days in (4, 3, 2, 1)
    ]
    assert (await _join(service, first, second)).status_code == 200
    assert (await _join(service, second, third)).status_code == 200
    assert (await _join(service, third, last)).status_code == 200
    for fault in (first, second, third):
        assert (await service.get(fault)).duplicate_of == last
    # Only the joins themselves are told: the reports taken along get no mail again.
    assert [(e.fault_id, e.duplicate_of) for e in await _marked(service)] == [
        (first, second),
        (second, third),
        (third, last),
    ]
    staff_view = await service.http.get(f"/admin/api/faults/{last}", headers=_staff(service))
    assert {d["id"] for d in staff_view.json()["duplicates"]} == {
        str(first),
        str(second),
        str(third),
    }
    assert (await _join(service, first, second)).status_code == 200  # the same request again
    assert (await service.get(first)).duplicate_of == last


async def test_the_migration_flattens_chains_joined_before_joins_kept_them_flat(
    service: Service, building: Building
) -> None:
    root = await building.report(building.anna, days_ago=4)
    chain = [root]
    for days in (3, 2, 1):
        chain.append(
            await building.report(
                building.bo, days_ago=days, status="duplicate", duplicate_of=chain[-1]
            )
        )
    rejected = await building.report(building.bo, status="rejected", duplicate_of=chain[1])
    config = alembic_config(MIGRATIONS, service.db.url.render_as_string(hide_password=False))

    def migrate(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.downgrade(config, "0007")
        command.upgrade(config, "heads")

    async with service.db.engine.begin() as conn:
        await conn.run_sync(migrate)
    assert [(await service.get(f)).duplicate_of for f in chain] == [None, root, root, root]
    assert (await service.get(rejected)).duplicate_of == chain[1]  # not a duplicate: kept


async def test_rejecting_a_report_others_were_joined_with_rejects_them_too_each_told(
    service: Service, building: Building
) -> None:
    target = await building.report(building.anna, days_ago=2)
    first = await building.report(building.bo, days_ago=1)
    second = await building.report(building.anna)
    untouched = await building.report(building.bo)
    for follower in (first, second):
        assert (await _join(service, follower, target)).status_code == 200

    reply = await service.http.post(
        f"/admin/api/faults/{target}/reject",
        json={"reason": "Inget fel hittat"},
        headers=_staff(service),
    )
    assert reply.status_code == 200, reply.text
    for fault in (target, first, second):
        row = await service.get(fault)
        assert (row.status, row.reason, row.handled_by) == (
            "rejected",
            "Inget fel hittat",
            "staff-1",
        )
    assert (await service.get(untouched)).status == "new"
    events = [unwrap(CloudEvent.from_bytes(r.value)) for r in await service.outbox()]
    rejections = {
        (e.fault_id, e.account_id, e.reason) for e in events if isinstance(e, FaultRejected)
    }
    assert rejections == {
        (target, building.anna, "Inget fel hittat"),
        (first, building.bo, "Inget fel hittat"),
        (second, building.anna, "Inget fel hittat"),
    }
    mine = await service.http.get(f"/api/faults/{first}", headers=service.as_(building.bo))
    assert mine.json()["status"] == "rejected" and mine.json()["reason"] == "Inget fel hittat"


async def test_joins_that_make_no_sense_are_refused(service: Service, building: Building) -> None:
    fault = await building.report(building.anna, days_ago=1)
    other = await building.report(building.bo)
    elsewhere = await building.report(building.anna, facility=building.other_facility)
    foreign = await building.report(building.stranger, customer=uuid4())
    rejected = await building.report(building.bo, status="rejected")
    accepted = await building.report(building.bo, status="accepted")
    direct = await building.report(building.bo, order_direct=True)

    assert refused(await _join(service, fault, fault), 422, "duplicate_of_itself")
    assert refused(await _join(service, fault, elsewhere), 409, "not_same_place")
    assert refused(await _join(service, fault, foreign), 409, "not_same_place")
    assert refused(await _join(service, fault, rejected), 409, "target_rejected")
    assert refused(await _join(service, accepted, fault), 409, "already_handled")
    assert refused(await _join(service, direct, fault), 409, "already_handled")

    assert (await _join(service, other, fault)).status_code == 200
    assert refused(await _join(service, fault, other), 409, "duplicate_cycle")
    assert refused(await _join(service, other, accepted), 409, "already_handled")
    assert len(await _marked(service)) == 1
    assert (await service.get(fault)).status == "new"


async def test_two_staff_joining_two_reports_each_with_the_other_at_once_make_no_circle(
    service: Service, building: Building
) -> None:
    for _ in range(3):
        a = await building.report(building.anna, days_ago=1)
        b = await building.report(building.bo)
        replies = await asyncio.gather(_join(service, a, b), _join(service, b, a))
        assert sorted(r.status_code for r in replies) == [200, 409], [r.text for r in replies]
        statuses = {(await service.get(a)).status, (await service.get(b)).status}
        assert statuses == {"new", "duplicate"}


async def test_unknown_malformed_and_customers_requests_get_json_4xx(
    service: Service, building: Building
) -> None:
    fault = await building.report(building.anna)
    staff = _staff(service)
    url = f"/admin/api/faults/{fault}/duplicate-of"
    assert refused(await _join(service, uuid4(), fault), 404, "not_found")
    assert refused(await _join(service, fault, uuid4()), 404, "not_found")
    for malformed in ("not-a-uuid", "1%20OR%201=1", "%00", "x" * 5000):
        assert refused(await _join(service, malformed, fault), 404, "not_found")
    for body in ({"fault_id": "nej"}, {}, {"fault_id": str(fault), "more": 1}, [1]):
        assert refused(
            await service.http.post(url, json=body, headers=staff), 422, "invalid_request"
        )
    garbled = await service.http.post(url, content=b"{", headers=staff)
    assert garbled.status_code == 422 and set(garbled.json()) == {"error", "message", "details"}
    customer = await service.http.post(
        url, json={"fault_id": str(fault)}, headers=service.as_(building.anna)
    )
    assert customer.status_code in (401, 403) and "error" in customer.json()
    assert (await service.get(fault)).status == "new"


async def test_the_open_reports_on_one_facility_as_an_account_may_see_them(
    service: Service, building: Building
) -> None:
    waiting = await building.report(building.anna, days_ago=2)
    colleagues = await building.report(building.bo, days_ago=1)
    await building.report(building.bo, status="accepted")
    await building.report(building.bo, status="order_created")
    await building.report(building.bo, status="rejected")
    await building.report(building.bo, status="duplicate")
    await building.report(building.anna, facility=building.other_facility)
    await building.report(building.stranger, customer=uuid4(), facility=uuid4())

    async def open_on(account: UUID, facility: UUID) -> list[str]:
        reply = await service.http.get(
            "/api/faults",
            params={"facility_id": str(facility), "open": "true"},
            headers=service.as_(account),
        )
        assert reply.status_code == 200, reply.text
        return [f["status"] + ":" + f["id"] for f in reply.json()["items"]]

    shown = await open_on(building.bo, building.facility)
    assert len(shown) == 3 and shown[1:] == [f"new:{colleagues}", f"new:{waiting}"]
    assert await open_on(building.anna, building.facility) == shown
    assert await open_on(building.stranger, building.facility) == []
    assert len(await open_on(building.bo, building.other_facility)) == 0  # not linked to bo
    everything = await service.http.get("/api/faults", headers=service.as_(building.bo))
    assert len(everything.json()["items"]) == 6  # every report on the facility
    bad = await service.http.get(
        "/api/faults", params={"facility_id": "x"}, headers=service.reporter
    )
    assert refused(bad, 422, "invalid_request")
