"""Mail of the conversation on a fault report: each side told when the other writes."""

from typing import Any
from uuid import UUID

from kundonline_common.i18n import Localisation
from kundonline_contracts import FaultMessagePosted

from .domain import MESSAGE_TO_REPORTER, headline, language_of, plan_message_mails
from .mailing import NotifyUnit, cause_of, queue_mail
from .rendering import localisation, place_label, render_mail
from .tables import ReportedFault


async def on_fault_message_posted(uow: NotifyUnit, event: FaultMessagePosted) -> None:
    """Queue the other side's mail of a message, in the transaction that marks it handled.

    Not held for the fault report as the order news are: the event carries the reporter,
    the contact and the place, and the faults topic, keyed by the fault, brings the report
    first anyway. The remembered report only adds its text when it is there.
    """
    known = await uow.repo.known(
        customer_id=event.customer_id, account_id=event.account_id, place_id=place_id(event)
    )
    settings = known.settings
    planned = plan_message_mails(
        event,
        staff_email=settings.fault_report_email,
        copy_to_our_reference=settings.copy_to_our_reference,
        our_reference_email=known.our_reference_email,
        reporter_language=language_of(known.account_language),
    )
    if not planned:
        return
    fault = await uow.repo.reported_fault(event.fault_id)
    place_name = (
        known.place_name if known.place_name is not None else fault.place_name if fault else None
    )
    cause = cause_of(uow).id
    for plan in planned:
        l10n = localisation(plan.language, settings.time_zone)
        context = message_context(
            event,
            l10n,
            fault=fault,
            place_name=place_name,
            customer_name=known.customer_name,
            link=settings.public_url.rstrip("/") + page_of(plan.template, event.fault_id),
        )
        await queue_mail(uow, cause, plan, render_mail(plan.template, l10n, context))


def page_of(template: str, fault_id: UUID) -> str:
    """Where the reader answers: the reporter on the portal's page of the fault, staff on
    theirs; each page's conversation section is #conversation."""
    side = "" if template == MESSAGE_TO_REPORTER else "/admin"
    return f"{side}/faults/{fault_id}#conversation"


def place_id(event: FaultMessagePosted) -> UUID:
    place = event.facility_id or event.project_id
    assert place is not None  # the event's validator: exactly one of the two is set
    return place


def message_context(
    event: FaultMessagePosted,
    l10n: Localisation,
    *,
    fault: ReportedFault | None,
    place_name: str | None,
    customer_name: str | None,
    link: str,
) -> dict[str, Any]:
    """What the message templates show; the message's text stays raw for Jinja to escape."""
    kind = "facility" if event.facility_id else "project"
    return {
        "fault_id": str(event.fault_id),
        "short_id": str(event.fault_id)[:8],
        "place": place_label(kind, place_id(event), place_name, l10n),
        "place_kind": kind,
        "author": event.author_name,
        "body": event.body,
        "headline": headline(event.body),
        "posted_at": event.posted_at,
        "order_number": event.order_number,
        "contact_name": event.contact.name,
        "customer": customer_name or "",
        # The report itself, when notify has it: what the conversation is about.
        "description": fault.description if fault else "",
        "reported_at": fault.reported_at if fault else None,
        "link": link,
    }
