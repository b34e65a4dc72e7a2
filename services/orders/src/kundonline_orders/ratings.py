"""Ratings of completed orders: one per order, given through the signed link in the
completion mail (kundonline_common.rating_links), published as OrderRated; staff read them per
customer and facility."""

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from kundonline_common import rating_links
from kundonline_common.errors import Conflict, DomainError, NotFound
from kundonline_common.pagination import keyset_page
from kundonline_common.tables import utcnow
from kundonline_common.uow import UnitOfWork
from kundonline_contracts import OrderRated

from .repository import OrdersRepository
from .tables import Facility, Order, Project, Rating

Uow = UnitOfWork[OrdersRepository]
# A rating is for work done: an order reopened or cancelled since the mail is not rated.
RATEABLE = frozenset({"completed", "invoiced"})
# What the page says of a refused link: forged and malformed are one, so a guesser learns
# nothing; an expired one is told to ask staff instead.
REFUSALS = {
    "malformed": (403, "rating_link_invalid"),
    "forged": (403, "rating_link_invalid"),
    "wrong_order": (403, "rating_link_invalid"),
    "expired": (410, "rating_link_expired"),
}


class RatingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    token: str = Field(min_length=1, max_length=rating_links.MAX_TOKEN_LENGTH)
    score: int = Field(ge=1, le=5)
    comment: str = Field("", max_length=OrderRated.MAX_COMMENT)


class RatingLinkInfo(BaseModel):
    """What the rating page shows before anything is sent."""

    order_id: UUID
    order_number: int
    facility_id: UUID | None
    project_id: UUID | None
    place_name: str
    rated: bool


class RatingPublic(BaseModel):
    order_id: UUID
    order_number: int
    customer_id: UUID
    facility_id: UUID | None
    project_id: UUID | None
    account_id: UUID
    score: int
    comment: str
    rated_at: datetime


class Ratings(BaseModel):
    """The ratings a filter selects: how many, their average score, and a page of them."""

    count: int
    average: float | None
    items: list[RatingPublic]
    next_cursor: str | None = None


def _link(secret: str | None, token: str, order_id: UUID) -> rating_links.RatingLink:
    if secret is None:
        raise NotFound("Ratings are not enabled.", code="ratings_disabled")
    try:
        return rating_links.read(secret, token, order_id=order_id)
    except rating_links.InvalidRatingLink as exc:
        status, code = REFUSALS[exc.reason]
        raise DomainError("The rating link is not valid.", code=code, status_code=status) from exc


async def _rateable(uow: Uow, order_id: UUID) -> Order:
    order = await uow.repo.found(Order, order_id, "order")
    if order.status not in RATEABLE:
        raise Conflict("The order is not completed.", code="not_completed")
    return order


async def link_info(*, uow: Uow, secret: str | None, order_id: UUID, token: str) -> RatingLinkInfo:
    """The order a link rates, and whether it is rated already. Reading it changes nothing:
    mail scanners open links, and only the form's POST may use the link up."""
    _link(secret, token, order_id)
    order = await _rateable(uow, order_id)
    return RatingLinkInfo(
        order_id=order.id,
        order_number=order.order_number,
        facility_id=order.facility_id,
        project_id=order.project_id,
        place_name=await _place_name(uow, order),
        rated=await uow.repo.get(Rating, order.id) is not None,
    )


async def _place_name(uow: Uow, order: Order) -> str:
    place: Facility | Project | None = None
    if order.facility_id is not None:
        place = await uow.repo.get(Facility, order.facility_id)
    elif order.project_id is not None:
        place = await uow.repo.get(Project, order.project_id)
    return place.name if place is not None else ""


async def rate(*, uow: Uow, secret: str | None, order_id: UUID, body: RatingCreate) -> RatingPublic:
    """Keep the one rating of an order, and publish it in the same transaction. A second is
    refused (409), also when two are sent at once: the order's id is the rating's key."""
    link = _link(secret, body.token, order_id)
    order = await _rateable(uow, order_id)
    if await uow.repo.get(Rating, order.id) is not None:
        raise Conflict("The order is rated already.", code="already_rated")
    rating = Rating(
        id=order.id,
        order_number=order.order_number,
        customer_id=order.customer_id,
        facility_id=order.facility_id,
        project_id=order.project_id,
        account_id=link.account_id,
        score=body.score,
        comment=body.comment,
        rated_at=utcnow(),
    )
    uow.repo.add(rating)
    try:
        # Now rather than at the commit: two sent at once both passed the check above, and
        # the loser is told what happened, not that something collided.
        await uow.repo.session.flush()
    except IntegrityError as exc:
        raise Conflict("The order is rated already.", code="already_rated") from exc
    public = rating_public(rating)
    uow.publish(OrderRated(**public.model_dump()))
    return public


def rating_public(rating: Rating) -> RatingPublic:
    return RatingPublic.model_validate({**rating.model_dump(), "order_id": rating.id})


async def list_ratings(
    *,
    uow: Uow,
    customer_id: UUID | None,
    facility_id: UUID | None,
    cursor: str | None,
    limit: int,
) -> Ratings:
    """Newest first; count and average are of every rating the filter selects."""
    where = []
    if customer_id is not None:
        where.append(col(Rating.customer_id) == customer_id)
    if facility_id is not None:
        where.append(col(Rating.facility_id) == facility_id)
    session = uow.repo.session
    count, average = (
        await session.execute(select(func.count(), func.avg(col(Rating.score))).where(*where))
    ).one()
    rows, next_cursor = await keyset_page(
        session,
        select(Rating).where(*where),
        key=col(Rating.rated_at),
        cursor=cursor,
        limit=limit,
        descending=True,
    )
    return Ratings(
        count=count,
        average=round(float(average), 2) if average is not None else None,
        items=[rating_public(r) for r in rows],
        next_cursor=next_cursor,
    )
