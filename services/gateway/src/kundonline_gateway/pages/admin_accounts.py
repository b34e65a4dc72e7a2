"""Portal accounts (Inställningar → KundOnline → Användare): list, create, edit, delete."""

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kundonline_common.errors import DomainError

from .admin import (
    AdminRoute,
    admin,
    all_customers,
    field_errors,
    names_of,
    notice,
    pager_query,
)
from .web import Page, check_form

router = APIRouter(prefix="/admin/accounts", include_in_schema=False, route_class=AdminRoute)

FLAGS = (
    "order_direct",
    "hide_performed_action",
    "show_purchase_prices_on_projects",
    "show_purchase_price_on_order_rows",
)
# What the service's refusals mean, in the page's words.
REFUSALS = {
    "weak_password": "password_help",
    "username_taken": "username_taken",
    "license_required": "license_needed",
    "max_accounts_reached": "max_accounts",
    "unknown_customer": "unknown_customer",
}
FIELDS = {
    "customer_id": "choose_customer",
    "name": "name_required",
    "username": "username_help",
    "password": "password_help",
    "email": "invalid_email",
    "language": "",
}


def _details(form: dict[str, Any]) -> dict[str, Any]:
    """Name, e-mail, language and the four flags, as the API takes them."""
    email = str(form.get("email", "")).strip()
    return {
        "name": str(form.get("name", "")).strip(),
        "email": email or None,
        "language": "en" if form.get("language") == "en" else "sv",
        **{flag: flag in form for flag in FLAGS},
    }


def _refused(page: Page, exc: DomainError) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The messages and field errors for a refused create or change; other errors go on."""
    if exc.status_code not in (409, 422):
        raise exc
    if exc.code in REFUSALS:
        return [("error", page.t(REFUSALS[exc.code]))], {}
    return [("error", page.t("invalid"))], field_errors(page, exc, FIELDS)


async def _account(page: Page, account_id: UUID) -> dict[str, Any]:
    return await page.api("auth", "GET", f"/admin/api/accounts/{account_id}")


async def _customer(page: Page, customer_id: str) -> dict[str, Any]:
    return await page.api("orders", "GET", f"/admin/api/customers/{customer_id}")


@router.get("")
async def accounts(
    request: Request, cursor: str | None = None, done: str | None = None
) -> Response:
    page = await admin(request)
    q = (request.query_params.get("q") or "").strip()
    customer_id = request.query_params.get("customer_id") or ""
    params: dict[str, Any] = {"limit": 50, **({"cursor": cursor} if cursor else {})}
    params |= {k: v for k, v in (("q", q), ("customer_id", customer_id)) if v}
    try:
        found = await page.api("auth", "GET", "/admin/api/accounts", params=params)
    except DomainError as exc:
        if exc.status_code != 422:
            raise
        found, customer_id = {"items": [], "next_cursor": None}, ""
    customers = await all_customers(page)
    names = await names_of(page, "customers", (a["customer_id"] for a in found["items"]))
    return page.render(
        "admin/accounts.html",
        accounts=found["items"],
        q=q,
        customer_id=customer_id,
        customers=customers,
        customer_names=names,
        cursor=cursor,
        next_cursor=found["next_cursor"],
        query_without_cursor=pager_query(request),
        messages=notice(page, done),
    )


async def _new_page(
    page: Page,
    form: dict[str, Any],
    messages: list[tuple[str, str]] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    customers = await all_customers(page)
    return page.render(
        "admin/account_new.html",
        status=status,
        form=form,
        customers=customers,
        customer_q=page.request.query_params.get("customer_q", ""),
        flags=FLAGS,
        errors=errors or {},
        messages=messages or [],
    )


@router.get("/new")
async def new_form(request: Request) -> Response:
    page = await admin(request)
    return await _new_page(page, {"language": "sv", "customer_id": ""})


@router.post("/new")
async def create(request: Request) -> Response:
    page = await admin(request)
    form = await check_form(page)
    body = {
        **_details(form),
        "customer_id": str(form.get("customer_id", "")) or None,
        "username": str(form.get("username", "")).strip(),
        "password": str(form.get("password", "")),
    }
    try:
        made = await page.api("auth", "POST", "/admin/api/accounts", json=body)
    except DomainError as exc:
        messages, errors = _refused(page, exc)
        shown = {k: v for k, v in form.items() if k not in ("password", "csrf_token")}
        return await _new_page(page, shown, messages, errors, status=exc.status_code)
    return page.redirect(f"/admin/accounts/{made['id']}", done="added")


async def _edit_page(
    page: Page,
    account: dict[str, Any],
    messages: list[tuple[str, str]],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    customer = await _customer(page, account["customer_id"])
    return page.render(
        "admin/account.html",
        status=status,
        account=account,
        customer=customer,
        flags=FLAGS,
        errors=errors or {},
        messages=messages,
    )


@router.get("/{account_id}")
async def account(request: Request, account_id: UUID, done: str | None = None) -> Response:
    page = await admin(request)
    return await _edit_page(page, await _account(page, account_id), notice(page, done))


@router.post("/{account_id}")
async def update(request: Request, account_id: UUID) -> Response:
    page = await admin(request)
    form = await check_form(page)
    try:
        await page.api("auth", "PATCH", f"/admin/api/accounts/{account_id}", json=_details(form))
    except DomainError as exc:
        messages, errors = _refused(page, exc)
        shown = {**await _account(page, account_id), **_details(form)}
        return await _edit_page(page, shown, messages, errors, status=exc.status_code)
    return page.redirect(f"/admin/accounts/{account_id}", done="saved")


@router.post("/{account_id}/active")
async def set_active(request: Request, account_id: UUID) -> Response:
    page = await admin(request)
    form = await check_form(page)
    body = {"active": form.get("active") == "1"}
    await page.api("auth", "PATCH", f"/admin/api/accounts/{account_id}", json=body)
    return page.redirect(f"/admin/accounts/{account_id}", done="saved")


@router.post("/{account_id}/password")
async def reset_password(request: Request, account_id: UUID) -> Response:
    page = await admin(request)
    form = await check_form(page)
    body = {"password": str(form.get("password", ""))}
    try:
        await page.api("auth", "POST", f"/admin/api/accounts/{account_id}/password", json=body)
    except DomainError as exc:
        messages, _ = _refused(page, exc)
        found = await _account(page, account_id)
        errors = {"password": page.t("password_help")}
        return await _edit_page(page, found, messages, errors, status=exc.status_code)
    return page.redirect(f"/admin/accounts/{account_id}", done="password_reset")


@router.get("/{account_id}/delete")
async def confirm_delete(request: Request, account_id: UUID) -> Response:
    page = await admin(request)
    return page.render("admin/account_delete.html", account=await _account(page, account_id))


@router.post("/{account_id}/delete")
async def delete(request: Request, account_id: UUID) -> Response:
    page = await admin(request)
    await check_form(page)
    await page.api("auth", "DELETE", f"/admin/api/accounts/{account_id}")
    return page.redirect("/admin/accounts", done="deleted")
