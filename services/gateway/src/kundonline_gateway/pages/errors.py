"""How pages answer when something is wrong: HTML for people, never a stack trace."""

from collections.abc import Awaitable, Callable
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from kundonline_common.errors import DomainError, install_error_handlers

from ..clients import LoginNeeded
from ..i18n import N_
from ..routing import Realm
from .messages import CHECK, NOT_FOUND
from .page import HOME, LOGIN, page_for

WORDS = {404: NOT_FOUND, 503: N_("The service is not available right now. Try again shortly.")}


def is_page(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith("/api/") or path.startswith("/admin/api/"))


def invalid_status(exc: RequestValidationError) -> int:
    """A malformed form is 422; a malformed id or query names no page: 404."""
    return 422 if any(e.get("loc", ())[:1] == ("body",) for e in exc.errors()) else 404


def _error_page(request: Request, status: int) -> Response:
    realm: Realm = "staff" if request.url.path.startswith("/admin") else "account"
    page = page_for(request, realm)
    text = page.gettext(WORDS.get(status, CHECK))
    return page.render("error.html", status=status, heading=text, text=text, back=HOME[realm])


def install_page_errors(app: FastAPI) -> None:
    """API paths keep their JSON errors; page paths get pages."""
    install_error_handlers(app)
    json_handlers = dict(app.exception_handlers)

    async def login_needed(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginNeeded)
        # The query comes along (a QR label's facility), encoded so it stays one parameter.
        wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target = f"{LOGIN[exc.realm]}?next={quote(wanted, safe='/')}"
        if exc.reason:
            target += f"&reason={exc.reason}"
        return RedirectResponse(target, status_code=303)

    def either(kind: type[Exception]) -> Callable[[Request, Exception], Awaitable[Response]]:
        async def handler(request: Request, exc: Exception) -> Response:
            if not is_page(request):
                answer: Response = await json_handlers[kind](request, exc)
                return answer
            if isinstance(exc, DomainError | StarletteHTTPException):
                page = _error_page(request, exc.status_code)
                page.headers.update(exc.headers or {})  # a 405's Allow, a login's Retry-After
                return page
            if isinstance(exc, RequestValidationError):
                return _error_page(request, invalid_status(exc))
            return _error_page(request, 500)

        return handler

    app.add_exception_handler(LoginNeeded, login_needed)
    for kind in (DomainError, RequestValidationError, StarletteHTTPException, Exception):
        app.add_exception_handler(kind, either(kind))
