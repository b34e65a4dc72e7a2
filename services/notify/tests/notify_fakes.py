"""An in-memory stand-in for the notify repository, and event factories."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from kundonline_common.projections import AccountView
from kundonline_common.testing import FakeUnit as FakeUnit
from kundonline_common.testing import FakeUnitOfWork as FakeUnitOfWork
from kundonline_contracts import (
    AccountChanged,
    CloudEvent,
    Contact,
    CustomerChanged,
    Event,
    FaultReported,
    Language,
    PortalSettings,
    wrap,
)
from kundonline_notify.rating import RatingLinks
from kundonline_notify.repository import Known
from kundonline_notify.tables import (
    CustomerView,
    OutgoingMail,
    PlaceView,
    ReportedFault,
    TrackedOrder,
)


class FakeRepository:
    def __init__(self) -> None:
        self.settings_view = PortalSettings()
        self.customers: dict[UUID, CustomerView] = {}
        self.accounts: dict[UUID, AccountView] = {}
        self.places: dict[UUID, PlaceView] = {}
        self.mails: dict[tuple[UUID, str, str], OutgoingMail] = {}
        self.faults: dict[UUID, ReportedFault] = {}
        self.orders: dict[UUID, TrackedOrder] = {}
        self.held: dict[UUID, list[CloudEvent]] = {}
        self.rating_links: RatingLinks | None = None

    async def queue(self, mail: OutgoingMail) -> None:
        self.mails.setdefault((mail.cause_event_id, mail.recipient, mail.template), mail)

    async def queue_all(self, mails: Sequence[OutgoingMail]) -> None:
        for mail in mails:
            await self.queue(mail)

    async def known(
        self, *, customer_id: UUID | None, account_id: UUID | None, place_id: UUID | None
    ) -> Known:
        customer = self.customers.get(customer_id) if customer_id else None
        account = self.accounts.get(account_id) if account_id else None
        place = self.places.get(place_id) if place_id else None
        return Known(
            settings=self.settings_view,
            customer_name=customer.name if customer else None,
            our_reference_name=customer.our_reference_name if customer else None,
            our_reference_email=customer.our_reference_email if customer else None,
            account_name=account.name if account else None,
            account_language=account.language if account else None,
            account_active=account.active if account else False,
            hide_performed_action=account.hide_performed_action if account else None,
            place_name=place.name if place else None,
        )

    async def next_due(self, now: datetime) -> OutgoingMail | None:
        self.looked = getattr(self, "looked", 0) + 1
        due = [m for m in self.mails.values() if m.status == "queued" and m.next_attempt_at <= now]
        return min(due, key=lambda m: m.next_attempt_at) if due else None

    async def save_settings(self, settings: PortalSettings) -> None:
        self.settings_view = settings

    async def settings(self) -> PortalSettings:
        return self.settings_view

    async def save_customer(self, event: CustomerChanged) -> None:
        ref = event.our_reference
        self.customers[event.customer_id] = CustomerView(
            customer_id=event.customer_id,
            name=event.name,
            our_reference_name=ref.name if ref else None,
            our_reference_email=str(ref.email) if ref and ref.email else None,
        )

    async def customer(self, customer_id: UUID) -> CustomerView | None:
        return self.customers.get(customer_id)

    async def save_account(self, event: AccountChanged) -> None:
        self.accounts[event.account_id] = AccountView(
            account_id=event.account_id,
            customer_id=event.customer_id,
            name=event.name,
            language=event.language,
            active=event.active,
            hide_performed_action=event.hide_performed_action,
        )

    async def account(self, account_id: UUID) -> AccountView | None:
        view = self.accounts.get(account_id)
        return view if view is not None and view.active else None

    async def save_place(self, place_id: UUID, kind: str, name: str, deleted: bool) -> None:
        if deleted:
            self.places.pop(place_id, None)
        else:
            self.places[place_id] = PlaceView(id=place_id, kind=kind, name=name)

    async def remember_fault(self, fault: ReportedFault) -> None:
        self.faults[fault.fault_id] = fault

    async def known_for(self, fault: ReportedFault) -> Known:
        return await self.known(
            customer_id=None, account_id=fault.account_id, place_id=fault.place_id
        )

    async def remember_report(self, fault: ReportedFault) -> tuple[Known, list[CloudEvent]]:
        known = await self.known(
            customer_id=fault.customer_id, account_id=fault.account_id, place_id=fault.place_id
        )
        fault.place_name = known.place_name
        await self.remember_fault(fault)
        return known, await self.release(fault.fault_id)

    async def reported_fault(self, fault_id: UUID) -> ReportedFault | None:
        return self.faults.get(fault_id)

    async def preload(self, fault_ids: set[UUID], order_ids: set[UUID]) -> None:
        """Everything is in memory already."""

    async def lock_faults(self, fault_ids: set[UUID]) -> None:
        """One unit at a time: nothing to wait for."""

    async def tracked_order(self, order_id: UUID) -> TrackedOrder | None:
        return self.orders.get(order_id)

    async def save_order(self, order: TrackedOrder) -> None:
        self.orders[order.order_id] = order

    async def hold(self, fault_id: UUID, envelope: CloudEvent) -> None:
        self.held.setdefault(fault_id, []).append(envelope)

    async def release(self, fault_id: UUID) -> list[CloudEvent]:
        return self.held.pop(fault_id, [])


def fault(**overrides: Any) -> FaultReported:
    fields: dict[str, Any] = {
        "fault_id": uuid4(),
        "account_id": uuid4(),
        "customer_id": uuid4(),
        "facility_id": uuid4(),
        "description": "Ventilationen i trapphus B låter",
        "contact": Contact(name="Anna Berg", phone="070-123 45 67", email="anna@kund.se"),
        "reported_at": datetime(2025, 3, 4, 9, 30, tzinfo=UTC),
        "order_direct": False,
    }
    return FaultReported(**(fields | overrides))


def envelope(event: Event, source: str = "kundonline/faults") -> CloudEvent:
    return wrap(event, source=source)


def account(event: FaultReported, language: Language = "sv", **flags: Any) -> AccountChanged:
    fields: dict[str, Any] = {
        "account_id": event.account_id,
        "customer_id": event.customer_id,
        "name": "Anna Berg",
        "username": "anna",
        "language": language,
        "active": True,
        "order_direct": False,
        "hide_performed_action": False,
        "show_purchase_prices_on_projects": False,
        "show_purchase_price_on_order_rows": False,
    }
    return AccountChanged(**(fields | flags))
