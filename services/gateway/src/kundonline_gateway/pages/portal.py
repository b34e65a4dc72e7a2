"""The customer portal's pages; every read and write goes through the services' own API."""

from typing import Any
from urllib.parse import urlencode
from uuid import UUID, uuid4

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kundonline_common.errors import DomainError

from ..login import end_session, open_session
from ..sessions import is_secure
from .web import Page, check_form, local_path, logged_in, page_for

router = APIRouter(include_in_schema=False)

LOGIN_ERRORS = {"too_many_attempts": "login_throttled", "license_required": "not_activated"}


async def portal(request: Request) -> Page:
    page = await logged_in(request, "account")
    page.extra["me"] = await page.api("auth", "GET", "/api/me")
    return page


async def places(page: Page) -> dict[str, str]:
    """Names of the account's facilities and projects, by id."""
    facilities = (await page.api("orders", "GET", "/api/facilities"))["items"]
    projects = (await page.api("orders", "GET", "/api/projects"))["items"]
    return {p["id"]: p["name"] for p in facilities + projects}


def query_without_cursor(request: Request) -> str:
    return urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "cursor"])


@router.get("/login")
async def login_form(request: Request, next: str = "/", reason: str | None = None) -> Response:
    page = page_for(request, "account")
    kinds = {"session_expired": "error", "password_changed": "ok"}
    messages = [(kinds[reason], page.t(reason))] if reason in kinds else []
    return page.render(
        "portal/login.html", next=local_path(next, "/"), username="", messages=messages
    )


@router.post("/login")
async def login(request: Request) -> Response:
    page = page_for(request, "account")
    form = await check_form(page)
    target = local_path(form.get("next"), "/")
    response = page.redirect(target)
    try:
        await open_session(
            request,
            response,
            "account",
            str(form.get("username", "")),
            str(form.get("password", "")),
        )
    except DomainError as exc:
        message = page.t(LOGIN_ERRORS.get(exc.code, "login_failed"))
        return page.render(
            "portal/login.html",
            status=exc.status_code,
            next=target,
            username=form.get("username", ""),
            messages=[("error", message)],
        )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    page = page_for(request, "account")
    await check_form(page)
    response = page.redirect("/login")
    await end_session(request, response, "account", form_checked=True)
    return response


@router.get("/language")
async def language(request: Request, lang: str, next: str = "/") -> Response:
    from .. import i18n

    page = page_for(request, "account")
    response = page.redirect(local_path(next, "/"))
    response.set_cookie(
        i18n.COOKIE,
        i18n.pick(lang),
        max_age=365 * 24 * 3600,
        path="/",
        samesite="lax",
        httponly=True,
        secure=is_secure(request),
    )
    return response


@router.get("/")
async def home(request: Request) -> Response:
    page = await portal(request)
    faults = await page.api("faults", "GET", "/api/faults", params={"limit": 5})
    orders = await page.api("orders", "GET", "/api/orders", params={"limit": 5})
    return page.render(
        "portal/home.html",
        faults=faults["items"],
        orders=orders["items"],
        places=await places(page),
    )


@router.get("/faults")
async def faults(request: Request, cursor: str | None = None) -> Response:
    page = await portal(request)
    params = {"limit": 25, **({"cursor": cursor} if cursor else {})}
    found = await page.api("faults", "GET", "/api/faults", params=params)
    return page.render(
        "portal/faults.html",
        faults=found["items"],
        cursor=cursor,
        next_cursor=found["next_cursor"],
        query_without_cursor=query_without_cursor(request),
    )


@router.get("/faults/new")
async def report_form(request: Request) -> Response:
    page = await portal(request)
    me = page.extra["me"]
    form = {"contact_name": me["name"], "contact_email": me.get("email") or ""}
    return await _report_page(page, form, {})


async def _report_page(
    page: Page, form: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response:
    facilities = (await page.api("orders", "GET", "/api/facilities"))["items"]
    projects = (await page.api("orders", "GET", "/api/projects"))["items"]
    messages = [("error", page.t("invalid"))] if errors else []
    # One key per form shown: a double click or a resent form makes one report, not two.
    key = str(form.get("request_key") or uuid4())
    return page.render(
        "portal/report.html",
        status=status,
        form=form,
        errors=errors,
        facilities=facilities,
        projects=projects,
        messages=messages,
        request_key=key,
    )


@router.post("/faults/new")
async def report(request: Request) -> Response:
    page = await portal(request)
    form = await check_form(page)
    kind, _, target = str(form.get("target", "")).partition(":")
    body = {
        f"{kind}_id": target,
        "description": str(form.get("description", "")),
        "contact": {
            "name": str(form.get("contact_name", "")),
            "phone": str(form.get("contact_phone", "")),
            "email": str(form.get("contact_email", "")) or None,
        },
    }
    if kind not in ("facility", "project"):
        return await _report_page(page, form, {"target": page.t("choose")}, 422)
    try:
        key = {"Idempotency-Key": str(form.get("request_key", ""))[:100]}
        receipt = await page.api("faults", "POST", "/api/faults", json=body, headers=key)
    except DomainError as exc:
        if exc.status_code not in (404, 422):
            raise
        return await _report_page(page, form, {"target": page.t("invalid")}, 422)
    await _attach_photos(page, receipt["id"], form)
    sent = "order" if receipt["next_step"] == "order_created" else "queue"
    return page.redirect(f"/faults/{receipt['id']}", sent=sent)


async def _attach_photos(page: Page, fault_id: str, form: dict[str, Any]) -> None:
    uploads = form.get("photos")
    uploads = uploads if isinstance(uploads, list) else [uploads]
    for upload in [u for u in uploads if getattr(u, "filename", None)][:5]:
        data = await upload.read()
        try:
            await page.api(
                "faults",
                "POST",
                f"/api/faults/{fault_id}/photos",
                files={"photo": (upload.filename, data, upload.content_type)},
            )
        except DomainError:
            continue  # the report stands; an unreadable photo is simply not attached


@router.get("/faults/{fault_id}")
async def fault(request: Request, fault_id: UUID, sent: str | None = None) -> Response:
    page = await portal(request)
    found = await page.api("faults", "GET", f"/api/faults/{fault_id}")
    messages = {
        "order": [("ok", page.t("fault_sent_order"))],
        "queue": [("ok", page.t("fault_sent_queue"))],
    }.get(sent or "", [])
    return page.render(
        "portal/fault.html", fault=found, places=await places(page), messages=messages
    )
