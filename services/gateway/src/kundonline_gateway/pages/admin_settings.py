"""General settings (Diverse), the license file and the staff users."""

import json
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kundonline_common.errors import DomainError

from .admin import AdminRoute, admin, field_errors, notice
from .web import Page, check_form

router = APIRouter(prefix="/admin", include_in_schema=False, route_class=AdminRoute)

SWITCHES = (
    "show_order_rows",
    "copy_to_our_reference",
    "show_statistics",
    "show_calendar",
    "hide_cancelled",
)
SETTING_FIELDS = {
    "session_timeout_minutes": "timeout_invalid",
    "port": "port_invalid",
    "public_url": "public_url_invalid",
    "fault_report_email": "invalid_email",
}
LICENSE_REFUSALS = {
    "license_key_missing": "license_key_missing",
    "license_key_invalid": "license_key_missing",
    "license_malformed": "license_malformed",
    "license_signature_invalid": "license_signature_invalid",
    "license_module_missing": "license_module_missing",
    "invalid_request": "license_malformed",
}
LICENSE_MAX_BYTES = 64 * 1024
STAFF_REFUSALS = {
    "username_taken": "username_taken",
    "weak_password": "password_help",
    "last_admin": "last_admin",
}


def _number(value: Any) -> Any:
    """A number as typed, with a decimal comma allowed; left as typed if it is none."""
    text = str(value or "").strip().replace(",", ".")
    try:
        return int(text) if text.isdigit() else float(text)
    except ValueError:
        return text


def _shown(settings: dict[str, Any]) -> dict[str, Any]:
    """30.0 minutes as 30, as staff typed it; a fraction stays as it is."""
    minutes = settings.get("session_timeout_minutes")
    if isinstance(minutes, float) and minutes.is_integer():
        return {**settings, "session_timeout_minutes": int(minutes)}
    return settings


@router.get("/settings")
async def settings(request: Request, done: str | None = None) -> Response:
    page = await admin(request)
    found = await page.api("auth", "GET", "/admin/api/settings")
    return page.render(
        "admin/settings.html",
        s=_shown(found),
        switches=SWITCHES,
        errors={},
        messages=notice(page, done),
    )


@router.post("/settings")
async def save_settings(request: Request) -> Response:
    page = await admin(request)
    form = await check_form(page)
    current = await page.api("auth", "GET", "/admin/api/settings")
    # The whole document goes back, so a setting this form does not know is kept as it is.
    body = {
        **current,
        "session_timeout_minutes": _number(form.get("session_timeout_minutes")),
        "port": _number(form.get("port")),
        "public_url": str(form.get("public_url", "")).strip(),
        "fault_report_email": str(form.get("fault_report_email", "")).strip() or None,
        **{name: name in form for name in SWITCHES},
    }
    try:
        await page.api("auth", "PUT", "/admin/api/settings", json=body)
    except DomainError as exc:
        if exc.status_code != 422:
            raise
        errors = field_errors(page, exc, SETTING_FIELDS)
        return page.render(
            "admin/settings.html",
            status=422,
            s={**body, **{k: form.get(k, "") for k in ("session_timeout_minutes", "port")}},
            switches=SWITCHES,
            errors=errors,
            messages=[("error", page.t("invalid"))],
        )
    return page.redirect("/admin/settings", done="saved")


def _verdict(page: Page, status: dict[str, Any]) -> str:
    if status["valid"]:
        return page.t("license_valid")
    return page.t("license_expired" if status["installed"] else "license_missing")


async def _license_page(
    page: Page, messages: list[tuple[str, str]], status_code: int = 200
) -> Response:
    status = await page.api("auth", "GET", "/admin/api/license")
    return page.render(
        "admin/license.html",
        status=status_code,
        license=status,
        verdict=_verdict(page, status),
        messages=messages,
    )


@router.get("/license")
async def license(request: Request, done: str | None = None) -> Response:
    page = await admin(request)
    return await _license_page(page, notice(page, done))


def _refusal(page: Page, exc: DomainError, document: Any) -> str:
    if exc.code == "license_expired":
        expires = str(document.get("license", {}).get("expires", ""))[:10]
        return f"{page.t('license_refused')} {page.t('license_expired_on')} {expires}."
    key = LICENSE_REFUSALS.get(exc.code)
    return f"{page.t('license_refused')} {page.t(key) if key else exc.message}"


@router.post("/license")
async def upload_license(request: Request) -> Response:
    page = await admin(request)
    form = await check_form(page)
    upload = form.get("license_file")
    data = await upload.read(LICENSE_MAX_BYTES + 1) if hasattr(upload, "read") else b""
    try:
        document = json.loads(data) if 0 < len(data) <= LICENSE_MAX_BYTES else None
    except ValueError:
        document = None
    if not isinstance(document, dict):
        message = f"{page.t('license_refused')} {page.t('license_not_json')}"
        return await _license_page(page, [("error", message)], 422)
    try:
        await page.api("auth", "PUT", "/admin/api/license", json=document)
    except DomainError as exc:
        if exc.status_code != 422:
            raise
        return await _license_page(page, [("error", _refusal(page, exc, document))], 422)
    return page.redirect("/admin/license", done="license_installed")


async def _staff_page(
    page: Page,
    messages: list[tuple[str, str]],
    form: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    found = await page.api("auth", "GET", "/admin/api/staff", params={"limit": 200})
    return page.render(
        "admin/staff.html",
        status=status,
        users=found["items"],
        form=form or {"role": "handler"},
        messages=messages,
    )


@router.get("/staff")
async def staff(request: Request, done: str | None = None) -> Response:
    page = await admin(request)
    return await _staff_page(page, notice(page, done))


def _staff_refusal(page: Page, exc: DomainError) -> list[tuple[str, str]]:
    if exc.status_code not in (409, 422):
        raise exc
    return [("error", page.t(STAFF_REFUSALS.get(exc.code, "invalid")))]


@router.post("/staff")
async def create_staff(request: Request) -> Response:
    page = await admin(request)
    form = await check_form(page)
    body = {
        "username": str(form.get("username", "")).strip(),
        "name": str(form.get("name", "")).strip(),
        "password": str(form.get("password", "")),
        "role": "admin" if form.get("role") == "admin" else "handler",
    }
    try:
        await page.api("auth", "POST", "/admin/api/staff", json=body)
    except DomainError as exc:
        shown = {k: v for k, v in body.items() if k != "password"}
        return await _staff_page(page, _staff_refusal(page, exc), shown, exc.status_code)
    return page.redirect("/admin/staff", done="added")


@router.post("/staff/{staff_id}/active")
async def set_staff_active(request: Request, staff_id: UUID) -> Response:
    page = await admin(request)
    form = await check_form(page)
    body = {"active": form.get("active") == "1"}
    try:
        await page.api("auth", "PATCH", f"/admin/api/staff/{staff_id}", json=body)
    except DomainError as exc:
        return await _staff_page(page, _staff_refusal(page, exc), status=exc.status_code)
    return page.redirect("/admin/staff", done="saved")
