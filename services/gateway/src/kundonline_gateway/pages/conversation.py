"""The conversation on a fault report, as the portal and the admin both show and write it."""

from collections.abc import Awaitable, Callable
from typing import ClassVar
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


class MessageForm(PageForm):
    body: str = ""
    internal: Checkbox = False  # staff only; the portal never sends it on
    photos: list[UploadFile] = Field(default_factory=list)

    # The service names the message's text `body`, as the request's body is named: a refusal
    # of it comes back at the path "" once "body" is left out of its location.
    field_messages: ClassVar = {"": N_("Write a message (1–4000 characters).")}
    form_fields: ClassVar = {"": "body"}


async def write(page: Page, fault_id: UUID, form: MessageForm) -> None:
    """The customer's message, then its photos."""
    api = page.api
    sent = await faults.write(api, fault_id, form.body)
    await attach_photos(
        form.photos,
        lambda name, data, ctype: faults.add_message_photo(
            api, fault_id, sent["id"], name, data, ctype
        ),
    )


async def answer(page: Page, fault_id: UUID, form: MessageForm) -> None:
    """Staff's message (or internal note), then its photos."""
    api = page.api
    sent = await faults.answer(api, fault_id, form.body, internal=form.internal)
    await attach_photos(
        form.photos,
        lambda name, data, ctype: faults.add_staff_message_photo(
            api, fault_id, sent["id"], name, data, ctype
        ),
    )


async def attach_photos(
    uploads: list[UploadFile],
    add: Callable[[str, bytes, str | None], Awaitable[None]],
) -> None:
    """Up to MAX_PHOTOS of the files chosen, each handed to `add` (a report's or a message's
    photo call) after what they belong to is saved."""
    for upload in [u for u in uploads if u.filename][:MAX_PHOTOS]:
        try:
            await add(upload.filename or "", await upload.read(), upload.content_type)
        except DomainError:
            continue  # what was written stands; a photo the service cannot read is left out


def shown(listing: Listing, cursor: str | None, *, staff: bool = False) -> Json:
    """What the conversation's part of a page needs: its messages and its older page.

    The customer API leaves internal notes out; the portal drops any that came all the same,
    since one shown to a customer cannot be taken back."""
    items = [m for m in listing["items"] if staff or not m.get("internal")]
    return {"messages": items, "cursor": cursor, "older": listing["next_cursor"]}
