"""Queueing a rendered mail under its exactly-once key, for the event being handled."""

from uuid import UUID

from kundonline_common.tracing import current_headers
from kundonline_common.uow import Unit
from kundonline_contracts import CloudEvent

from .domain import PlannedMail, mail_id
from .rendering import RenderedMail
from .repository import NotifyRepository
from .tables import OutgoingMail

NotifyUnit = Unit[NotifyRepository]


def cause_of(uow: NotifyUnit) -> CloudEvent:
    if uow.cause is None:
        raise RuntimeError("mail is queued only for an incoming event")
    return uow.cause


async def queue_mail(
    uow: NotifyUnit, cause: UUID, plan: PlannedMail, rendered: RenderedMail
) -> None:
    """Queue once per (cause event, recipient, template): a redelivery finds it queued."""
    await uow.repo.queue(mail_of(cause, plan, rendered))


def mail_of(cause: UUID, plan: PlannedMail, rendered: RenderedMail) -> OutgoingMail:
    """The queue's row of a mail; `NotifyRepository.queue_all` queues several at once."""
    return OutgoingMail(
        id=mail_id(cause, plan.recipient, plan.template),
        cause_event_id=cause,
        recipient=plan.recipient,
        template=plan.template,
        language=plan.language,
        subject=rendered.subject,
        text_body=rendered.text,
        html_body=rendered.html,
        # The handled event's span is current: the mail is sent in its trace.
        trace_context=current_headers() or None,
    )
