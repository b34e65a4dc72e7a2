"""Mail of a fault report joined with another report of the same fault: its reporter is
told that it gets no order of its own and where to follow the work."""

from typing import Any, Final
from uuid import UUID

from kundonline_common.i18n import Localisation
from kundonline_contracts import FaultMarkedDuplicate

from .domain import PlannedMail, headline, language_of, normalise_address
from .mailing import NotifyUnit, cause_of, queue_mail
from .rendering import localisation, place_label, render_mail

JOINED: Final = "fault_duplicate"


def plan_joined_mail(
    event: FaultMarkedDuplicate, reporter_language: str | None
) -> list[PlannedMail]:
    """The reporter, at the contact address given with the report, when there is one."""
    if not event.contact.email:
        return []
    recipient = normalise_address(str(event.contact.email))
    return [PlannedMail(recipient, JOINED, language_of(reporter_language))]


async def on_fault_marked_duplicate(uow: NotifyUnit, event: FaultMarkedDuplicate) -> None:
    """Queue the reporter's mail in the transaction that marks the event handled. The event
    carries the report and its contact: nothing to wait for."""
    known = await uow.repo.known(
        customer_id=None, account_id=event.account_id, place_id=_place_id(event)
    )
    planned = plan_joined_mail(event, known.account_language)
    if not planned:
        return
    settings = known.settings
    cause = cause_of(uow).id
    for plan in planned:
        l10n = localisation(plan.language, settings.time_zone)
        link = f"{settings.public_url.rstrip('/')}/faults/{event.fault_id}"
        context = joined_context(event, l10n, known.place_name, link)
        await queue_mail(uow, cause, plan, render_mail(plan.template, l10n, context))


def _place_id(event: FaultMarkedDuplicate) -> UUID:
    place = event.facility_id or event.project_id
    assert place is not None  # the event's validator: exactly one of the two is set
    return place


def joined_context(
    event: FaultMarkedDuplicate, l10n: Localisation, place_name: str | None, link: str
) -> dict[str, Any]:
    """What the template shows; the reporter's text stays raw for Jinja to escape."""
    kind = "facility" if event.facility_id else "project"
    return {
        "short_id": str(event.fault_id)[:8],
        "place": place_label(kind, _place_id(event), place_name, l10n),
        "place_kind": kind,
        "contact_name": event.contact.name,
        "description": event.description,
        "headline": headline(event.description),
        "reported_at": event.reported_at,
        "order_number": event.order_number,
        "link": link,
    }
