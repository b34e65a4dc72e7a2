"""The conversation on a fault report, as the portal and the admin both show and write it."""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlencode
from uuid import UUID

from fastapi import UploadFile
from pydantic import Field

from kundonline_common.errors import DomainError

from ..clients import Json, Listing, faults
from ..i18n import N_
from .forms import Checkbox, PageForm
from .page import Message, Page

MAX_PHOTOS = 5
# What a redirect after writing names in `sent=`.
SENT: dict[str, Message] = {"message": ("ok", N_("Your message is sent."))}
# Why a photo was left out, by the refusal's code; what the page after the redirect says.
TOO_MANY = "too_many_photos"
NOT_SAVED = "not_saved"
LEFT_OUT: dict[str, str] = {
    "photo_too_large": N_("The photo %(name)s was left out: it is too large."),
    "request_too_large": N_("The photo %(name)s was left out: it is too large."),
    "invalid_photo": N_("The photo %(name)s was left out: it is not a JPEG or PNG image."),
    TOO_MANY: N_("The photo %(name)s was left out: there may be at most %(max)s photos."),
    NOT_SAVED: N_("The photo %(name)s was left out: it could not be saved. Try again later."),
}
LEFT_OUT_PARAM = "left_out"  # "<reason>:<file name>", once for each photo left out
MAX_NAME = 100  # of a file name repeated on the next page


@dataclass(frozen=True)
class LeftOut:
    """A photo chosen but not kept, and why (a key of LEFT_OUT)."""

    filename: str
    reason: str


class MessageForm(PageForm):
    body: str = ""
    internal: Checkbox = False  # staff only; the portal never sends it on
    photos: list[UploadFile] = Field(default_factory=list)

    # The service names the message's text `body`, as the request's body is named: a refusal
    # of it comes back at the path "" once "body" is left out of its location.
    field_messages: ClassVar = {"": N_("Write a message (1–4000 characters).")}
    form_fields: ClassVar = {"": "body"}


async def write(page: Page, fault_id: UUID, form: MessageForm) -> list[LeftOut]:
    """The customer's message, then its photos; the photos left out."""
    api = page.api
    sent = await faults.write(api, fault_id, form.body)
    return await attach_photos(
        form.photos,
        lambda name, data, ctype: faults.add_message_photo(
            api, fault_id, sent["id"], name, data, ctype
        ),
    )


async def answer(page: Page, fault_id: UUID, form: MessageForm) -> list[LeftOut]:
    """Staff's message (or internal note), then its photos; the photos left out."""
    api = page.api
    sent = await faults.answer(api, fault_id, form.body, internal=form.internal)
    return await attach_photos(
        form.photos,
        lambda name, data, ctype: faults.add_staff_message_photo(
            api, fault_id, sent["id"], name, data, ctype
        ),
    )


async def attach_photos(
    uploads: list[UploadFile],
    add: Callable[[str, bytes, str | None], Awaitable[None]],
) -> list[LeftOut]:
    """Up to MAX_PHOTOS of the files chosen, each handed to `add` (a report's or a message's
    photo call) after what they belong to is saved. What was written stands whatever becomes
    of its photos; those left out are returned, so the next page can say which and why."""
    chosen = [u for u in uploads if u.filename]
    left = [LeftOut(u.filename or "", TOO_MANY) for u in chosen[MAX_PHOTOS:]]
    for upload in chosen[:MAX_PHOTOS]:
        try:
            await add(upload.filename or "", await upload.read(), upload.content_type)
        except DomainError as exc:
            reason = exc.code if exc.code in LEFT_OUT else NOT_SAVED
            left.append(LeftOut(upload.filename or "", reason))
    return left


def after(url: str, left: Sequence[LeftOut], **query: str) -> str:
    """The page to redirect to, naming the photos left out for it to tell."""
    named = [(LEFT_OUT_PARAM, f"{p.reason}:{p.filename[:MAX_NAME]}") for p in left]
    return f"{url}?{urlencode([*query.items(), *named])}"


def left_out_notices(page: Page) -> list[Message]:
    """What the page says of the photos a redirect names as left out. Only the reasons we
    know are told, each around the file name as text, so a link made by someone else can
    say nothing of its own choosing."""
    said: list[Message] = []
    for value in page.request.query_params.getlist(LEFT_OUT_PARAM)[: MAX_PHOTOS * 2]:
        reason, _, name = value.partition(":")
        if reason in LEFT_OUT:
            quoted = "“" + name[:MAX_NAME] + "”"
            said.append(("error", page.gettext(LEFT_OUT[reason], name=quoted, max=MAX_PHOTOS)))
    return said


def shown(listing: Listing, cursor: str | None, *, staff: bool = False) -> Json:
    """What the conversation's part of a page needs: its messages and its older page.

    The customer API leaves internal notes out; the portal drops any that came all the same,
    since one shown to a customer cannot be taken back."""
    items = [m for m in listing["items"] if staff or not m.get("internal")]
    return {"messages": items, "cursor": cursor, "older": listing["next_cursor"]}
