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
from .domain import language_of, place_of, plan_fault_mails
from .duplicates import on_fault_marked_duplicate
from .mailing import NotifyUnit, cause_of, queue_mail
from .rendering import fault_context, localisation, render_mail
from .reporter import on_fault_rejected, order_news, remember_fault


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
    settings = await uow.repo.settings()
    customer = await uow.repo.customer(event.customer_id)
    account = await uow.repo.account(event.account_id)
    place = await uow.repo.place(place_of(event))
    planned = plan_fault_mails(
        staff_email=settings.fault_report_email,
        copy_to_our_reference=settings.copy_to_our_reference,
        our_reference_email=customer.our_reference_email if customer else None,
        contact_email=str(event.contact.email) if event.contact.email else None,
        reporter_language=language_of(account.language if account else None),
    )
    cause = cause_of(uow).id
    for plan in planned:
        l10n = localisation(plan.language, settings.time_zone)
        context = fault_context(
            event,
            l10n,
            place_name=place.name if place else None,
            customer_name=customer.name if customer else None,
            reporter_name=account.name if account else None,
            our_reference_name=customer.our_reference_name if customer else None,
            public_url=settings.public_url,
        )
        await queue_mail(uow, cause, plan, render_mail(plan.template, l10n, context))
    await remember_fault(uow, event, place.name if place else None)


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
