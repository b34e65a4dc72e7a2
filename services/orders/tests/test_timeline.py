"""The order timeline, the next planned visits and the calendar's default month through the
orders service's routes, on a real database: what each account sees, what staff see, what a
change records and publishes, and that others' ids and bad ids change nothing."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlmodel import col

from kundonline_common import localtime
from kundonline_common.db import Database
from kundonline_common.errors import install_error_handlers
from kundonline_common.migrations import alembic_config, upgrade
from kundonline_common.tables import OutboxRecord, utcnow
from kundonline_common.tokens import HEADER, Caller, issue_token
from kundonline_common.uow import Outbox, UnitOfWorkFactory
from kundonline_contracts import AccountChanged, CloudEvent, OrderChanged, PortalSettings, unwrap
from kundonline_contracts.events import PlannedTime
from kundonline_devstack.pytest_plugin import unique_name
from kundonline_orders.api import customer, staff
from kundonline_orders.config import OrdersSettings
from kundonline_orders.main import MIGRATIONS
from kundonline_orders.repository import OrdersRepository
from kundonline_orders.tables import Facility, Order, OrderHistory

SECRET = "a-test-secret-long-enough-for-hs256!"
CUSTOMER, OTHER_CUSTOMER = uuid4(), uuid4()
MINE, THEIRS = uuid4(), uuid4()  # the two accounts
FACILITY, OTHER_FACILITY = uuid4(), uuid4()
STAFF_ID = "staff-7"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


class Service:
    """An orders database with the service's routes in front of it, two customers with an
    account and a facility each."""

    def __init__(self, db: Database) -> None:
        self.db = db
        outbox = Outbox(source="kundonline/orders", topic_prefix="kundonline.")
        self.units = UnitOfWorkFactory(db, outbox, OrdersRepository)
        app = FastAPI()
        install_error_handlers(app)
        app.include_router(customer)
        app.include_router(staff)
        app.state.runtime = SimpleNamespace(unit_of_work=self.units)
        app.state.settings = OrdersSettings()
        app.state.internal_token_secret = SECRET
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://orders")

    @staticmethod
    def as_(subject: UUID | str, role: str = "account") -> dict[str, str]:
        return {HEADER: issue_token(Caller(subject=str(subject), role=role), SECRET)}

    # Made when asked: a token lives 60 s, and a module's tests may start long after import.
    @property
    def mine(self) -> dict[str, str]:
        return self.as_(MINE)

    @property
    def theirs(self) -> dict[str, str]:
        return self.as_(THEIRS)

    @property
    def staff(self) -> dict[str, str]:
        return self.as_(STAFF_ID, "admin")

    async def given(self, *, hide_performed_action: bool = False, **settings: Any) -> None:
        async with self.units() as uow:
            await uow.repo.save_settings(PortalSettings(**settings))
            for account, customer_id, facility in (
                (MINE, CUSTOMER, FACILITY),
                (THEIRS, OTHER_CUSTOMER, OTHER_FACILITY),
            ):
                await uow.repo.save_account(
                    AccountChanged(
                        account_id=account,
                        customer_id=customer_id,
                        name="Kund",
                        username=f"kund-{account}",
                        active=True,
                        order_direct=False,
                        hide_performed_action=hide_performed_action and account == MINE,
                        show_purchase_prices_on_projects=False,
                        show_purchase_price_on_order_rows=False,
                        facility_ids=(facility,),
                    )
                )
                if await uow.repo.get(Facility, facility) is None:
                    uow.repo.add(Facility(id=facility, customer_id=customer_id, name="Kv. Eken"))

    async def order(self, facility: UUID = FACILITY, **fields: Any) -> dict[str, Any]:
        """An order staff make, through the route."""
        body = {"facility_id": str(facility), "description": "Byt fläktmotor", **fields}
        reply = await self.http.post("/admin/api/orders", json=body, headers=self.staff)
        assert reply.status_code == 201, reply.text
        made: dict[str, Any] = reply.json()
        return made

    async def edit(self, order_id: str, **body: Any) -> httpx.Response:
        return await self.http.patch(f"/admin/api/orders/{order_id}", json=body, headers=self.staff)

    async def recorded(self) -> tuple[int, int]:
        """How many history rows and outbox records there are: what a request may change."""
        async with self.db.sessions() as session:
            history = await session.scalar(select(func.count()).select_from(OrderHistory))
            outbox = await session.scalar(select(func.count()).select_from(OutboxRecord))
            return int(history or 0), int(outbox or 0)

    async def published(self, order_id: str) -> list[OrderChanged]:
        async with self.db.sessions() as session:
            query = select(OutboxRecord).where(col(OutboxRecord.key) == order_id)
            records = (await session.scalars(query.order_by(col(OutboxRecord.seq)))).all()
        events = [unwrap(CloudEvent.from_bytes(r.value)) for r in records]
        return [e for e in events if isinstance(e, OrderChanged)]


# The databases the service's route tests run on; PostgreSQL is the test run's own.
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]


@asynccontextmanager
async def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """An empty database of the kind a fixture parametrised with DATABASES is given."""
    if request.param == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path}/orders.db")
    else:
        db = Database(request.getfixturevalue("postgres").create_database(unique_name("orders")))
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture(params=DATABASES)
async def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with empty_database(request, tmp_path) as db:
        yield db


@pytest.fixture
async def service(empty_db: Database) -> AsyncIterator[Service]:
    db = empty_db
    await upgrade(db, MIGRATIONS)
    service = Service(db)
    yield service
    await service.http.aclose()


START, END = utc(2025, 3, 6, 7), utc(2025, 3, 6, 9)
LATER_START, LATER_END = utc(2025, 3, 7, 12), utc(2025, 3, 7, 15)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def lived(service: Service) -> str:
    """An order taken through its whole life: planned, moved with a reason, started, done."""
    order_id: str = (await service.order())["id"]
    for body in (
        {"planned_start": iso(START), "planned_end": iso(END)},
        {
            "planned_start": iso(LATER_START),
            "planned_end": iso(LATER_END),
            "reason": "Reservdelen kommer en dag senare",
        },
        {"status": "started"},
        {"status": "completed", "performed_action": "Bytte motor <M2>"},
    ):
        reply = await service.edit(order_id, **body)
        assert reply.status_code == 200, reply.text
    return order_id


async def test_the_customer_sees_each_step_as_it_happened(service: Service) -> None:
    await service.given()
    order_id = await lived(service)
    reply = await service.http.get(f"/api/orders/{order_id}/timeline", headers=service.mine)
    assert reply.status_code == 200, reply.text
    timeline = reply.json()
    assert (timeline["order_id"], timeline["status"]) == (order_id, "completed")
    steps = timeline["steps"]
    assert [s["kind"] for s in steps] == [
        "created",
        "visit_planned",
        "visit_moved",
        "started",
        "completed",
    ]
    planned, moved, done = steps[1], steps[2], steps[4]
    assert set(planned) == {"kind", "at", "planned_start", "planned_end"}
    assert (moment(planned["planned_start"]), moment(planned["planned_end"])) == (START, END)
    assert (moment(moved["previous_planned_start"]), moment(moved["planned_start"])) == (
        START,
        LATER_START,
    )
    assert moment(moved["planned_end"]) == LATER_END
    assert moved["reason"] == "Reservdelen kommer en dag senare"
    assert done["performed_action"] == "Bytte motor <M2>"
    assert all("changed_by" not in s for s in steps)
    ats = [moment(s["at"]) for s in steps]
    assert ats == sorted(ats)


async def test_staff_see_who_made_each_change(service: Service) -> None:
    await service.given()
    order_id = await lived(service)
    reply = await service.http.get(f"/admin/api/orders/{order_id}/timeline", headers=service.staff)
    assert reply.status_code == 200, reply.text
    steps = reply.json()["steps"]
    assert [s.get("changed_by") for s in steps] == [None] + [STAFF_ID] * 4
    assert steps[-1]["performed_action"] == "Bytte motor <M2>"


async def test_the_performed_action_is_absent_where_the_account_hides_it(
    service: Service,
) -> None:
    await service.given(hide_performed_action=True)
    order_id = await lived(service)
    reply = await service.http.get(f"/api/orders/{order_id}/timeline", headers=service.mine)
    done = reply.json()["steps"][-1]
    assert done["kind"] == "completed" and "performed_action" not in done
    assert "Bytte motor" not in reply.text


async def test_a_cancellation_shows_its_reason_unless_cancelled_orders_are_hidden(
    service: Service,
) -> None:
    await service.given()
    order_id = (await service.order())["id"]
    reply = await service.edit(order_id, status="cancelled", reason="Kunden löste det själv")
    assert reply.status_code == 200, reply.text
    path = f"/api/orders/{order_id}/timeline"
    steps = (await service.http.get(path, headers=service.mine)).json()["steps"]
    assert steps[-1] == {
        "kind": "cancelled",
        "at": steps[-1]["at"],
        "reason": "Kunden löste det själv",
    }
    await service.given(hide_cancelled=True)
    hidden = await service.http.get(path, headers=service.mine)
    assert (hidden.status_code, hidden.json()["error"]) == (404, "not_found")


async def test_an_order_made_with_a_planned_time_has_its_visit_planned_at_once(
    service: Service,
) -> None:
    await service.given()
    made = await service.order(planned_start=iso(START))
    steps = (
        await service.http.get(f"/api/orders/{made['id']}/timeline", headers=service.mine)
    ).json()["steps"]
    assert [s["kind"] for s in steps] == ["created", "visit_planned"]
    assert steps[1]["at"] == steps[0]["at"] and steps[1]["planned_end"] is None
    (changed,) = await service.published(made["id"])
    assert changed.previous_planned == PlannedTime()


async def test_a_visit_cleared_and_edits_of_other_fields_record_what_they_are(
    service: Service,
) -> None:
    await service.given()
    order_id = (await service.order(planned_start=iso(START), planned_end=iso(END)))["id"]
    # The same time written in another offset is no move; a new description is no step.
    same = {"planned_start": "2025-03-06T08:00:00+01:00", "description": "Byt båda motorerna"}
    assert (await service.edit(order_id, **same)).status_code == 200
    assert (await service.edit(order_id, planned_start=None, planned_end=None)).status_code == 200
    steps = (
        await service.http.get(f"/admin/api/orders/{order_id}/timeline", headers=service.staff)
    ).json()["steps"]
    assert [s["kind"] for s in steps] == ["created", "visit_planned", "visit_unplanned"]
    assert moment(steps[2]["previous_planned_start"]) == START
    assert "planned_start" not in steps[2]


async def test_a_time_without_an_offset_is_read_as_utc(service: Service) -> None:
    await service.given()
    order_id = (await service.order(planned_start=iso(START)))["id"]
    # Without reading it as UTC, comparing it with the stored start would fail outright.
    end = await service.edit(order_id, planned_end="2025-03-06T09:00:00")
    assert end.status_code == 200, end.text
    assert moment(end.json()["planned_end"]) == END
    same = await service.edit(order_id, planned_start="2025-03-06T07:00:00")
    assert same.status_code == 200, same.text
    path = f"/admin/api/orders/{order_id}/timeline"
    steps = (await service.http.get(path, headers=service.staff)).json()["steps"]
    assert [s["kind"] for s in steps] == ["created", "visit_planned", "visit_moved"]
    assert moment(steps[2]["planned_end"]) == END


async def test_each_change_publishes_the_planned_time_it_replaced(service: Service) -> None:
    await service.given()
    order_id = await lived(service)
    published = await service.published(order_id)
    assert [e.previous_planned for e in published] == [
        None,  # made without a planned time
        PlannedTime(),
        PlannedTime(start=START, end=END),
        None,
        None,
    ]
    assert (published[2].planned_start, published[2].planned_end) == (LATER_START, LATER_END)


async def test_a_refused_edit_records_and_publishes_nothing(service: Service) -> None:
    await service.given()
    order_id = (await service.order())["id"]
    before = await service.recorded()
    invoiced = await service.edit(order_id, status="invoiced", planned_start=iso(START))
    assert (invoiced.status_code, invoiced.json()["error"]) == (409, "invalid_transition")
    backwards = await service.edit(order_id, planned_start=iso(END), planned_end=iso(START))
    assert backwards.status_code == 422
    lonely = await service.edit(order_id, reason="Ingen ändring", description="Ny text")
    assert (lonely.status_code, lonely.json()["error"]) == (422, "reason_without_change")
    assert await service.recorded() == before


@pytest.mark.parametrize("route", ["/api/orders/{id}/timeline", "/admin/api/orders/{id}/timeline"])
async def test_other_accounts_unknown_and_malformed_ids_are_not_found_alike(
    service: Service, route: str
) -> None:
    await service.given()
    theirs = (await service.order(OTHER_FACILITY, planned_start=iso(START)))["id"]
    headers = service.staff if route.startswith("/admin") else service.mine
    ids = [str(uuid4()), "not-an-id", "1"]
    if not route.startswith("/admin"):
        ids.append(theirs)
    before = await service.recorded()
    for id_ in ids:
        reply = await service.http.get(route.format(id=id_), headers=headers)
        assert reply.status_code == 404, (id_, reply.text)
        assert reply.json() == {
            "error": "not_found",
            "message": reply.json()["message"],
            "details": None,
        }
    assert await service.recorded() == before


async def test_the_timeline_routes_take_only_their_own_callers(service: Service) -> None:
    await service.given()
    order_id = (await service.order())["id"]
    as_customer = await service.http.get(
        f"/admin/api/orders/{order_id}/timeline", headers=service.mine
    )
    assert as_customer.status_code == 403
    as_staff = await service.http.get(f"/api/orders/{order_id}/timeline", headers=service.staff)
    assert as_staff.status_code == 403
    anonymous = await service.http.get(f"/api/orders/{order_id}/timeline")
    assert anonymous.status_code == 401
    unknown_account = await service.http.get(
        f"/api/orders/{order_id}/timeline", headers=service.as_(uuid4())
    )
    assert unknown_account.status_code == 404


# --- the next planned visits ----------------------------------------------------------------


async def test_the_next_visits_are_the_accounts_coming_ones_soonest_first(
    service: Service,
) -> None:
    await service.given()
    now = utcnow()

    async def planned(hours: float, end: float | None = None, facility: UUID = FACILITY) -> str:
        times = {"planned_start": iso(now + timedelta(hours=hours))}
        if end is not None:
            times["planned_end"] = iso(now + timedelta(hours=end))
        return str((await service.order(facility, **times))["id"])

    third, first = await planned(72), await planned(2)
    going_on = await planned(-1, end=1)
    await planned(-3, end=-2)  # over
    await planned(-1)  # begun an hour ago, no end: over
    second = await planned(24)
    cancelled, done = await planned(5), await planned(6)
    assert (await service.edit(cancelled, status="cancelled")).status_code == 200
    for status in ("started", "completed"):
        assert (await service.edit(done, status=status)).status_code == 200
    await planned(1, facility=OTHER_FACILITY)  # another customer's
    await service.order()  # not planned at all

    reply = await service.http.get("/api/orders/upcoming", headers=service.mine)
    assert reply.status_code == 200, reply.text
    assert [o["id"] for o in reply.json()["items"]] == [going_on, first, second, third]
    assert reply.json()["next_cursor"] is None
    two = await service.http.get("/api/orders/upcoming?limit=2", headers=service.mine)
    assert [o["id"] for o in two.json()["items"]] == [going_on, first]
    theirs = await service.http.get("/api/orders/upcoming", headers=service.theirs)
    assert len(theirs.json()["items"]) == 1


async def test_the_next_visits_follow_the_accounts_visibility(service: Service) -> None:
    await service.given(hide_performed_action=True)
    order_id = (await service.order(planned_start=iso(utcnow() + timedelta(days=1))))["id"]
    assert (await service.edit(order_id, performed_action="Förberett")).status_code == 200
    (item,) = (await service.http.get("/api/orders/upcoming", headers=service.mine)).json()["items"]
    assert item["id"] == order_id and "performed_action" not in item and "rows" not in item


@pytest.mark.parametrize("query", ["limit=0", "limit=51", "limit=x"])
async def test_a_bad_limit_is_refused_with_the_error_body(service: Service, query: str) -> None:
    await service.given()
    reply = await service.http.get(f"/api/orders/upcoming?{query}", headers=service.mine)
    assert (reply.status_code, reply.json()["error"]) == (422, "invalid_request")


# --- the calendar without a range -----------------------------------------------------------


async def test_the_calendar_without_a_range_is_the_current_local_month(service: Service) -> None:
    await service.given(show_calendar=True, time_zone="Pacific/Auckland")
    tz = localtime.zone("Pacific/Auckland")
    first, last = localtime.month_of(localtime.today(tz))
    inside = await service.order(planned_start=iso(localtime.day_start(first, tz)))
    before = localtime.day_start(first, tz) - timedelta(minutes=1)
    await service.order(planned_start=iso(before))
    after = localtime.day_start(last + timedelta(days=1), tz)
    await service.order(planned_start=iso(after))
    reply = await service.http.get("/api/calendar", headers=service.mine)
    assert reply.status_code == 200, reply.text
    assert [e["id"] for e in reply.json()["items"]] == [inside["id"]]


@pytest.mark.parametrize("query", ["from=2025-03-01", "to=2025-03-31"])
async def test_the_calendar_with_half_a_range_says_so(service: Service, query: str) -> None:
    await service.given(show_calendar=True)
    reply = await service.http.get(f"/api/calendar?{query}", headers=service.mine)
    assert reply.status_code == 422
    assert reply.json()["error"] == "invalid_range"
    assert "from and to" in reply.json()["message"]


# --- days and times at the calendar's ends ---------------------------------------------------

# Days whose local start or end leaves the calendar when turned into UTC (years 1 and 9999),
# and days just outside the range orders may be in.
OUT_OF_RANGE_QUERIES = [
    "/api/orders?from=0001-01-01",
    "/api/orders?from=0001-01-01T00:00:00Z",
    "/api/orders?to=9999-12-31",
    "/api/orders?from=1899-12-31",
    "/api/orders?to=3000-01-01",
    "/api/calendar?from=0001-01-01&to=0001-02-01",
    "/api/calendar?from=9999-12-01&to=9999-12-31",
    "/api/calendar?from=1899-12-31&to=1900-01-01",
]


@pytest.mark.parametrize("path", OUT_OF_RANGE_QUERIES)
async def test_a_day_out_of_range_in_a_filter_is_refused(service: Service, path: str) -> None:
    await service.given(show_calendar=True)
    reply = await service.http.get(path, headers=service.mine)
    assert (reply.status_code, reply.json()["error"]) == (422, "invalid_request"), reply.text


@pytest.mark.parametrize(
    "path",
    ["/api/orders?from=1900-01-01&to=2999-12-31", "/api/calendar?from=2999-12-01&to=2999-12-31"],
)
async def test_the_first_and_last_days_in_range_are_answered(service: Service, path: str) -> None:
    # The zones furthest from UTC either way: the range's ends still convert.
    for zone in ("Pacific/Kiritimati", "Etc/GMT+12"):
        await service.given(show_calendar=True, time_zone=zone)
        reply = await service.http.get(path, headers=service.mine)
        assert reply.status_code == 200, reply.text


OUT_OF_RANGE_PLANS = [
    ("9999-12-31T23:00:00+00:00", "9999-12-31T23:59:59+00:00"),
    ("0001-01-01T00:00:00+14:00", "0001-01-01T05:00:00+14:00"),
    ("9999-12-31T22:00:00-14:00", "9999-12-31T23:00:00-14:00"),
    ("1900-01-01T00:00:00+14:00", "1900-01-01T05:00:00+14:00"),  # 1899-12-31 in UTC
    ("2999-12-31T23:00:00-02:00", "2999-12-31T23:30:00-02:00"),  # 3000-01-01 in UTC
]


@pytest.mark.parametrize(("start", "end"), OUT_OF_RANGE_PLANS)
async def test_staff_cannot_plan_an_order_out_of_range(
    service: Service, start: str, end: str
) -> None:
    await service.given()
    order_id = (await service.order(planned_start=iso(START), planned_end=iso(END)))["id"]
    before = await service.recorded()
    body = {"facility_id": str(FACILITY), "description": "Datum", "rows": []}
    made = await service.http.post(
        "/admin/api/orders",
        json=body | {"planned_start": start, "planned_end": end},
        headers=service.staff,
    )
    assert (made.status_code, made.json()["error"]) == (422, "invalid_request"), made.text
    for fields in ({"planned_start": start, "planned_end": end}, {"planned_end": end}):
        edited = await service.edit(order_id, **fields, reason="Flyttad")
        assert (edited.status_code, edited.json()["error"]) == (422, "invalid_request")
    assert await service.recorded() == before
    async with service.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 1
        order = await session.get(Order, UUID(order_id))
        assert order is not None
        assert (order.planned_start, order.planned_end) == (START, END)


async def test_staff_may_plan_on_the_first_and_last_days_in_range(service: Service) -> None:
    await service.given()
    first = await service.order(planned_start="1900-01-01T00:00:00+00:00")
    assert moment(first["planned_start"]) == utc(1900, 1, 1)
    last = await service.edit(first["id"], planned_start="2999-12-31T23:59:59+00:00")
    assert last.status_code == 200, last.text


# --- orders from before the history ---------------------------------------------------------


async def test_orders_from_before_the_history_get_the_steps_that_bring_them_here(
    empty_db: Database,
) -> None:
    db = empty_db
    config = alembic_config(MIGRATIONS, db.url.render_as_string(hide_password=False))

    def to_0002(connection: sa.Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")

    created, changed = utc(2025, 1, 2, 8), utc(2025, 1, 9, 16)
    async with db.engine.begin() as conn:
        await conn.run_sync(to_0002)
    async with db.sessions() as session:
        for number, status, start in ((1, "completed", START), (2, "planned", None)):
            session.add(
                Order(
                    order_number=number,
                    customer_id=CUSTOMER,
                    facility_id=FACILITY,
                    status=status,
                    planned_start=start,
                    created_at=created,
                    updated_at=changed,
                )
            )
        await session.commit()
    await upgrade(db, MIGRATIONS)
    async with db.sessions() as session:
        rows = (await session.scalars(select(OrderHistory).order_by(col(OrderHistory.id)))).all()
        done = await session.scalar(select(Order).where(col(Order.order_number) == 1))
    assert done is not None
    assert [(r.order_id, r.kind, r.at, r.planned_start) for r in rows] == [
        (done.id, "visit_planned", created, START),
        (done.id, "completed", changed, None),
    ]
