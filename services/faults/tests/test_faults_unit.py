"""Fault rules and the report command, with a fake repository."""

from typing import Any
from uuid import UUID, uuid4

import pytest

from kundonline_common.errors import NotFound
from kundonline_common.projections import FACILITY, AccountView
from kundonline_common.testing import FakeUnit
from kundonline_common.tokens import Caller
from kundonline_contracts import FaultReported
from kundonline_faults.commands import report_fault
from kundonline_faults.domain import customer_status, in_staff_queue, next_step
from kundonline_faults.schemas import FaultReport, Rejection
from kundonline_faults.tables import Fault


class FakeRepository:
    def __init__(self, account: AccountView | None, linked: set[UUID]) -> None:
        self._account = account
        self._linked = linked
        self.faults: list[Fault] = []

    async def report_if_linked(
        self,
        account_id: UUID,
        kind: str,
        target_id: UUID,
        order_direct: bool | None,
        **fields: Any,
    ) -> Fault | None:
        account = self._account
        if account is None or account.account_id != account_id:
            return None
        if kind != FACILITY or target_id not in self._linked:
            return None
        if fields.get("client_key") and await self.by_client_key(account_id, fields["client_key"]):
            return None
        routed = account.order_direct if order_direct is None else order_direct
        fault = Fault(
            account_id=account_id, customer_id=account.customer_id, order_direct=routed, **fields
        )
        self.faults.append(fault)
        return fault

    async def by_client_key(self, account_id: UUID, key: str) -> Fault | None:
        mine = (f for f in self.faults if (f.account_id, f.client_key) == (account_id, key))
        return next(mine, None)


def _setup(order_direct: bool) -> tuple[FakeUnit[FakeRepository], Caller, UUID]:
    account_id, facility = uuid4(), uuid4()
    view = AccountView(account_id=account_id, customer_id=uuid4(), order_direct=False)
    caller = Caller(subject=str(account_id), role="account", flags={"order_direct": order_direct})
    return FakeUnit(FakeRepository(view, {facility})), caller, facility


@pytest.mark.parametrize("order_direct", [True, False])
async def test_a_report_on_a_linked_facility_is_stored_and_published(order_direct: bool) -> None:
    uow, caller, facility = _setup(order_direct)
    body = FaultReport(facility_id=facility, description="Larmet tjuter")
    receipt = await report_fault(uow=uow, caller=caller, body=body)  # type: ignore[arg-type]  # a fake repository
    assert receipt.status == "new"
    assert receipt.next_step == ("order_created" if order_direct else "awaiting_handling")
    [event] = uow.events
    assert isinstance(event, FaultReported)
    assert event.fault_id == receipt.id and event.order_direct is order_direct
    assert len(uow.repo.faults) == 1


async def test_an_unlinked_facility_is_not_found_and_nothing_is_published() -> None:
    uow, caller, _ = _setup(True)
    body = FaultReport(facility_id=uuid4(), description="Larmet tjuter")
    with pytest.raises(NotFound):
        await report_fault(uow=uow, caller=caller, body=body)  # type: ignore[arg-type]  # a fake repository
    assert uow.published == [] and uow.repo.faults == []


async def test_a_repeat_with_its_key_answers_with_the_first_report_and_publishes_nothing() -> None:
    uow, caller, facility = _setup(True)
    body = FaultReport(facility_id=facility, description="Larmet tjuter")
    first = await report_fault(uow=uow, caller=caller, body=body, client_key="k")  # type: ignore[arg-type]  # a fake repository
    elsewhere = FaultReport(facility_id=uuid4(), description="Något annat")
    again = await report_fault(uow=uow, caller=caller, body=elsewhere, client_key="k")  # type: ignore[arg-type]  # a fake repository
    assert again == first and len(uow.events) == 1 and len(uow.repo.faults) == 1
    with pytest.raises(NotFound):
        await report_fault(uow=uow, caller=caller, body=elsewhere, client_key="new")  # type: ignore[arg-type]  # a fake repository
    assert len(uow.events) == 1 and len(uow.repo.faults) == 1


def test_accepted_faults_look_new_to_customers() -> None:
    assert customer_status("accepted") == "new"
    assert customer_status("order_created") == "order_created"
    assert customer_status("rejected") == "rejected"


def test_only_queued_faults_without_order_direct_wait_for_staff() -> None:
    assert in_staff_queue("new", order_direct=False)
    assert not in_staff_queue("new", order_direct=True)
    assert not in_staff_queue("rejected", order_direct=False)
    assert next_step(True) == "order_created"


def test_a_report_needs_exactly_one_target_and_a_description() -> None:
    with pytest.raises(ValueError):
        FaultReport(description="x")
    with pytest.raises(ValueError):
        FaultReport(facility_id=uuid4(), project_id=uuid4(), description="x")
    with pytest.raises(ValueError):
        FaultReport(facility_id=uuid4(), description="")
    with pytest.raises(ValueError):
        FaultReport(facility_id=uuid4(), description="x" * 4001)


# Characters a mail's Subject or body must not carry raw, as the message API refuses them.
UNWRITABLE = ["a\x00b", "\x1b[31m", "ring\x07", "back\x08", "del\x7f", "c1\x85c1"]


@pytest.mark.parametrize("text", UNWRITABLE)
def test_a_report_or_a_rejection_with_control_characters_is_refused(text: str) -> None:
    facility = uuid4()
    with pytest.raises(ValueError, match="control characters"):
        FaultReport(facility_id=facility, description=text)
    with pytest.raises(ValueError, match="control characters"):
        FaultReport.model_validate(
            {"facility_id": facility, "description": "x", "contact": {"name": text}}
        )
    with pytest.raises(ValueError, match="control characters"):
        FaultReport.model_validate(
            {"facility_id": facility, "description": "x", "contact": {"phone": text}}
        )
    with pytest.raises(ValueError):
        FaultReport.model_validate(
            {"facility_id": facility, "description": "x", "contact": {"email": f"{text}@b.se"}}
        )
    with pytest.raises(ValueError, match="control characters"):
        Rejection(reason=text)


@pytest.mark.parametrize("line", ["Eva\nEk", "Eva\r\nBcc: x", "070\t12", "Eva\u2028Ek"])
def test_a_contact_name_or_phone_is_one_line(line: str) -> None:
    for field in ("name", "phone"):
        with pytest.raises(ValueError, match="line breaks"):
            FaultReport.model_validate(
                {"facility_id": uuid4(), "description": "x", "contact": {field: line}}
            )


def test_a_description_and_a_reason_keep_their_lines_tabs_and_any_language() -> None:
    text = "Rad ett\r\n\tRad två: ÅÄÖ, 电梯, 🛗"
    report = FaultReport.model_validate(
        {
            "facility_id": uuid4(),
            "description": text,
            "contact": {"name": "Åsa Ek-Öberg", "phone": "+46 (0)70-123 45 67"},
        }
    )
    assert report.description == text
    assert (report.contact.name, report.contact.phone) == ("Åsa Ek-Öberg", "+46 (0)70-123 45 67")
    assert Rejection(reason=text).reason == text
