"""/rating/<order id>: the one-click rating of a completed order, from its completion mail.

No login: the signed link (`token=`, a name the logs redact) is the credential, and the
orders service checks it on every call. Opening the link changes nothing, since mail scanners
open links too: it shows the form with the score chosen in the mail, and only the form's POST
uses the link up.

Not CSRF-checked with the session's double-submit token, on purpose: the POST is not
authenticated by any cookie, only by the signed link in its body, which another site cannot
know. A forged form without it is refused; one with it could only do what its holder may.
"""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import field_validator

from kundonline_common.errors import DomainError, Unavailable
from kundonline_contracts import OrderRated

from ..clients import ratings
from ..i18n import N_
from ..pages.forms import PageForm
from ..pages.page import Page, page_for

router = APIRouter(prefix="/rating", include_in_schema=False)
SCORES = (1, 2, 3, 4, 5)
MAX_COMMENT = OrderRated.MAX_COMMENT
# Why a link cannot be used: the heading and text of the page that says so, by the refusal.
REFUSED: dict[str, tuple[str, str]] = {
    "already_rated": (
        N_("Already rated"),
        N_("This order has already been rated. Thank you, only one rating per order is kept."),
    ),
    "rating_link_expired": (
        N_("The link has expired"),
        N_("The rating link is no longer valid. Contact us if you want to tell us something."),
    ),
    "not_completed": (
        N_("The order cannot be rated"),
        N_("The order is not completed, so it cannot be rated now."),
    ),
}
INVALID = (
    N_("The link is not valid"),
    N_("The rating link is not valid. Use the link in the mail exactly as it was sent."),
)
CHOOSE = N_("Choose a score from 1 to 5.")
COMMENT = N_("Write at most %(max)s characters.")
# What the form says beside a field the service refused.
FIELD_ERRORS = {"score": CHOOSE, "comment": COMMENT}


class RatingForm(PageForm):
    token: str = ""
    score: str = ""
    comment: str = ""

    @field_validator("comment")
    @classmethod
    def _storable(cls, comment: str) -> str:
        # A NUL is never typed, only sent by hand, and no database keeps one in text: the
        # service would refuse the whole rating, and this page say the link is bad.
        return comment.replace("\x00", "")


def _refused(page: Page, exc: DomainError) -> Response:
    """The page for a refusal of the orders service, by what it means: a link that cannot be
    used says why; ratings switched off or an order gone is the ordinary 404 page; anything
    this page has no words for is a service failure (503 page), never "the link is bad"."""
    if exc.code in REFUSED:
        heading, text = REFUSED[exc.code]
    elif exc.code == "rating_link_invalid" or _fields(exc) == {"token"}:
        heading, text = INVALID
    elif exc.status_code == 404:
        raise exc
    else:
        raise Unavailable("The rating could not be handled.", code="unavailable") from exc
    return page.render(
        "portal/rating_refused.html",
        status=exc.status_code,
        heading=page.gettext(heading),
        text=page.gettext(text),
    )


def _fields(exc: DomainError) -> set[str]:
    """The fields of the body or query a 422 of the service names."""
    if exc.status_code != 422 or not isinstance(exc.details, list):
        return set()
    return {
        str(d["loc"][1])
        for d in exc.details
        if isinstance(d, dict) and isinstance(d.get("loc"), list) and len(d["loc"]) > 1
    }


async def _refused_form(page: Page, order_id: UUID, form: RatingForm, exc: DomainError) -> Response:
    """A rating the service refused for its score or comment: the form again, saying so
    beside the field, as the page's own checks do."""
    fields = _fields(exc)
    if not fields or not fields <= set(FIELD_ERRORS):
        return _refused(page, exc)
    errors = {name: page.gettext(FIELD_ERRORS[name], max=MAX_COMMENT) for name in fields}
    return await _form_again(page, order_id, form, errors)


async def _form_again(
    page: Page, order_id: UUID, form: RatingForm, errors: dict[str, str]
) -> Response:
    try:
        info = await ratings.link(page.services, order_id, form.token)
    except DomainError as exc:
        return _refused(page, exc)
    return _form(page, info, form, errors, status=422)


def _form(
    page: Page, info: dict[str, object], form: RatingForm, errors: dict[str, str], status: int = 200
) -> Response:
    return page.render(
        "portal/rating.html",
        status=status,
        info=info,
        form=form,
        scores=SCORES,
        errors=errors,
        max_comment=MAX_COMMENT,
    )


@router.get("/{order_id}")
async def rating_form(
    request: Request, order_id: UUID, token: str = "", score: str = ""
) -> Response:
    page = page_for(request, "account", await _time_zone(request))
    try:
        info = await ratings.link(page.services, order_id, token)
    except DomainError as exc:
        return _refused(page, exc)
    if info["rated"]:
        return _refused(page, DomainError("", code="already_rated", status_code=409))
    chosen = score if score in {str(s) for s in SCORES} else ""
    return _form(page, info, RatingForm(token=token, score=chosen), {})


@router.post("/{order_id}")
async def rate(request: Request, order_id: UUID, form: Annotated[RatingForm, Form()]) -> Response:
    page = page_for(request, "account", await _time_zone(request))
    errors = _problems(page, form)
    if errors:
        return await _form_again(page, order_id, form, errors)
    rating = {"token": form.token, "score": int(form.score), "comment": form.comment.strip()}
    try:
        await ratings.rate(page.services, order_id, rating)
    except DomainError as exc:
        return await _refused_form(page, order_id, form, exc)
    return page.render("portal/rating_thanks.html", score=int(form.score))


def _problems(page: Page, form: RatingForm) -> dict[str, str]:
    errors = {}
    if form.score not in {str(s) for s in SCORES}:
        errors["score"] = page.gettext(CHOOSE)
    if len(form.comment.strip()) > MAX_COMMENT:
        errors["comment"] = page.gettext(COMMENT, max=MAX_COMMENT)
    return errors


async def _time_zone(request: Request) -> str | None:
    time_zone: str | None = await request.app.state.clients.time_zone()
    return time_zone
