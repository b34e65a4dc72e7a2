"""Event handlers of the notify service: projections, and the mail each event causes."""

from collections.abc import Sequence
from typing import Any

from kundonline_common.consumer import Batched, Delivery, handlers, on
from kundonline_contracts import (
    AccountChanged,
    CustomerChanged,
    FacilityChanged,
    FaultMarkedDuplicate,
    FaultMessagePosted,
    FaultRejected,
    FaultReported,
    OrderChanged,
    OrderCreated,
    PortalSettingsChanged,
    ProjectChanged,
)

from .conversation import on_fault_message_posted
from .domain import language_of, plan_fault_mails
from .duplicates import on_fault_marked_duplicate
from .mailing import NotifyUnit, cause_of, mail_of
from .rendering import fault_context, localisation, render_mail
from .reporter import on_fault_rejected, order_news, reported, tell_held


async def on_settings_changed(uow: NotifyUnit, event: PortalSettingsChanged) -> None:
    await uow.repo.save_settings(event.settings)


async def on_customer_changed(uow: NotifyUnit, event: CustomerChanged) -> None:
    await uow.repo.save_customer(event)


async def on_account_changed(uow: NotifyUnit, event: AccountChanged) -> None:
    await uow.repo.save_account(event)


async def on_facility_changed(uow: NotifyUnit, event: FacilityChanged) -> None:
    await uow.repo.save_place(event.facility_id, "facility", event.name, event.deleted)


async def on_project_changed(uow: NotifyUnit, event: ProjectChanged) -> None:
    await uow.repo.save_place(event.project_id, "project", event.name, event.deleted)


async def on_fault_reported(uow: NotifyUnit, event: FaultReported) -> None:
    """Queue every mail a fault report causes, in the transaction that marks it handled.

    Projections from other topics may lag behind the fault: a customer not yet known
    gets no our-reference copy and a place not yet known is named by its id.
    """
    fault = reported(event)
    known, held = await uow.repo.remember_report(fault)
    settings = known.settings
    # Only an active account's name and language: the report's own is active.
    active = known.account_active
    planned = plan_fault_mails(
        staff_email=settings.fault_report_email,
        copy_to_our_reference=settings.copy_to_our_reference,
        our_reference_email=known.our_reference_email,
        contact_email=str(event.contact.email) if event.contact.email else None,
        reporter_language=language_of(known.account_language if active else None),
    )
    cause = cause_of(uow).id
    mails = []
    for plan in planned:
        l10n = localisation(plan.language, settings.time_zone)
        context = fault_context(
            event,
            l10n,
            place_name=known.place_name,
            customer_name=known.customer_name,
            reporter_name=known.account_name if active else None,
            our_reference_name=known.our_reference_name,
            public_url=settings.public_url,
        )
        mails.append(mail_of(cause, plan, render_mail(plan.template, l10n, context)))
    await uow.repo.queue_all(mails)
    await tell_held(uow, fault, held)


async def on_fault_news(
    uow: NotifyUnit, deliveries: Sequence[Delivery[FaultReported | FaultRejected]]
) -> None:
    """A run of FaultReported and FaultRejected: their faults locked at once against the
    replica handling the orders made from them, then each event in turn."""
    await uow.repo.lock_faults({d.event.fault_id for d in deliveries})
    for delivery in deliveries:
        uow.caused_by(delivery.envelope, delivery.traceparent)
        if isinstance(delivery.event, FaultReported):
            await on_fault_reported(uow, delivery.event)
        else:
            await on_fault_rejected(uow, delivery.event)


# Both kinds share one handler, so that a batch of the faults topic is one run whose locks
# are all taken in one go.
fault_news = Batched(on_fault_news)

EVENT_HANDLERS = handlers(
    on(FaultReported, fault_news),
    on(FaultRejected, fault_news),
    on(FaultMessagePosted, on_fault_message_posted),
    on(FaultMarkedDuplicate, on_fault_marked_duplicate),
    on(OrderCreated, order_news),
    on(OrderChanged, order_news),
    on(PortalSettingsChanged, on_settings_changed),
    on(CustomerChanged, on_customer_changed),
    on(AccountChanged, on_account_changed),
    on(FacilityChanged, on_facility_changed),
    on(ProjectChanged, on_project_changed),
)

__all__: list[Any] = ["EVENT_HANDLERS", "on_fault_news", "on_fault_reported"]
