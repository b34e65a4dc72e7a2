"""Customers (with our reference) and their facilities, as staff keep them."""

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kundonline_common.errors import DomainError

from .admin import AdminRoute, admin, all_customers, field_errors, names_of, notice, pager_query
from .web import Page, check_form

router = APIRouter(prefix="/admin", include_in_schema=False, route_class=AdminRoute)

CUSTOMER_FIELDS = {
    "name": "name_required",
    "our_reference": "our_reference_help",
    "our_reference.name": "our_reference_help",
    "our_reference.email": "invalid_email",
}
FACILITY_FIELDS = {
    "customer_id": "choose_customer",
    "name": "name_required",
    "address": "",
    "city": "",
    "reference_number": "",
    "categories": "categories_help",
}
FACILITY_FILTERS = ("customer_id", "name", "city", "reference_number", "category", "active")


def _refused(page: Page, exc: DomainError, names: dict[str, str]) -> tuple[list[Any], dict]:
    if exc.status_code != 422:
        raise exc
    key = "unknown_customer" if exc.code == "unknown_customer" else "invalid"
    return [("error", page.t(key))], field_errors(page, exc, names)


def _customer_body(form: dict[str, Any]) -> dict[str, Any]:
    ref = {
        "name": str(form.get("our_reference.name", "")).strip(),
        "email": str(form.get("our_reference.email", "")).strip() or None,
    }
    return {
        "name": str(form.get("name", "")).strip(),
        "our_reference": ref if ref["name"] or ref["email"] else None,
    }


@router.get("/customers")
async def customers(
    request: Request, cursor: str | None = None, done: str | None = None
) -> Response:
    page = await admin(request)
    name = (request.query_params.get("name") or "").strip()
    params = {
        "limit": 50,
        **({"name": name} if name else {}),
        **({"cursor": cursor} if cursor else {}),
    }
    found = await page.api("orders", "GET", "/admin/api/customers", params=params)
    return page.render(
        "admin/customers.html",
        customers=found["items"],
        name=name,
        cursor=cursor,
        next_cursor=found["next_cursor"],
        query_without_cursor=pager_query(request),
        messages=notice(page, done),
    )


def _customer_form(
    page: Page, customer: dict[str, Any], messages: list[Any], errors: dict, status: int = 200
) -> Response:
    return page.render(
        "admin/customer_form.html",
        status=status,
        customer=customer,
        errors=errors,
        messages=messages,
    )


@router.get("/customers/new")
async def new_customer(request: Request) -> Response:
    page = await admin(request)
    return _customer_form(page, {"name": "", "our_reference": None}, [], {})


@router.post("/customers/new")
async def create_customer(request: Request) -> Response:
    page = await admin(request)
    body = _customer_body(await check_form(page))
    try:
        made = await page.api("orders", "POST", "/admin/api/customers", json=body)
    except DomainError as exc:
        messages, errors = _refused(page, exc, CUSTOMER_FIELDS)
        return _customer_form(page, body, messages, errors, exc.status_code)
    return page.redirect(f"/admin/customers/{made['id']}", done="added")


@router.get("/customers/{customer_id}")
async def customer(request: Request, customer_id: UUID, done: str | None = None) -> Response:
    page = await admin(request)
    found = await page.api("orders", "GET", f"/admin/api/customers/{customer_id}")
    return _customer_form(page, found, notice(page, done), {})


@router.post("/customers/{customer_id}")
async def update_customer(request: Request, customer_id: UUID) -> Response:
    page = await admin(request)
    body = _customer_body(await check_form(page))
    path = f"/admin/api/customers/{customer_id}"
    try:
        await page.api("orders", "PATCH", path, json=body)
    except DomainError as exc:
        messages, errors = _refused(page, exc, CUSTOMER_FIELDS)
        return _customer_form(page, {**body, "id": str(customer_id)}, messages, errors, 422)
    return page.redirect(f"/admin/customers/{customer_id}", done="saved")


@router.get("/facilities")
async def facilities(
    request: Request, cursor: str | None = None, done: str | None = None
) -> Response:
    page = await admin(request)
    query = request.query_params
    filters = {k: v.strip() for k in FACILITY_FILTERS if (v := query.get(k) or "").strip()}
    params = {"limit": 50, **filters, **({"cursor": cursor} if cursor else {})}
    try:
        found = await page.api("orders", "GET", "/admin/api/facilities", params=params)
    except DomainError as exc:
        if exc.status_code != 422:
            raise
        found, filters = {"items": [], "next_cursor": None}, {}
    names = await names_of(page, "customers", (f["customer_id"] for f in found["items"]))
    return page.render(
        "admin/facilities.html",
        facilities=found["items"],
        filters=filters,
        customers=await all_customers(page),
        customer_names=names,
        cursor=cursor,
        next_cursor=found["next_cursor"],
        query_without_cursor=pager_query(request),
        messages=notice(page, done),
    )


def _facility_body(form: dict[str, Any]) -> dict[str, Any]:
    categories = str(form.get("categories", "")).split(",")
    return {
        "name": str(form.get("name", "")).strip(),
        "address": str(form.get("address", "")).strip(),
        "city": str(form.get("city", "")).strip(),
        "reference_number": str(form.get("reference_number", "")).strip(),
        "categories": [c.strip() for c in categories if c.strip()],
        "active": "active" in form,
    }


async def _facility_form(
    page: Page, facility: dict[str, Any], messages: list[Any], errors: dict, status: int = 200
) -> Response:
    customers = [] if facility.get("id") else await all_customers(page)
    owner = (
        await page.api("orders", "GET", f"/admin/api/customers/{facility['customer_id']}")
        if facility.get("id")
        else None
    )
    return page.render(
        "admin/facility_form.html",
        status=status,
        facility=facility,
        customers=customers,
        owner=owner,
        errors=errors,
        messages=messages,
    )


@router.get("/facilities/new")
async def new_facility(request: Request) -> Response:
    page = await admin(request)
    chosen = request.query_params.get("customer_id", "")
    blank = {"customer_id": chosen, "categories": [], "active": True}
    return await _facility_form(page, blank, [], {})


@router.post("/facilities/new")
async def create_facility(request: Request) -> Response:
    page = await admin(request)
    form = await check_form(page)
    body = {**_facility_body(form), "customer_id": str(form.get("customer_id", "")) or None}
    try:
        made = await page.api("orders", "POST", "/admin/api/facilities", json=body)
    except DomainError as exc:
        messages, errors = _refused(page, exc, FACILITY_FIELDS)
        return await _facility_form(page, body, messages, errors, exc.status_code)
    return page.redirect(f"/admin/facilities/{made['id']}", done="added")


@router.get("/facilities/{facility_id}")
async def facility(request: Request, facility_id: UUID, done: str | None = None) -> Response:
    page = await admin(request)
    found = await page.api("orders", "GET", f"/admin/api/facilities/{facility_id}")
    return await _facility_form(page, found, notice(page, done), {})


@router.post("/facilities/{facility_id}")
async def update_facility(request: Request, facility_id: UUID) -> Response:
    page = await admin(request)
    body = _facility_body(await check_form(page))
    path = f"/admin/api/facilities/{facility_id}"
    try:
        await page.api("orders", "PATCH", path, json=body)
    except DomainError as exc:
        messages, errors = _refused(page, exc, FACILITY_FIELDS)
        found = await page.api("orders", "GET", path)
        return await _facility_form(page, {**found, **body}, messages, errors, exc.status_code)
    return page.redirect(f"/admin/facilities/{facility_id}", done="saved")
