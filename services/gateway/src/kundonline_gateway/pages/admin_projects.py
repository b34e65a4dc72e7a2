"""Projects with their rows; the rows are edited as text, one row per line."""

from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kundonline_common.errors import DomainError

from .admin import AdminRoute, admin, all_customers, field_errors, names_of, notice, pager_query
from .web import Page, check_form

router = APIRouter(prefix="/admin/projects", include_in_schema=False, route_class=AdminRoute)

PROJECT_FIELDS = {"customer_id": "choose_customer", "name": "name_required", "rows": "rows_invalid"}


class RowsInvalid(ValueError):
    def __init__(self, line: int) -> None:
        self.line = line


def _decimal(text: str, line: int) -> str:
    try:
        value = Decimal(text.replace(" ", "").replace(",", "."))
    except InvalidOperation as exc:
        raise RowsInvalid(line) from exc
    if not value.is_finite():
        raise RowsInvalid(line)
    return str(value)


def parse_rows(text: str) -> list[dict[str, Any]]:
    """ "article; description; quantity; unit price; purchase price" per line, as API rows."""
    rows = []
    for line, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        parts = [part.strip() for part in raw.split(";")]
        if not 4 <= len(parts) <= 5 or not parts[0]:
            raise RowsInvalid(line)
        article, description, quantity, unit_price, purchase = [*parts, ""][:5]
        rows.append(
            {
                "article": article,
                "description": description,
                "quantity": _decimal(quantity, line),
                "unit_price": _decimal(unit_price, line),
                "purchase_price": _decimal(purchase, line) if purchase else None,
            }
        )
    return rows


def _plain(value: Any) -> str:
    """2.000 as 2 and 10.50 as 10.5: what a person would type."""
    if value is None:
        return ""
    return f"{Decimal(str(value)).normalize():f}"


def rows_text(rows: list[dict[str, Any]]) -> str:
    """The rows as the textarea shows them; a missing purchase price leaves no trailing "; "."""
    lines = []
    for r in rows:
        parts = [r["article"], r.get("description") or "", _plain(r["quantity"])]
        parts += [_plain(r["unit_price"]), _plain(r.get("purchase_price"))]
        lines.append("; ".join(parts).rstrip("; "))
    return "\n".join(lines)


def rows_error(page: Page, exc: RowsInvalid) -> dict[str, str]:
    return {"rows": f"{page.t('row_line')} {exc.line}: {page.t('rows_help')}"}


@router.get("")
async def projects(
    request: Request, cursor: str | None = None, done: str | None = None
) -> Response:
    page = await admin(request)
    query = request.query_params
    filters = {
        k: v for k in ("customer_id", "name", "active") if (v := (query.get(k) or "").strip())
    }
    params = {"limit": 50, **filters, **({"cursor": cursor} if cursor else {})}
    try:
        found = await page.api("orders", "GET", "/admin/api/projects", params=params)
    except DomainError as exc:
        if exc.status_code != 422:
            raise
        found, filters = {"items": [], "next_cursor": None}, {}
    names = await names_of(page, "customers", (p["customer_id"] for p in found["items"]))
    return page.render(
        "admin/projects.html",
        projects=found["items"],
        filters=filters,
        customers=await all_customers(page),
        customer_names=names,
        cursor=cursor,
        next_cursor=found["next_cursor"],
        query_without_cursor=pager_query(request),
        messages=notice(page, done),
    )


async def _form(
    page: Page,
    project: dict[str, Any],
    rows: str,
    messages: list[Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    owner = None
    customers: list[Any] = []
    if project.get("id"):
        path = f"/admin/api/customers/{project['customer_id']}"
        owner = await page.api("orders", "GET", path)
    else:
        customers = await all_customers(page)
    return page.render(
        "admin/project_form.html",
        status=status,
        project=project,
        rows=rows,
        owner=owner,
        customers=customers,
        errors=errors,
        messages=messages,
    )


def _body(form: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": str(form.get("name", "")).strip(),
        "active": "active" in form,
        "rows": parse_rows(str(form.get("rows", ""))),
    }


@router.get("/new")
async def new_project(request: Request) -> Response:
    page = await admin(request)
    blank = {"customer_id": request.query_params.get("customer_id", ""), "active": True}
    return await _form(page, blank, "", [], {})


@router.post("/new")
async def create_project(request: Request) -> Response:
    page = await admin(request)
    form = await check_form(page)
    shown = {
        "customer_id": str(form.get("customer_id", "")),
        "name": form.get("name", ""),
        "active": "active" in form,
    }
    rows = str(form.get("rows", ""))
    try:
        body = {**_body(form), "customer_id": shown["customer_id"] or None}
        made = await page.api("orders", "POST", "/admin/api/projects", json=body)
    except RowsInvalid as exc:
        return await _form(
            page, shown, rows, [("error", page.t("invalid"))], rows_error(page, exc), 422
        )
    except DomainError as exc:
        if exc.status_code != 422:
            raise
        errors = field_errors(page, exc, PROJECT_FIELDS)
        key = "unknown_customer" if exc.code == "unknown_customer" else "invalid"
        return await _form(page, shown, rows, [("error", page.t(key))], errors, 422)
    return page.redirect(f"/admin/projects/{made['id']}", done="added")


@router.get("/{project_id}")
async def project(request: Request, project_id: UUID, done: str | None = None) -> Response:
    page = await admin(request)
    found = await page.api("orders", "GET", f"/admin/api/projects/{project_id}")
    return await _form(page, found, rows_text(found["rows"]), notice(page, done), {})


@router.post("/{project_id}")
async def update_project(request: Request, project_id: UUID) -> Response:
    page = await admin(request)
    form = await check_form(page)
    path = f"/admin/api/projects/{project_id}"
    found = await page.api("orders", "GET", path)
    shown = {**found, "name": form.get("name", ""), "active": "active" in form}
    rows = str(form.get("rows", ""))
    try:
        await page.api("orders", "PATCH", path, json=_body(form))
    except RowsInvalid as exc:
        return await _form(
            page, shown, rows, [("error", page.t("invalid"))], rows_error(page, exc), 422
        )
    except DomainError as exc:
        if exc.status_code != 422:
            raise
        errors = field_errors(page, exc, PROJECT_FIELDS)
        return await _form(page, shown, rows, [("error", page.t("invalid"))], errors, 422)
    return page.redirect(f"/admin/projects/{project_id}", done="saved")
