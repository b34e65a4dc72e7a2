"""/admin/accounts: portal accounts (Inställningar → KundOnline → Användare).

Listing, making, changing, deactivating and deleting accounts are here; the facilities and
projects an account includes (/admin/accounts/<id>/facilities and …/projects) in links.py.
"""

from typing import Annotated, ClassVar
from uuid import UUID

from fastapi import Form
from fastapi.responses import Response

from ....clients import Json, Refused, auth, filtered, orders
from ....deps import AdminPage, admin_router
from ....i18n import N_
from ....pages import messages, names
from ....pages.forms import ActiveForm, Checkbox, PageForm, explain
from ....pages.page import Page, Problem
from . import links

router = admin_router("/admin/accounts")

FLAGS = tuple(names.FLAGS)


class AccountForm(PageForm):
    """An account's name, e-mail, language and flags, as staff change them."""

    name: str = ""
    email: str = ""
    language: str = "sv"
    order_direct: Checkbox = False
    hide_performed_action: Checkbox = False
    show_purchase_prices_on_projects: Checkbox = False
    show_purchase_price_on_order_rows: Checkbox = False

    field_messages: ClassVar = {
        "customer_id": messages.CHOOSE_CUSTOMER,
        "name": messages.NAME,
        "username": messages.USERNAME,
        "password": messages.PASSWORD,
        "email": messages.EMAIL,
    }
    refusals: ClassVar = {
        "weak_password": (messages.PASSWORD, "password"),
        "username_taken": (messages.USERNAME_TAKEN, "username"),
        "license_required": (
            N_(
                "A valid KundOnline license is needed before accounts can be created. "
                "Load the license file under License."
            ),
            None,
        ),
        "max_accounts_reached": (N_("The license allows no more accounts."), None),
        "unknown_customer": (messages.UNKNOWN_CUSTOMER, "customer_id"),
    }

    def body(self) -> Json:
        return {
            "name": self.name.strip(),
            "email": self.email.strip() or None,
            "language": "en" if self.language == "en" else "sv",
            **{flag: getattr(self, flag) for flag in FLAGS},
        }


class NewAccountForm(AccountForm):
    customer_id: str = ""
    username: str = ""
    password: str = ""

    def body(self) -> Json:
        return {
            **super().body(),
            "customer_id": self.customer_id or None,
            "username": self.username.strip(),
            "password": self.password,
        }


class PasswordForm(PageForm):
    password: str = ""

    field_messages: ClassVar = {"password": messages.PASSWORD}
    refusals: ClassVar = {"weak_password": (messages.PASSWORD, "password")}


@router.get("")
async def accounts(page: AdminPage, cursor: str | None = None, done: str | None = None) -> Response:
    wanted = page.filters(("q", "customer_id"))
    q, customer_id = wanted.get("q", ""), wanted.get("customer_id", "")
    listing = auth.list_accounts(page.api, q=q, customer_id=customer_id, cursor=cursor)
    found, filters = await filtered(listing, wanted)
    return page.render_list(
        "admin/accounts.html",
        found,
        cursor,
        done,
        accounts=found["items"],
        q=q,
        customer_id=filters.get("customer_id", ""),
        customers=await orders.customer_choices(page.api, page.param("customer_q")),
        customer_names=await orders.owner_names(page.api, found["items"]),
    )


async def _new_page(page: Page, form: Json, problem: Problem | None = None) -> Response:
    customer_q = page.param("customer_q")
    return page.render_form(
        "admin/account_new.html",
        problem,
        form=form,
        customers=await orders.customer_choices(page.api, customer_q),
        customer_q=customer_q,
        flags=names.FLAGS,
    )


@router.get("/new")
async def new_account(page: AdminPage) -> Response:
    return await _new_page(page, {"language": "sv", "customer_id": ""})


@router.post("/new")
async def create_account(page: AdminPage, form: Annotated[NewAccountForm, Form()]) -> Response:
    try:
        made = await auth.create_account(page.api, form.body())
    except Refused as exc:
        shown = form.model_dump(exclude={"password"})
        return await _new_page(page, shown, explain(page, exc, NewAccountForm))
    return page.redirect(f"/admin/accounts/{made['id']}", done="added")


async def _account_page(
    page: Page, account: Json, problem: Problem | None = None, done: str | None = None
) -> Response:
    return page.render_form(
        "admin/account.html",
        problem,
        done,
        account=account,
        customer=await orders.customer(page.api, account["customer_id"]),
        flags=names.FLAGS,
    )


@router.get("/{account_id}")
async def account(page: AdminPage, account_id: UUID, done: str | None = None) -> Response:
    return await _account_page(page, await auth.account(page.api, account_id), done=done)


@router.post("/{account_id}")
async def update_account(
    page: AdminPage, account_id: UUID, form: Annotated[AccountForm, Form()]
) -> Response:
    try:
        await auth.update_account(page.api, account_id, form.body())
    except Refused as exc:
        shown = {**await auth.account(page.api, account_id), **form.body()}
        return await _account_page(page, shown, explain(page, exc, AccountForm))
    return page.redirect(f"/admin/accounts/{account_id}", done="saved")


@router.post("/{account_id}/active")
async def set_active(
    page: AdminPage, account_id: UUID, form: Annotated[ActiveForm, Form()]
) -> Response:
    await auth.update_account(page.api, account_id, form.body())
    return page.redirect(f"/admin/accounts/{account_id}", done="saved")


@router.post("/{account_id}/password")
async def reset_password(
    page: AdminPage, account_id: UUID, form: Annotated[PasswordForm, Form()]
) -> Response:
    try:
        await auth.reset_password(page.api, account_id, form.password)
    except Refused as exc:
        found = await auth.account(page.api, account_id)
        return await _account_page(page, found, explain(page, exc, PasswordForm))
    return page.redirect(f"/admin/accounts/{account_id}", done="password_reset")


@router.get("/{account_id}/delete")
async def confirm_delete(page: AdminPage, account_id: UUID) -> Response:
    found = await auth.account(page.api, account_id)
    return page.render("admin/account_delete.html", account=found)


@router.post("/{account_id}/delete")
async def delete_account(page: AdminPage, account_id: UUID) -> Response:
    await auth.delete_account(page.api, account_id)
    return page.redirect("/admin/accounts", done="deleted")


ROUTERS = [router, links.router]
