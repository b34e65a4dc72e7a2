"""A page being answered: its visitor, language and CSRF token; rendering and redirecting."""

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kundonline_common.errors import Unauthorized
from kundonline_common.i18n import Localisation
from kundonline_common.tokens import Caller

from .. import i18n
from ..clients import Api, LoginNeeded
from ..i18n import N_
from ..routing import Realm
from ..services import ServiceClients
from ..sessions import COOKIE, CSRF_COOKIE, is_secure, read_cookie, set_csrf_cookie
from . import messages
from .templates import TEMPLATES, localised

LOGIN = {"account": "/login", "staff": "/admin/login"}
HOME = {"account": "/", "staff": "/admin"}
Message = tuple[str, str]  # ("ok" or "error", the text)
# What a redirect may name in `done=`, and what the page after it says.
NOTICES: dict[str, Message] = {
    "saved": ("ok", N_("Saved.")),
    "added": ("ok", N_("Added.")),
    "deleted": ("ok", N_("Deleted.")),
    "order_created": ("ok", N_("The order is created.")),
    "fault_rejected": ("ok", N_("The fault report is rejected.")),
    "password_reset": ("ok", N_("The password is reset. The account has been logged out.")),
    "license_installed": ("ok", N_("The license file is installed and valid.")),
    "already_handled": ("error", N_("The fault report has already been handled.")),
    "reason_needed": ("error", N_("Give a reason to reject.")),
    "joined": ("ok", N_("The fault report is joined with the other. Its reporter is told.")),
    "join_circle": ("error", N_("The other report already follows this one.")),
    "join_elsewhere": (
        "error",
        N_("A report is joined only with a report on the same facility or project."),
    ),
    "join_rejected": ("error", N_("The other report is rejected.")),
    "invalid": ("error", messages.CHECK),
}


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
    l10n: Localisation
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

    def gettext(self, message: str, **variables: Any) -> str:
        """`message` in the visitor's language, its `%(name)s` filled from `variables`."""
        return self.l10n.gettext(message, **variables)

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        response = TEMPLATES.TemplateResponse(
            self.request,
            template,
            {
                "page": self,
                "caller": self.caller,
                "csrf": self.csrf,
                **localised(self.l10n),
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

    def notice(self, done: str | None, notices: Mapping[str, Message] = NOTICES) -> list[Message]:
        """What a redirect's `done=` (a code of `notices`) announces on the page it leads to."""
        if done is None or done not in notices:
            return []
        kind, text = notices[done]
        return [(kind, self.gettext(text))]

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


def page_for(request: Request, realm: Realm, time_zone: str | None = None) -> Page:
    """The page in the visitor's language, with times in `time_zone` (the settings
    document's, once auth has told it) or else the gateway's own setting."""
    language = i18n.pick(request.cookies.get(i18n.COOKIE))
    l10n = i18n.localisation(language, time_zone or request.app.state.settings.time_zone)
    csrf = read_cookie(request, CSRF_COOKIE)
    return Page(request, realm, l10n, csrf or secrets.token_urlsafe(24), new_csrf=not csrf)


async def logged_in(request: Request, realm: Realm) -> Page:
    """The page of a logged-in visitor of `realm`; LoginNeeded otherwise."""
    services: ServiceClients = request.app.state.clients
    page = page_for(request, realm, await services.time_zone())
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
