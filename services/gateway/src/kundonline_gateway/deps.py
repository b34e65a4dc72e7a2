"""What page routes depend on: the logged-in visitor's page and a checked form.

Every router of pages is made here, so that no page can forget either: `portal_router` and
`admin_router` resolve the session first (a visitor without one is sent to log in) and then
check the CSRF token of every write. A handler takes `page: PortalPage` or `page: AdminPage`
(the same page, resolved once) and its form model, and says only what is particular to it.
"""

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute

from kundonline_common.errors import DomainError

from .clients import auth, faults
from .i18n import N_
from .pages.errors import invalid_status
from .pages.forms import FORM_LIMITS
from .pages.messages import NOT_FOUND
from .pages.page import Page, logged_in
from .sessions import UNSAFE, check_csrf


async def portal_page(request: Request) -> Page:
    """A logged-in customer's page, with the profile every portal page shows (its tabs)."""
    page = await logged_in(request, "account")
    page.extra["me"] = await auth.me(page.api)
    return page


async def admin_page(request: Request) -> Page:
    """A logged-in staff member's page, with the queue count every admin page shows."""
    page = await logged_in(request, "staff")
    queue = await faults.queue(page.api, limit=1)
    assert page.caller is not None
    page.extra.update(queue_total=queue["total"], is_admin=page.caller.role == "admin")
    request.state.page = page
    return page


async def checked_form(request: Request) -> None:
    """A page's write carries the visitor's CSRF token in its form's csrf_token field."""
    if request.method in UNSAFE:
        # Parsed once: FastAPI has read the form of a handler with a form model already.
        form = await request.form(**FORM_LIMITS)
        sent = form.get("csrf_token")
        check_csrf(request, sent if isinstance(sent, str) else None)


PortalPage = Annotated[Page, Depends(portal_page)]
AdminPage = Annotated[Page, Depends(admin_page)]


def public_router(prefix: str = "") -> APIRouter:
    """Pages anyone may open, such as the logins; their writes are checked all the same."""
    return APIRouter(prefix=prefix, include_in_schema=False, dependencies=[Depends(checked_form)])


def portal_router(prefix: str) -> APIRouter:
    """Pages of the portal under `prefix`, for a logged-in account."""
    return APIRouter(
        prefix=prefix,
        include_in_schema=False,
        dependencies=[Depends(portal_page), Depends(checked_form)],
    )


def admin_router(prefix: str) -> APIRouter:
    """Pages of the staff admin under `prefix`, for a logged-in staff member."""
    return APIRouter(
        prefix=prefix,
        include_in_schema=False,
        route_class=AdminRoute,
        dependencies=[Depends(admin_page), Depends(checked_form)],
    )


# A refusal inside the admin: the page's heading and its text.
REFUSED = {
    403: (
        N_("Administrators only"),
        N_("Your role may not do this. Ask an administrator for help."),
    ),
    404: (NOT_FOUND, NOT_FOUND),
}


class AdminRoute(APIRoute):
    """Refusals inside the admin answer with a page in the admin's frame, not a bare error.

    A handler refused an admin-only action (403) is told so; an unknown or malformed id
    (404) gets the not-found text. Everything else goes to the gateway's error pages.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except (DomainError, RequestValidationError) as exc:
                status = exc.status_code if isinstance(exc, DomainError) else invalid_status(exc)
                said = REFUSED.get(status)
                if said is None or getattr(exc, "code", None) == "csrf_failed":
                    raise
                page = getattr(request.state, "page", None) or await admin_page(request)
                heading, text = (page.gettext(message) for message in said)
                return page.render("admin/message.html", status=status, heading=heading, text=text)

        return handler
