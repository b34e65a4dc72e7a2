"""Ratings through the orders service's routes, on a real database: a signed link rates a
completed order once and publishes OrderRated; refused links change nothing; staff read them
per customer and facility, and no one else may."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import func, select
from test_timeline import (
    CUSTOMER,
    DATABASES,
    FACILITY,
    MINE,
    OTHER_CUSTOMER,
    OTHER_FACILITY,
    THEIRS,
    Service,
    empty_database,
)

from kundonline_common import rating_links
from kundonline_common.db import Database
from kundonline_common.errors import Conflict
from kundonline_common.migrations import upgrade
from kundonline_common.tables import OutboxRecord
from kundonline_contracts import CloudEvent, OrderRated, unwrap
from kundonline_orders import ratings
from kundonline_orders.api import internal
from kundonline_orders.config import OrdersSettings
from kundonline_orders.main import MIGRATIONS
from kundonline_orders.tables import Rating

RATING_SECRET = "rating-link-secret-of-the-tests-0123456789"


class RatingService(Service):
    """The timeline tests' service, with the gateway's internal routes and a rating secret."""

    def __init__(self, db: Database, secret: str | None = RATING_SECRET) -> None:
        super().__init__(db)
        app = self.http._transport.app  # type: ignore[attr-defined]
        app.include_router(internal)
        app.state.settings = OrdersSettings(rating_link_secret=secret)

    @property
    def system(self) -> dict[str, str]:
        return self.as_("gateway", "system")

    async def completed(self, facility: UUID = FACILITY) -> str:
        order_id: str = (await self.order(facility))["id"]
        for status in ("started", "completed"):
            reply = await self.edit(order_id, status=status)
            assert reply.status_code == 200, reply.text
        return order_id

    async def rate(self, order_id: str, token: str, **body: Any) -> httpx.Response:
        sent = {"token": token, "score": 4, **body}
        return await self.http.post(f"/internal/ratings/{order_id}", json=sent, headers=self.system)

    async def ratings(self) -> list[OrderRated]:
        async with self.db.sessions() as session:
            records = (await session.scalars(select(OutboxRecord))).all()
        events = [unwrap(CloudEvent.from_bytes(r.value)) for r in records]
        return [e for e in events if isinstance(e, OrderRated)]

    async def kept(self) -> int:
        async with self.db.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(Rating)) or 0)


def token(
    order_id: str, *, account: UUID = MINE, days: float = 30, secret: str = RATING_SECRET
) -> str:
    expires = datetime.now(UTC) + timedelta(days=days)
    return rating_links.issue(secret, rating_links.RatingLink(UUID(order_id), account, expires))


@pytest.fixture(params=DATABASES)
async def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with empty_database(request, tmp_path) as db:
        yield db


@pytest.fixture
async def service(empty_db: Database) -> AsyncIterator[RatingService]:
    await upgrade(empty_db, MIGRATIONS)
    service = RatingService(empty_db)
    await service.given()
    yield service
    await service.http.aclose()


async def test_a_signed_link_rates_a_completed_order_once_and_publishes_it(
    service: RatingService,
) -> None:
    order_id = await service.completed()
    link = token(order_id)
    # Reading the link, as a mail scanner would, twice, uses nothing up.
    for _ in range(2):
        shown = await service.http.get(
            f"/internal/ratings/{order_id}", params={"token": link}, headers=service.system
        )
        assert shown.status_code == 200, shown.text
        assert shown.json()["rated"] is False and shown.json()["place_name"] == "Kv. Eken"
    reply = await service.rate(order_id, link, score=5, comment="  Snabbt <och> bra  ")
    assert reply.status_code == 201, reply.text
    rated = reply.json()
    assert (rated["score"], rated["comment"], rated["account_id"]) == (
        5,
        "Snabbt <och> bra",
        str(MINE),
    )
    (event,) = await service.ratings()
    assert (event.order_id, event.score, event.customer_id) == (UUID(order_id), 5, CUSTOMER)
    assert event.facility_id == FACILITY and event.account_id == MINE
    again = await service.rate(order_id, link, score=1)
    assert again.status_code == 409 and again.json()["error"] == "already_rated"
    shown = await service.http.get(
        f"/internal/ratings/{order_id}", params={"token": link}, headers=service.system
    )
    assert shown.json()["rated"] is True
    assert await service.kept() == 1 and len(await service.ratings()) == 1


async def test_two_ratings_sent_at_once_keep_one_and_refuse_the_other(
    service: RatingService,
) -> None:
    """The second has found no rating yet when the first commits; it is still refused as
    rated, and nothing of it is kept or published."""
    order_id = UUID(await service.completed())

    def sent(score: int) -> ratings.RatingCreate:
        return ratings.RatingCreate(token=token(str(order_id)), score=score)

    async def first() -> None:
        async with service.units() as uow:
            await ratings.rate(uow=uow, secret=RATING_SECRET, order_id=order_id, body=sent(5))

    with pytest.raises(Conflict) as refused:
        async with service.units() as uow:
            looked = uow.repo.get

            async def get_then_lose_the_race(model: Any, id_: UUID) -> Any:
                found = await looked(model, id_)
                if model is Rating:
                    await first()  # commits between this one's check and its insert
                return found

            uow.repo.get = get_then_lose_the_race  # type: ignore[method-assign]
            await ratings.rate(uow=uow, secret=RATING_SECRET, order_id=order_id, body=sent(1))
    assert refused.value.code == "already_rated"
    assert await service.kept() == 1
    (kept,) = await service.ratings()
    assert kept.score == 5


@pytest.mark.parametrize(
    ("make", "status", "code"),
    [
        (lambda o: token(o, days=-1), 410, "rating_link_expired"),
        (
            lambda o: token(o, secret="another-secret-that-is-long-enough-000"),
            403,
            "rating_link_invalid",
        ),
        (lambda o: token(str(uuid4())), 403, "rating_link_invalid"),  # another order's
        (lambda o: token(o)[:-2] + "xx", 403, "rating_link_invalid"),
        (lambda o: "not-a-token", 403, "rating_link_invalid"),
    ],
)
async def test_a_refused_link_rates_nothing(
    service: RatingService, make: Any, status: int, code: str
) -> None:
    order_id = await service.completed()
    link = make(order_id)
    shown = await service.http.get(
        f"/internal/ratings/{order_id}", params={"token": link}, headers=service.system
    )
    reply = await service.rate(order_id, link)
    for answer in (shown, reply):
        assert (answer.status_code, answer.json()["error"]) == (status, code)
    assert await service.kept() == 0 and await service.ratings() == []


async def test_an_order_not_completed_or_unknown_is_not_rated(service: RatingService) -> None:
    planned: str = (await service.order())["id"]
    reply = await service.rate(planned, token(planned))
    assert (reply.status_code, reply.json()["error"]) == (409, "not_completed")
    unknown = str(uuid4())
    assert (await service.rate(unknown, token(unknown))).status_code == 404
    assert await service.kept() == 0


async def test_without_a_secret_no_rating_is_taken(empty_db: Database) -> None:
    await upgrade(empty_db, MIGRATIONS)
    service = RatingService(empty_db, secret=None)
    await service.given()
    order_id = await service.completed()
    reply = await service.rate(order_id, token(order_id))
    assert (reply.status_code, reply.json()["error"]) == (404, "ratings_disabled")
    await service.http.aclose()


@pytest.mark.parametrize(
    "body",
    [
        {"score": 6},
        {"score": 0},
        {"score": "fem"},
        {"comment": "x" * 2001},
        {"token": ""},
        {"token": "x" * 201},
        {"extra": True},
    ],
)
async def test_a_malformed_rating_is_a_422_and_changes_nothing(
    service: RatingService, body: dict[str, Any]
) -> None:
    order_id = await service.completed()
    sent = {"token": token(order_id), "score": 4, **body}
    reply = await service.http.post(
        f"/internal/ratings/{order_id}", json=sent, headers=service.system
    )
    assert reply.status_code == 422 and reply.json()["error"]
    assert await service.kept() == 0


async def test_malformed_json_and_ids_are_4xx(service: RatingService) -> None:
    order_id = await service.completed()
    raw = await service.http.post(
        f"/internal/ratings/{order_id}",
        content=b"{not json",
        headers={**service.system, "content-type": "application/json"},
    )
    assert raw.status_code == 422 and raw.json()["error"]
    bad_id = await service.rate("not-an-id", "x")
    assert bad_id.status_code == 404  # a malformed id names nothing, as everywhere
    bad_filter = await service.http.get(
        "/admin/api/ratings", params={"customer_id": "x"}, headers=service.staff
    )
    assert bad_filter.status_code == 422


async def test_staff_see_ratings_per_customer_and_facility_with_count_and_average(
    service: RatingService,
) -> None:
    mine = [await service.completed() for _ in range(2)]
    theirs = await service.completed(OTHER_FACILITY)
    for order_id, score in zip(mine, (5, 2), strict=True):
        assert (await service.rate(order_id, token(order_id), score=score)).status_code == 201
    reply = await service.rate(theirs, token(theirs, account=THEIRS), score=3)
    assert reply.status_code == 201

    async def listed(**params: Any) -> dict[str, Any]:
        reply = await service.http.get("/admin/api/ratings", params=params, headers=service.staff)
        assert reply.status_code == 200, reply.text
        found: dict[str, Any] = reply.json()
        return found

    everything = await listed()
    assert (everything["count"], everything["average"]) == (3, 3.33)
    assert [r["order_id"] for r in everything["items"]] == [theirs, *reversed(mine)]
    by_customer = await listed(customer_id=str(CUSTOMER))
    assert (by_customer["count"], by_customer["average"]) == (2, 3.5)
    assert {r["order_id"] for r in by_customer["items"]} == set(mine)
    by_facility = await listed(facility_id=str(OTHER_FACILITY))
    assert [r["order_id"] for r in by_facility["items"]] == [theirs]
    none = await listed(customer_id=str(OTHER_CUSTOMER), facility_id=str(FACILITY))
    assert (none["count"], none["average"], none["items"]) == (0, None, [])
    first = await listed(limit=2)
    rest = await listed(limit=2, cursor=first["next_cursor"])
    assert len(first["items"]) == 2 and [r["order_id"] for r in rest["items"]] == [mine[0]]
    assert rest["count"] == 3  # the totals are of the whole selection, not of a page


async def test_only_staff_read_ratings_and_only_the_gateway_rates(service: RatingService) -> None:
    order_id = await service.completed()
    for headers in (service.mine, service.theirs, service.system):
        reply = await service.http.get("/admin/api/ratings", headers=headers)
        assert reply.status_code == 403
    assert (await service.http.get("/admin/api/ratings")).status_code == 401
    for headers in (service.mine, service.staff):
        link = token(order_id)
        body = {"token": link, "score": 5}
        reply = await service.http.post(f"/internal/ratings/{order_id}", json=body, headers=headers)
        assert reply.status_code == 403
        reply = await service.http.get(
            f"/internal/ratings/{order_id}", params={"token": link}, headers=headers
        )
        assert reply.status_code == 403
    # Nor may a customer read them as a page of their own orders: there is no such route.
    assert (await service.http.get("/api/ratings", headers=service.mine)).status_code == 404
    assert await service.kept() == 0
