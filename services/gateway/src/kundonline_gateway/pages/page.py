"""A page being answered: its visitor, language and CSRF token; rendering and redirecting."""

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from kundonline_common.errors import Unauthorized
from kundonline_common.tokens import Caller

from .. import i18n
from ..clients import Api, LoginNeeded
from ..routing import Realm
from ..services import ServiceClients
from ..sessions import COOKIE, CSRF_COOKIE, is_secure, read_cookie, set_csrf_cookie

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent.parent / "templates"))
LOGIN = {"account": "/login", "staff": "/admin/login"}
HOME = {"account": "/", "staff": "/admin"}
# Keys a redirect may name in `done=`, and how the page after it shows them.
NOTICES = {
    "saved": "ok",
    "added": "ok",
    "deleted": "ok",
    "order_created": "ok",
    "fault_rejected": "ok",
    "password_reset": "ok",
    "license_installed": "ok",
    "already_handled": "error",
    "reason_needed": "error",
    "invalid": "error",
}
Message = tuple[str, str]  # ("ok" or "error", the text)


@dataclass(frozen=True)
class Problem:
    """What a page says about a form it could not save: overall, and at each field."""

    status: int
    messages: list[Message]
    errors: dict[str, str]


@dataclass
class Page:
    request: Request
    realm: Realm
    lang: i18n.Lang
    csrf: str
    caller: Caller | None = None
    new_csrf: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def services(self) -> ServiceClients:
        services: ServiceClients = self.request.app.state.clients
        return services

    @property
    def api(self) -> Api:
        """The services, called as the logged-in visitor."""
        if self.caller is None:
            raise LoginNeeded(self.realm)
        return Api(self.services, self.caller)

    def t(self, key: str) -> str:
        return i18n.translate(self.lang, key)

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
        self.finish(response)
        return response

    def render_form(
        self,
        template: str,
        problem: Problem | None = None,
        done: str | None = None,
        **context: Any,
    ) -> HTMLResponse:
        """A page with a form: as it is (with what `done=` announces), or with what was
        wrong with what was sent, overall and beside each field."""
        if problem is None:
            return self.render(template, errors={}, messages=self.notice(done), **context)
        return self.render(
            template,
            status=problem.status,
            errors=problem.errors,
            messages=problem.messages,
            **context,
        )

    def render_list(
        self,
        template: str,
        listing: Mapping[str, Any],
        cursor: str | None,
        done: str | None = None,
        **context: Any,
    ) -> HTMLResponse:
        """A page of a list: the pager's links from this page's query, and what `done=`
        announces."""
        return self.render(
            template,
            cursor=cursor,
            next_cursor=listing.get("next_cursor"),
            query_without_cursor=self.pager(),
            messages=self.notice(done),
            **context,
        )

    def finish(self, response: Response) -> Response:
        if self.new_csrf:
            set_csrf_cookie(response, self.csrf, is_secure(self.request))
        return response

    def redirect(self, url: str, **query: str) -> Response:
        target = f"{url}?{urlencode(query)}" if query else url
        return self.finish(RedirectResponse(target, status_code=303))

    def notice(self, done: str | None) -> list[Message]:
        """What a redirect's `done=` announces on the page it leads to."""
        return [(NOTICES[done], self.t(done))] if done in NOTICES else []

    def param(self, name: str) -> str:
        """A query parameter as sent; empty when it was not."""
        return self.request.query_params.get(name) or ""

    def filters(self, names: Iterable[str]) -> dict[str, str]:
        """The query parameters among `names` that hold more than blanks, stripped."""
        query = self.request.query_params
        return {k: v.strip() for k in names if (v := query.get(k) or "").strip()}

    def pager(self) -> str:
        """This page's query less its cursor and notice: where the pager's links start."""
        kept = self.request.query_params.multi_items()
        return urlencode([(k, v) for k, v in kept if k not in ("cursor", "done")])


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
        caller = await page.services.resolve(token)
    except Unauthorized as exc:
        raise LoginNeeded(realm, "session_expired") from exc
    if (realm == "staff") != caller.is_staff:
        raise LoginNeeded(realm)
    page.caller = caller
    return page


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
