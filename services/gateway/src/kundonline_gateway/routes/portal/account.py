"""/account: the customer's own account: its password and its calendar feed."""

from typing import Annotated, ClassVar

from fastapi import Form
from fastapi.responses import Response

from ...clients import Refused, auth
from ...deps import PortalPage, portal_router
from ...i18n import N_
from ...pages import messages
from ...pages.forms import PageForm, explain

router = portal_router("/account")


class PasswordForm(PageForm):
    current_password: str = ""
    new_password: str = ""

    refusals: ClassVar = {
        "wrong_password": (N_("The current password is wrong."), "current_password"),
        "weak_password": (messages.PASSWORD, "new_password"),
    }


@router.get("")
async def account(page: PortalPage, done: str | None = None) -> Response:
    return page.render_form("portal/account.html", done="saved" if done else None)


@router.post("/password")
async def change_password(page: PortalPage, form: Annotated[PasswordForm, Form()]) -> Response:
    try:
        await auth.change_password(page.api, form.current_password, form.new_password)
    except Refused as exc:
        problem = explain(page, exc, PasswordForm)
        return page.render_form(
            "portal/account.html",
            problem,
        )
    # Every session of the account ended with the change; log in anew.
    return page.redirect("/login", reason="password_changed")


@router.post("/calendar-token")
async def renew_calendar_token(page: PortalPage) -> Response:
    await auth.renew_calendar_token(page.api)
    return page.redirect("/account", done="1")
