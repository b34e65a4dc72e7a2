"""HTTP routes of the orders service, behind the gateway: parse → command → reply."""

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from kundonline_common.handle import handle
from kundonline_common.pagination import Page
from kundonline_common.tokens import AccountDep, StaffDep, SystemDep

from . import masterdata, planner, portal, projects, ratings, staff_orders, stats, timeline
from .schemas import (
    CalendarEntry,
    CustomerCreate,
    CustomerPublic,
    CustomerUpdate,
    Day,
    FacilityCreate,
    FacilityPublic,
    FacilityUpdate,
    OrderCreate,
    OrderPublic,
    OrderTimeline,
    OrderUpdate,
    PortalOrder,
    PortalProject,
    ProjectCreate,
    ProjectPublic,
    ProjectUpdate,
    StaffOrderTimeline,
    Statistics,
)

Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=500)]
Text = Annotated[str | None, Query(max_length=200)]
StatusFilter = Literal["planned", "started", "completed", "invoiced", "cancelled"]

staff = APIRouter(prefix="/admin/api", tags=["staff"])
customer = APIRouter(prefix="/api", tags=["portal"])
# The gateway's own calls, outside the public API: the rating page's, whose credential is the
# signed link it passes on.
internal = APIRouter(prefix="/internal", include_in_schema=False)


@staff.post("/customers", status_code=201)
async def create_customer(request: Request, _: StaffDep, body: CustomerCreate) -> CustomerPublic:
    """Create a customer with its our-reference."""
    return await handle(request, masterdata.create_customer, body=body)


@staff.get("/customers")
async def list_customers(
    request: Request, _: StaffDep, name: Text = None, cursor: Cursor = None, limit: Limit = 50
) -> Page[CustomerPublic]:
    """Customers by name."""
    return await handle(request, masterdata.list_customers, name=name, cursor=cursor, limit=limit)


@staff.get("/customers/{customer_id}")
async def get_customer(request: Request, _: StaffDep, customer_id: UUID) -> CustomerPublic:
    """One customer."""
    found = await handle(request, masterdata.get_customer, customer_id=customer_id)
    return masterdata.customer_public(found)


@staff.patch("/customers/{customer_id}")
async def update_customer(
    request: Request, _: StaffDep, customer_id: UUID, body: CustomerUpdate
) -> CustomerPublic:
    """Change a customer's name or our-reference."""
    return await handle(request, masterdata.update_customer, customer_id=customer_id, body=body)


@staff.post("/facilities", status_code=201)
async def create_facility(request: Request, _: StaffDep, body: FacilityCreate) -> FacilityPublic:
    """Create a facility for a customer."""
    return await handle(request, masterdata.create_facility, body=body)


@staff.get("/facilities")
async def list_facilities(
    request: Request,
    _: StaffDep,
    customer_id: UUID | None = None,
    name: Text = None,
    city: Text = None,
    reference_number: Text = None,
    category: Text = None,
    active: bool | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[FacilityPublic]:
    """The facility picker: filter by customer, name, city, reference number, category, active."""
    filters = dict(
        customer_id=customer_id,
        name=name,
        city=city,
        reference_number=reference_number,
        category=category,
        active=active,
    )
    return await handle(
        request, masterdata.list_facilities, filters=filters, cursor=cursor, limit=limit
    )


@staff.get("/facilities/{facility_id}")
async def get_facility(request: Request, _: StaffDep, facility_id: UUID) -> FacilityPublic:
    """One facility."""
    found = await handle(request, masterdata.get_facility, facility_id=facility_id)
    return masterdata.facility_public(found)


@staff.patch("/facilities/{facility_id}")
async def update_facility(
    request: Request, _: StaffDep, facility_id: UUID, body: FacilityUpdate
) -> FacilityPublic:
    """Change a facility."""
    return await handle(request, masterdata.update_facility, facility_id=facility_id, body=body)


@staff.post("/projects", status_code=201)
async def create_project(request: Request, _: StaffDep, body: ProjectCreate) -> ProjectPublic:
    """Create a project with its rows."""
    return await handle(request, projects.create_project, body=body)


@staff.get("/projects")
async def list_projects(
    request: Request,
    _: StaffDep,
    customer_id: UUID | None = None,
    name: Text = None,
    active: bool | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[ProjectPublic]:
    """Projects, filtered by customer, name and active."""
    filters = {"customer_id": customer_id, "name": name, "active": active}
    return await handle(
        request, projects.list_projects, filters=filters, cursor=cursor, limit=limit
    )


@staff.get("/projects/{project_id}")
async def get_project(request: Request, _: StaffDep, project_id: UUID) -> ProjectPublic:
    """One project with its rows."""
    found = await handle(request, projects.get_project, project_id=project_id)
    return projects.project_public(found)


@staff.patch("/projects/{project_id}")
async def update_project(
    request: Request, _: StaffDep, project_id: UUID, body: ProjectUpdate
) -> ProjectPublic:
    """Change a project's name, active state or rows."""
    return await handle(request, projects.update_project, project_id=project_id, body=body)


@customer.get("/projects", response_model_exclude_unset=True)
async def my_projects(request: Request, caller: AccountDep) -> Page[PortalProject]:
    """The projects linked to the account, with their rows."""
    return await handle(request, projects.my_projects, account_id=caller.account_id)


@customer.get("/projects/{project_id}", response_model_exclude_unset=True)
async def my_project(request: Request, caller: AccountDep, project_id: UUID) -> PortalProject:
    """One linked project; purchase prices only if the account may see them."""
    return await handle(
        request, projects.my_project, account_id=caller.account_id, project_id=project_id
    )


@staff.post("/orders", status_code=201)
async def create_order(request: Request, caller: StaffDep, body: OrderCreate) -> OrderPublic:
    """Create an order on a facility or project."""
    return await handle(request, staff_orders.create_order, body=body, by=caller.subject)


@staff.get("/orders")
async def list_orders(
    request: Request,
    _: StaffDep,
    status: StatusFilter | None = None,
    customer_id: UUID | None = None,
    facility_id: UUID | None = None,
    project_id: UUID | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[OrderPublic]:
    """Orders, newest first, by status, customer, facility or project."""
    filters = {
        "status": status,
        "customer_id": customer_id,
        "facility_id": facility_id,
        "project_id": project_id,
    }
    return await handle(
        request, staff_orders.list_orders, filters=filters, cursor=cursor, limit=limit
    )


@staff.get("/orders/{order_id}")
async def get_order(request: Request, _: StaffDep, order_id: UUID) -> OrderPublic:
    """One order with everything, purchase prices included."""
    found = await handle(request, staff_orders.get_order, order_id=order_id)
    return staff_orders.order_public(found)


@staff.patch("/orders/{order_id}")
async def update_order(
    request: Request, caller: StaffDep, order_id: UUID, body: OrderUpdate
) -> OrderPublic:
    """Edit an order: status (planned → started → completed → invoiced, or cancelled),
    dates, performed action, rows, and the reason for a new status or planned time. A
    refused status change answers 409."""
    return await handle(
        request, staff_orders.update_order, order_id=order_id, body=body, by=caller.subject
    )


@staff.get("/orders/{order_id}/timeline", response_model_exclude_unset=True)
async def order_timeline(request: Request, _: StaffDep, order_id: UUID) -> StaffOrderTimeline:
    """An order's steps, oldest first, each with who made it."""
    return await handle(request, timeline.staff_timeline, order_id=order_id)


@customer.get("/statistics")
async def my_statistics(
    request: Request, caller: AccountDep, cursor: Cursor = None, limit: Limit = 50
) -> Statistics:
    """Orders on the account's facilities with values and totals; 404 unless enabled."""
    return await handle(
        request, stats.statistics, account_id=caller.account_id, cursor=cursor, limit=limit
    )


@customer.get("/calendar")
async def my_calendar(
    request: Request,
    caller: AccountDep,
    from_: Annotated[Day | None, Query(alias="from")] = None,
    to: Day | None = None,
) -> Page[CalendarEntry]:
    """Orders by planned date from `from` to `to`, both whole days in the portal's time zone;
    without them, the current month there. 404 unless enabled."""
    return await handle(
        request, planner.calendar, account_id=caller.account_id, since=from_, until=to
    )


@customer.get("/calendar.ics", response_class=Response)
async def calendar_feed(
    request: Request, _: SystemDep, token: Annotated[str, Query(min_length=20, max_length=100)]
) -> Response:
    """The private iCalendar subscription; the token in the URL is the only credential."""
    body = await handle(request, planner.feed, token=token)
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=300"},
    )


@customer.get("/facilities")
async def my_facilities(request: Request, caller: AccountDep) -> Page[FacilityPublic]:
    """The facilities linked to the calling account."""
    return await handle(request, portal.linked_facilities, account_id=caller.account_id)


@customer.get("/orders", response_model_exclude_unset=True)
async def my_orders(
    request: Request,
    caller: AccountDep,
    status: StatusFilter | None = None,
    facility_id: UUID | None = None,
    from_: Annotated[Day | None, Query(alias="from")] = None,
    to: Day | None = None,
    cursor: Cursor = None,
    limit: Limit = 25,
) -> Page[PortalOrder]:
    """Orders on the account's facilities and projects, newest first; filter by status,
    facility and the day they were created (from/to, inclusive, in the portal's time zone)."""
    filters = portal.OrderFilters(status=status, facility_id=facility_id, since=from_, until=to)
    return await handle(
        request,
        portal.list_orders,
        account_id=caller.account_id,
        filters=filters,
        cursor=cursor,
        limit=limit,
    )


@customer.get("/orders/upcoming", response_model_exclude_unset=True)
async def my_upcoming_visits(
    request: Request, caller: AccountDep, limit: Annotated[int, Query(ge=1, le=50)] = 5
) -> Page[PortalOrder]:
    """The next planned visits: the account's orders to be done or being done whose planned
    time has not passed, soonest first."""
    return await handle(request, portal.upcoming_visits, account_id=caller.account_id, limit=limit)


@customer.get("/orders/{order_id}/timeline", response_model_exclude_unset=True)
async def my_order_timeline(request: Request, caller: AccountDep, order_id: UUID) -> OrderTimeline:
    """One order's steps, oldest first, as the account may see the order; 404 as for the
    order itself."""
    return await handle(
        request, timeline.customer_timeline, account_id=caller.account_id, order_id=order_id
    )


@customer.get("/orders/{order_id}", response_model_exclude_unset=True)
async def my_order(request: Request, caller: AccountDep, order_id: UUID) -> PortalOrder:
    """One order, with the account's and the portal's visibility rules applied."""
    return await handle(request, portal.get_order, account_id=caller.account_id, order_id=order_id)


def _rating_secret(request: Request) -> str | None:
    secret: str | None = request.app.state.settings.rating_secret
    return secret


@staff.get("/ratings")
async def list_ratings(
    request: Request,
    _: StaffDep,
    customer_id: UUID | None = None,
    facility_id: UUID | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> ratings.Ratings:
    """Ratings of completed orders, newest first, by customer and facility: their number and
    average score too."""
    return await handle(
        request,
        ratings.list_ratings,
        customer_id=customer_id,
        facility_id=facility_id,
        cursor=cursor,
        limit=limit,
    )


@internal.get("/ratings/{order_id}")
async def rating_link(
    request: Request,
    _: SystemDep,
    order_id: UUID,
    token: Annotated[str, Query(min_length=1, max_length=200)],
) -> ratings.RatingLinkInfo:
    """The order a signed rating link is for; 403/410 for a forged or expired link."""
    return await handle(
        request,
        ratings.link_info,
        secret=_rating_secret(request),
        order_id=order_id,
        token=token,
    )


@internal.post("/ratings/{order_id}", status_code=201)
async def rate_order(
    request: Request, _: SystemDep, order_id: UUID, body: ratings.RatingCreate
) -> ratings.RatingPublic:
    """Rate an order through its signed link, once; 409 when it is rated already."""
    return await handle(
        request, ratings.rate, secret=_rating_secret(request), order_id=order_id, body=body
    )
