"""Mail to whoever reported a fault: it became an order, it was rejected, a visit is planned
or moved, the work is done."""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from kundonline_common.consumer import Batched, Delivery
from kundonline_contracts import (
    CloudEvent,
    FaultRejected,
    FaultReported,
    OrderChanged,
    OrderCreated,
    unwrap,
)

from .domain import (
    FAULT_REJECTED,
    ORDER_COMPLETED,
    ORDER_CREATED,
    PlannedMail,
    announces_completion,
    language_of,
    normalise_address,
    performed_action_shown,
    place_of,
    visit_news,
)
from .mailing import NotifyUnit, cause_of, queue_mail
from .rendering import localisation, render_mail, reporter_context
from .tables import ReportedFault, TrackedOrder

News = OrderCreated | FaultRejected | OrderChanged


async def on_order_news(
    uow: NotifyUnit, deliveries: Sequence[Delivery[OrderCreated | OrderChanged]]
) -> None:
    """A run of OrderCreated and OrderChanged, as orders publish them: their faults locked
    and each order's fault and tracked state fetched for the run at once, then each event
    in turn."""
    events = [d.event for d in deliveries]
    fault_ids = {e.fault_id for e in events if e.fault_id is not None}
    # Before anything is read: the replica handling the reports of these faults may be
    # writing them now (NotifyRepository.lock_faults).
    await uow.repo.lock_faults(fault_ids)
    await uow.repo.preload(
        fault_ids,
        {e.order_id for e in events if isinstance(e, OrderChanged) and is_completion(e)},
    )
    for delivery, event in zip(deliveries, events, strict=True):
        uow.caused_by(delivery.envelope, delivery.traceparent)
        if isinstance(event, OrderCreated):
            await on_order_created(uow, event)
        else:
            await on_order_changed(uow, event)


def is_news(event: OrderCreated | OrderChanged) -> bool:
    return isinstance(event, OrderCreated) or is_completion(event) or is_visit_news(event)


# Both kinds share one handler, so a batch's alternating OrderCreated and OrderChanged
# form one run rather than runs of one. Most order changes are no news to anyone here.
order_news = Batched(on_order_news, wants=is_news)


async def on_order_created(uow: NotifyUnit, event: OrderCreated) -> None:
    """Orders staff make on their own have no reporter to tell."""
    if event.fault_id is not None:
        await tell_reporter(uow, event.fault_id, event)


async def on_fault_rejected(uow: NotifyUnit, event: FaultRejected) -> None:
    await tell_reporter(uow, event.fault_id, event)


def is_completion(event: OrderChanged) -> bool:
    """A completed order made from a fault: the only change its reporter hears of."""
    return event.fault_id is not None and event.status == "completed"


def is_visit_news(event: OrderChanged) -> bool:
    """A visit planned or moved for an order made from a fault (domain.visit_news)."""
    return visit_news(event) is not None


async def on_order_changed(uow: NotifyUnit, event: OrderChanged) -> None:
    """Each visit planned or moved is told as it happens: the event alone says so, and its
    id keeps a redelivery from telling it twice. The first time an order is seen completed,
    the reporter is told; never again, even if it is reopened and completed anew. Other
    changes are no news and are not kept."""
    if is_visit_news(event) and event.fault_id is not None:  # visit_news: it has a fault
        await tell_reporter(uow, event.fault_id, event)
        return
    if not is_completion(event) or event.fault_id is None:  # is_completion: it has a fault
        return
    known = await uow.repo.tracked_order(event.order_id)
    if not announces_completion(event.status, known.completion_announced if known else False):
        return
    await uow.repo.save_order(
        TrackedOrder(
            order_id=event.order_id,
            fault_id=event.fault_id,
            status=event.status,
            completion_announced=True,
        )
    )
    await tell_reporter(uow, event.fault_id, event)


async def tell_reporter(uow: NotifyUnit, fault_id: UUID, event: News) -> None:
    cause = cause_of(uow)
    fault = await uow.repo.reported_fault(fault_id)
    if fault is None:
        # Topics are ordered only within themselves: while notify catches up on a backlog
        # the order can arrive before its fault report, which alone names the reporter.
        await uow.repo.hold(fault_id, cause)
        return
    await queue_news(uow, fault, event, cause.id)


def reported(event: FaultReported) -> ReportedFault:
    """What later mails need of a report; the name of its place is the repository's to add
    (`remember_report`)."""
    return ReportedFault(
        fault_id=event.fault_id,
        account_id=event.account_id,
        customer_id=event.customer_id,
        place_kind="facility" if event.facility_id else "project",
        place_id=place_of(event),
        description=event.description,
        contact_name=event.contact.name,
        contact_email=str(event.contact.email) if event.contact.email else None,
        reported_at=event.reported_at,
    )


async def tell_held(uow: NotifyUnit, fault: ReportedFault, held: list[CloudEvent]) -> None:
    """Tell the reporter what arrived ahead of the report, now that it is remembered."""
    for envelope in held:
        event = unwrap(envelope)
        assert isinstance(event, News)  # only news of the fault is held for it (tell_reporter)
        await queue_news(uow, fault, event, envelope.id)


async def queue_news(uow: NotifyUnit, fault: ReportedFault, event: News, cause: UUID) -> None:
    """Render the mail in the reporter's language, as their account is known now."""
    if not fault.contact_email:
        return
    known = await uow.repo.known_for(fault)
    settings = known.settings
    language = language_of(known.account_language)
    template, details = news(event, hide=known.hide_performed_action)
    if template == ORDER_COMPLETED and isinstance(event, OrderChanged):
        signer = uow.repo.rating_links
        details["rating_links"] = (
            signer.links(
                settings.public_url,
                order_id=event.order_id,
                account_id=fault.account_id,
                completed_at=event.changed_at,
            )
            if signer is not None
            else []
        )
    l10n = localisation(language, settings.time_zone)
    context = reporter_context(
        fault,
        l10n,
        place_name=fault.place_name if known.place_name is None else known.place_name,
        public_url=settings.public_url,
        **details,
    )
    plan = PlannedMail(normalise_address(fault.contact_email), template, language)
    await queue_mail(uow, cause, plan, render_mail(template, l10n, context))


def news(event: News, *, hide: bool | None) -> tuple[str, dict[str, Any]]:
    """The template an event calls for, and what it adds to the report's details."""
    if isinstance(event, OrderCreated):
        return ORDER_CREATED, {
            "order_number": event.order_number,
            "planned_start": event.planned_start,
        }
    if isinstance(event, FaultRejected):
        return FAULT_REJECTED, {"reason": event.reason}
    if (visit := visit_news(event)) is not None:
        before = event.previous_planned
        assert before is not None  # visit_news: the event says what the time was
        return visit, {
            "order_number": event.order_number,
            "planned_start": event.planned_start,
            "planned_end": event.planned_end,
            "previous_start": before.start,
            "previous_end": before.end,
        }
    action = performed_action_shown(event.performed_action, hidden_for_account=hide)
    return ORDER_COMPLETED, {"order_number": event.order_number, "performed_action": action or ""}
