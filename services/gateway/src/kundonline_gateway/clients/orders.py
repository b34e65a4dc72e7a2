"""The orders service: what an account sees, and the master data and orders staff keep."""

import asyncio
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Literal
from uuid import UUID

from kundonline_common.errors import NotFound

from .base import Api, Json, Listing

Named = Literal["customers", "facilities", "projects"]

# What the account sees


async def my_facilities(api: Api) -> list[Json]:
    return (await api.list("/api/facilities"))["items"]


async def my_projects(api: Api) -> list[Json]:
    return (await api.list("/api/projects"))["items"]


async def my_place_names(api: Api) -> dict[str, str]:
    """Names of the account's facilities and projects, by id."""
    facilities, projects = await asyncio.gather(my_facilities(api), my_projects(api))
    return {p["id"]: p["name"] for p in facilities + projects}


async def my_orders(
    api: Api, filters: Mapping[str, str], *, limit: int, cursor: str | None = None
) -> Listing:
    return await api.list("/api/orders", limit=limit, **filters, cursor=cursor)


async def my_order(api: Api, order_id: UUID) -> Json:
    return await api.get(f"/api/orders/{order_id}")


async def my_timeline(api: Api, order_id: UUID | str) -> Json:
    """The order's steps as the account may see them, oldest first."""
    return await api.get(f"/api/orders/{order_id}/timeline")


async def my_upcoming_visits(api: Api, *, limit: int = 5) -> list[Json]:
    """The account's next planned visits, soonest first."""
    return (await api.list("/api/orders/upcoming", limit=limit))["items"]


async def my_project(api: Api, project_id: UUID) -> Json:
    return await api.get(f"/api/projects/{project_id}")


async def statistics(api: Api, *, limit: int, cursor: str | None = None) -> Json:
    return await api.get("/api/statistics", limit=limit, cursor=cursor)


async def calendar(api: Api, first: date, last: date) -> list[Json]:
    """Orders planned from `first` to `last`, both days included."""
    window = {"from": first.isoformat(), "to": last.isoformat()}
    return (await api.list("/api/calendar", **window))["items"]


# Staff: customers, facilities, projects, orders


async def list_customers(
    api: Api, *, name: str | None = None, cursor: str | None = None, limit: int = 50
) -> Listing:
    return await api.list("/admin/api/customers", limit=limit, name=name, cursor=cursor)


async def customer_choices(api: Api, name: str | None) -> list[Json]:
    """Customers for a select, by name: the first 200; a search narrows them."""
    return (await list_customers(api, name=name, limit=200))["items"]


async def customer(api: Api, customer_id: UUID | str) -> Json:
    return await api.get(f"/admin/api/customers/{customer_id}")


async def create_customer(api: Api, customer: Json) -> Json:
    return await api.send("POST", "/admin/api/customers", json=customer)


async def update_customer(api: Api, customer_id: UUID, changes: Json) -> None:
    await api.send("PATCH", f"/admin/api/customers/{customer_id}", json=changes)


async def list_facilities(
    api: Api, filters: Mapping[str, str], *, cursor: str | None = None, limit: int = 50
) -> Listing:
    return await api.list("/admin/api/facilities", limit=limit, **filters, cursor=cursor)


async def facility(api: Api, facility_id: UUID) -> Json:
    return await api.get(f"/admin/api/facilities/{facility_id}")


async def create_facility(api: Api, facility: Json) -> Json:
    return await api.send("POST", "/admin/api/facilities", json=facility)


async def update_facility(api: Api, facility_id: UUID, changes: Json) -> None:
    await api.send("PATCH", f"/admin/api/facilities/{facility_id}", json=changes)


async def list_projects(
    api: Api, filters: Mapping[str, str], *, cursor: str | None = None, limit: int = 50
) -> Listing:
    return await api.list("/admin/api/projects", limit=limit, **filters, cursor=cursor)


async def project(api: Api, project_id: UUID) -> Json:
    return await api.get(f"/admin/api/projects/{project_id}")


async def create_project(api: Api, project: Json) -> Json:
    return await api.send("POST", "/admin/api/projects", json=project)


async def update_project(api: Api, project_id: UUID, changes: Json) -> None:
    await api.send("PATCH", f"/admin/api/projects/{project_id}", json=changes)


async def list_orders(
    api: Api, filters: Mapping[str, str], *, cursor: str | None = None, limit: int = 50
) -> Listing:
    return await api.list("/admin/api/orders", limit=limit, **filters, cursor=cursor)


async def order(api: Api, order_id: UUID) -> Json:
    return await api.get(f"/admin/api/orders/{order_id}")


async def timeline(api: Api, order_id: UUID) -> Json:
    """The order's steps, oldest first, each with the staff id of who made it."""
    return await api.get(f"/admin/api/orders/{order_id}/timeline")


async def create_order(api: Api, order: Json) -> Json:
    return await api.send("POST", "/admin/api/orders", json=order)


async def update_order(api: Api, order_id: UUID, changes: Json) -> None:
    await api.send("PATCH", f"/admin/api/orders/{order_id}", json=changes)


async def owner_names(api: Api, items: list[Json]) -> dict[str, str]:
    """Names of the customers that accounts, facilities, projects or orders belong to."""
    return await names_of(api, "customers", (i["customer_id"] for i in items))


async def owners_and_places(api: Api, items: list[Json]) -> tuple[dict[str, str], dict[str, str]]:
    """Names of the customers, and of the facilities and projects, that faults or orders
    are on, by id."""
    customers, facilities, projects = await asyncio.gather(
        owner_names(api, items),
        names_of(api, "facilities", (i["facility_id"] for i in items)),
        names_of(api, "projects", (i["project_id"] for i in items)),
    )
    return customers, {**facilities, **projects}


async def names_of(api: Api, kind: Named, ids: Iterable[str | None]) -> dict[str, str]:
    """Names of customers, facilities or projects by id, one lookup per distinct id; an
    unknown one has the empty name."""
    wanted = sorted({i for i in ids if i})

    async def one(item_id: str) -> str:
        try:
            name: str = (await api.get(f"/admin/api/{kind}/{item_id}"))["name"]
            return name
        except NotFound:
            return ""

    found = await asyncio.gather(*(one(i) for i in wanted))
    return dict(zip(wanted, found, strict=True))
