"""What every page needs: who is logged in, the language, CSRF, calling services, rendering."""

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from kundonline_common.errors import DomainError
from kundonline_common.tokens import Caller

from .. import i18n
from ..routing import Realm, Service
from ..services import ServiceClients
from ..sessions import COOKIE, CSRF_COOKIE, is_secure, read_cookie, set_csrf_cookie

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent.parent / "templates"))
LOGIN = {"account": "/login", "staff": "/admin/login"}


class LoginNeeded(Exception):
    """Raised by a page whose visitor has no live session; answered with the login page."""

    def __init__(self, realm: Realm, reason: str | None = None) -> None:
        self.realm = realm
        self.reason = reason


@dataclass
class Page:
    request: Request
    realm: Realm
    lang: i18n.Lang
    csrf: str
    caller: Caller | None = None
    token: str | None = None
    new_csrf: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def svc(self) -> ServiceClients:
        return self.request.app.state.clients

    def t(self, key: str) -> str:
        return i18n.translate(self.lang, key)

    async def api(self, service: Service, method: str, path: str, **kw: Any) -> Any:
        """Call a service as the logged-in user; its JSON reply, or a DomainError."""
        assert self.caller is not None
        reply = await self.svc.call(service, method, path, self.caller, **kw)
        if reply.status_code == 401:
            raise LoginNeeded(self.realm, "session_expired")
        if reply.status_code >= 400:
            body = (
                reply.json()
                if reply.headers.get("content-type", "").startswith("application/json")
                else {}
            )
            raise DomainError(
                body.get("message", ""),
                code=body.get("error"),
                details=body.get("details"),
                status_code=reply.status_code,
            )
        return reply.json() if reply.content else None

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        response = TEMPLATES.TemplateResponse(
            self.request,
            template,
            {
                "page": self,
                "t": self.t,
                "caller": self.caller,
                "lang": self.lang,
                "csrf": self.csrf,
                **self.extra,
                **context,
            },
            status_code=status,
        )
        return self.finish(response)

    def finish(self, response: Response) -> Response:
        if self.new_csrf:
            set_csrf_cookie(response, self.csrf, is_secure(self.request))
        return response

    def redirect(self, url: str, **query: str) -> Response:
        target = f"{url}?{urlencode(query)}" if query else url
        return self.finish(RedirectResponse(target, status_code=303))


def page_for(request: Request, realm: Realm) -> Page:
    lang = i18n.pick(request.cookies.get(i18n.COOKIE))
    csrf = read_cookie(request, CSRF_COOKIE)
    return Page(request, realm, lang, csrf or secrets.token_urlsafe(24), new_csrf=not csrf)


async def logged_in(request: Request, realm: Realm) -> Page:
    """The page of a logged-in visitor of `realm`; LoginNeeded otherwise."""
    page = page_for(request, realm)
    token = read_cookie(request, COOKIE[realm])
    if not token:
        raise LoginNeeded(realm)
    try:
        caller = await page.svc.resolve(token)
    except DomainError as exc:
        if exc.status_code == 401:
            raise LoginNeeded(realm, "session_expired") from exc
        raise
    if (realm == "staff") != caller.is_staff:
        raise LoginNeeded(realm)
    page.caller, page.token = caller, token
    return page


# What a page's form may hold: five photos, a checkbox per facility of a large customer, and
# text fields no larger than a project's rows. Past them the parser answers 400 unread.
FORM_LIMITS = {"max_files": 5, "max_fields": 2000, "max_part_size": 256 * 1024}


async def check_form(page: Page) -> dict[str, Any]:
    """The posted form, after its CSRF token matched the visitor's CSRF cookie."""
    form = await page.request.form(**FORM_LIMITS)
    sent = str(form.get("csrf_token", ""))
    cookie = read_cookie(page.request, CSRF_COOKIE) or ""
    if not cookie or not secrets.compare_digest(sent, cookie):
        raise DomainError("CSRF", code="csrf_failed", status_code=403)
    return {k: form.getlist(k) if len(form.getlist(k)) > 1 else v for k, v in form.items()}


def local_path(value: str | None, fallback: str) -> str:
    """Only same-site paths are followed after a form, never another site's address."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return fallback


def when(value: str | None, with_time: bool = True) -> str:
    """An ISO time from the API as the page shows it (UTC, minutes)."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value)
    return moment.strftime("%Y-%m-%d %H:%M") if with_time else moment.date().isoformat()


def money(value: str | None) -> str:
    if value is None:
        return ""
    whole, _, cents = f"{Decimal(value):,.2f}".partition(".")
    return f"{whole.replace(',', ' ')},{cents} kr"


TEMPLATES.env.filters["when"] = when
TEMPLATES.env.filters["day"] = lambda v: when(v, with_time=False)
TEMPLATES.env.filters["money"] = money
TEMPLATES.env.globals["today"] = date.today
