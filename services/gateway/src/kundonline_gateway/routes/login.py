"""/login and /logout, and /admin/login and /admin/logout: the same pages for either realm."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from kundonline_common.errors import DomainError

from ..deps import public_router
from ..i18n import N_
from ..login import end_session, open_session
from ..pages.forms import PageForm
from ..pages.page import HOME, Message, local_path, page_for
from ..routing import Realm

FAILED = N_("Wrong username or password.")
ERRORS = {
    "too_many_attempts": N_("Too many failed attempts. Try again later."),
    "license_required": N_("The portal is not activated. Contact your service provider."),
}
# Why the login page is shown, from `reason=`.
REASONS: dict[str, Message] = {
    "session_expired": (
        "error",
        N_("You were logged out after a period of inactivity. Log in again."),
    ),
    "password_changed": ("ok", N_("The password is changed. Log in with the new one.")),
}


class LoginForm(PageForm):
    username: str = ""
    password: str = ""
    next: str = ""


def login_router(realm: Realm) -> APIRouter:
    base = "/admin" if realm == "staff" else ""
    router = public_router(base)

    def target(next: str | None) -> str:
        """Where the login leads: a page of this realm, its start page by default."""
        path = local_path(next, HOME[realm])
        return path if path.startswith(base or "/") else HOME[realm]

    @router.get("/login")
    async def login_form(
        request: Request, next: str | None = None, reason: str | None = None
    ) -> Response:
        page = page_for(request, realm)
        said = page.notice(reason, REASONS)
        return page.render("login.html", next=target(next), username="", messages=said)

    @router.post("/login")
    async def login(request: Request, form: Annotated[LoginForm, Form()]) -> Response:
        page = page_for(request, realm)
        response = page.redirect(target(form.next))
        try:
            await open_session(request, response, realm, form.username, form.password)
        except DomainError as exc:
            message = page.gettext(ERRORS.get(exc.code or "", FAILED))
            return page.render(
                "login.html",
                status=exc.status_code,
                next=target(form.next),
                username=form.username,
                messages=[("error", message)],
            )
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        page = page_for(request, realm)
        response = page.redirect(f"{base}/login")
        await end_session(request, response, realm)
        return response

    return router


portal = login_router("account")
admin = login_router("staff")
