"""/login and /logout, and /admin/login and /admin/logout: the same pages for either realm."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from kundonline_common.errors import DomainError

from ..deps import public_router
from ..login import end_session, open_session
from ..pages.forms import PageForm
from ..pages.page import HOME, local_path, page_for
from ..routing import Realm

ERRORS = {"too_many_attempts": "login_throttled", "license_required": "not_activated"}
REASONS = {"session_expired": "error", "password_changed": "ok"}


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
        messages = [(REASONS[reason], page.t(reason))] if reason in REASONS else []
        return page.render("login.html", next=target(next), username="", messages=messages)

    @router.post("/login")
    async def login(request: Request, form: Annotated[LoginForm, Form()]) -> Response:
        page = page_for(request, realm)
        response = page.redirect(target(form.next))
        try:
            await open_session(request, response, realm, form.username, form.password)
        except DomainError as exc:
            message = page.t(ERRORS.get(exc.code, "login_failed"))
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
