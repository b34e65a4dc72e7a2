"""The rules of the conversation on a fault, with a fake repository."""

from collections import Counter
from uuid import UUID, uuid4

import pytest
from pictures import picture
from pydantic import ValidationError

from kundonline_common.errors import Conflict, NotFound
from kundonline_common.testing import FakeUnit
from kundonline_common.tokens import Caller
from kundonline_contracts import FaultMessagePosted
from kundonline_faults import messages
from kundonline_faults.domain import Author, unread_by_staff, wrote
from kundonline_faults.photos import PhotoLimits
from kundonline_faults.schemas import MessageIn, StaffMessageIn
from kundonline_faults.tables import Fault, FaultMessage, FaultPhoto

LIMITS = PhotoLimits(
    max_bytes=1024 * 1024,
    max_pixels=1_000_000,
    max_side=256,
    per_fault=2,
    decode_memory_bytes=64 * 1024 * 1024,
)


class FakeRepository:
    """Faults, and which of them each account may see."""

    def __init__(self, fault: Fault, visible_to: set[UUID]) -> None:
        self.fault = fault
        self.visible_to = visible_to
        self.messages: list[FaultMessage] = []
        self.photos: list[FaultPhoto] = []
        self.unread: Counter[UUID] = Counter()
        self.marked_read = 0

    async def visible_fault(self, account_id: UUID, fault_id: UUID) -> Fault | None:
        seen = fault_id == self.fault.id and account_id in self.visible_to
        return self.fault if seen else None

    async def get(self, fault_id: UUID) -> Fault | None:
        return self.fault if fault_id == self.fault.id else None

    def add_message(self, message: FaultMessage) -> None:
        self.messages.append(message)

    def add_photo(self, photo: FaultPhoto) -> None:
        self.photos.append(photo)

    async def count_unread(self, fault_id: UUID) -> None:
        self.unread[fault_id] += 1

    async def mark_read(self, fault_id: UUID) -> None:
        self.unread[fault_id] = 0
        self.marked_read += 1

    async def message(self, fault_id: UUID, message_id: UUID) -> FaultMessage | None:
        found = [m for m in self.messages if (m.fault_id, m.id) == (fault_id, message_id)]
        return found[0] if found else None

    async def conversation(
        self, fault_id: UUID, *, with_internal: bool, cursor: str | None, limit: int
    ) -> tuple[list[FaultMessage], str | None]:
        shown = [m for m in self.messages if m.fault_id == fault_id]
        shown = [m for m in shown if with_internal or not m.internal]
        return shown[::-1][:limit], None

    async def message_photos(self, message_ids: list[UUID]) -> dict[UUID, list[object]]:
        return {}

    async def take_photo_place(
        self, holder: type[Fault] | type[FaultMessage], holder_id: UUID, limit: int
    ) -> bool:
        assert holder is FaultMessage
        return sum(p.message_id == holder_id for p in self.photos) < limit


Unit = FakeUnit[FakeRepository]

REPORTER, COLLEAGUE, STRANGER = uuid4(), uuid4(), uuid4()
EVA = Author("customer", str(REPORTER), "Eva")
SVEN = Author("staff", "staff-1", "Sven")


def _unit() -> Unit:
    fault = Fault(
        account_id=REPORTER,
        customer_id=uuid4(),
        facility_id=uuid4(),
        description="Hissen står still",
        contact_email="eva@example.com",
    )
    return FakeUnit(FakeRepository(fault, visible_to={REPORTER, COLLEAGUE}))


async def _customer_writes(uow: Unit, text: str, account_id: UUID = REPORTER) -> None:
    author = Author("customer", str(account_id), "")
    await messages.post_customer_message(
        uow=uow,  # type: ignore[arg-type]  # a fake repository
        account_id=account_id,
        author=author,
        fault_id=uow.repo.fault.id,
        body=MessageIn(body=text),
    )


async def _staff_writes(uow: Unit, text: str, internal: bool = False) -> None:
    await messages.post_staff_message(
        uow=uow,  # type: ignore[arg-type]  # a fake repository
        author=SVEN,
        fault_id=uow.repo.fault.id,
        body=StaffMessageIn(body=text, internal=internal),
    )


async def test_a_customer_message_is_kept_counted_unread_and_published() -> None:
    uow = _unit()
    await _customer_writes(uow, "Den står fortfarande still")
    [message] = uow.repo.messages
    assert (message.author_kind, message.author_id, message.internal) == (
        "customer",
        str(REPORTER),
        False,
    )
    assert uow.repo.unread[uow.repo.fault.id] == 1
    [event] = uow.events
    assert isinstance(event, FaultMessagePosted)
    assert (event.fault_id, event.message_id) == (uow.repo.fault.id, message.id)
    assert event.author_kind == "customer" and event.internal is False
    assert event.account_id == REPORTER and event.contact.email == "eva@example.com"


async def test_a_colleague_on_a_linked_facility_may_write_too() -> None:
    uow = _unit()
    await _customer_writes(uow, "Samma hiss", account_id=COLLEAGUE)
    assert uow.repo.messages[0].author_id == str(COLLEAGUE)


@pytest.mark.parametrize("known", [True, False], ids=["another-accounts", "unknown"])
async def test_a_fault_the_account_may_not_see_is_not_found_and_nothing_changes(
    known: bool,
) -> None:
    uow = _unit()
    fault_id = uow.repo.fault.id if known else uuid4()
    with pytest.raises(NotFound):
        await messages.post_customer_message(
            uow=uow,  # type: ignore[arg-type]  # a fake repository
            account_id=STRANGER,
            author=Author("customer", str(STRANGER), ""),
            fault_id=fault_id,
            body=MessageIn(body="Hej"),
        )
    with pytest.raises(NotFound):
        await messages.customer_conversation(
            uow=uow,  # type: ignore[arg-type]  # a fake repository
            account_id=STRANGER,
            fault_id=fault_id,
            cursor=None,
            limit=10,
        )
    assert uow.repo.messages == [] and uow.published == [] and not +uow.repo.unread


async def test_staff_notes_are_published_as_internal_and_never_wait_to_be_read() -> None:
    uow = _unit()
    await _customer_writes(uow, "Hallå?")
    await _staff_writes(uow, "Kunden har ringt två gånger", internal=True)
    assert uow.repo.unread[uow.repo.fault.id] == 0  # answering is reading
    note = uow.events[-1]
    assert isinstance(note, FaultMessagePosted)
    assert note.internal is True and note.author_kind == "staff" and note.author_name == "Sven"


async def test_customers_never_read_staff_notes_and_staff_read_everything() -> None:
    uow = _unit()
    await _customer_writes(uow, "Hallå?")
    await _staff_writes(uow, "Ring teknikern först", internal=True)
    await _staff_writes(uow, "Teknikern kommer i morgon")
    fault_id = uow.repo.fault.id
    mine = await messages.customer_conversation(
        uow=uow,  # type: ignore[arg-type]  # a fake repository
        account_id=REPORTER,
        fault_id=fault_id,
        cursor=None,
        limit=10,
    )
    assert [m.body for m in mine.items] == ["Teknikern kommer i morgon", "Hallå?"]
    assert [m.mine for m in mine.items] == [False, True]
    assert "internal" not in mine.items[0].model_dump()
    staffs = await messages.staff_conversation(
        uow=uow,  # type: ignore[arg-type]  # a fake repository
        fault_id=fault_id,
        cursor=None,
        limit=10,
    )
    assert [m.internal for m in staffs.items] == [False, True, False]


async def test_the_first_page_marks_customer_messages_read_and_later_pages_do_not() -> None:
    uow = _unit()
    fault_id = uow.repo.fault.id
    await _customer_writes(uow, "Hallå?")
    await messages.staff_conversation(
        uow=uow,  # type: ignore[arg-type]  # a fake repository
        fault_id=fault_id,
        cursor="older",
        limit=10,
    )
    assert uow.repo.unread[fault_id] == 1
    await messages.staff_conversation(
        uow=uow,  # type: ignore[arg-type]  # a fake repository
        fault_id=fault_id,
        cursor=None,
        limit=10,
    )
    assert uow.repo.unread[fault_id] == 0
    with pytest.raises(NotFound):
        await messages.staff_conversation(
            uow=uow,  # type: ignore[arg-type]  # a fake repository
            fault_id=uuid4(),
            cursor=None,
            limit=10,
        )


async def _add_photo(uow: Unit, author: Author, account_id: UUID | None) -> None:
    await messages.add_message_photo(
        uow=uow,  # type: ignore[arg-type]  # a fake repository
        author=author,
        account_id=account_id,
        fault_id=uow.repo.fault.id,
        message_id=uow.repo.messages[0].id,
        data=picture("JPEG", (32, 24)),
        limits=LIMITS,
    )


async def test_only_a_messages_author_adds_photos_to_it_and_no_more_than_the_limit() -> None:
    uow = _unit()
    await _customer_writes(uow, "Så här ser det ut")
    colleague = Author("customer", str(COLLEAGUE), "")
    with pytest.raises(NotFound):
        await _add_photo(uow, colleague, COLLEAGUE)
    with pytest.raises(NotFound):
        await _add_photo(uow, SVEN, None)
    with pytest.raises(NotFound):  # the author, no longer seeing the fault
        uow.repo.visible_to = set()
        await _add_photo(uow, EVA, REPORTER)
    uow.repo.visible_to = {REPORTER}
    for _ in range(LIMITS.per_fault):
        await _add_photo(uow, EVA, REPORTER)
    with pytest.raises(Conflict):
        await _add_photo(uow, EVA, REPORTER)
    assert len(uow.repo.photos) == LIMITS.per_fault
    assert {p.message_id for p in uow.repo.photos} == {uow.repo.messages[0].id}


def test_an_author_is_the_caller_and_only_customers_messages_wait_for_staff() -> None:
    account = uuid4()
    customer = Author.of(Caller(subject=str(account), role="account", name="Eva"))
    staff = Author.of(Caller(subject="staff-7", role="handler", name="Sven"))
    assert customer == Author("customer", str(account), "Eva")
    assert staff == Author("staff", "staff-7", "Sven")
    assert unread_by_staff("customer") and not unread_by_staff("staff")
    assert wrote(customer, "customer", str(account))
    assert not wrote(customer, "staff", str(account))  # an id alone is not the author
    assert not wrote(staff, "customer", "staff-7")


@pytest.mark.parametrize(
    "body",
    [
        "",
        "   \n\t ",
        "x" * 4001,
        "NUL\x00här",
        "escape\x1b[31m",
        "halv\ud800surrogat",
    ],
    ids=["empty", "blank", "too-long", "nul", "escape", "lone-surrogate"],
)
def test_a_message_body_is_refused_when_it_is_not_text_a_person_wrote(body: str) -> None:
    with pytest.raises(ValidationError):
        MessageIn(body=body)


def test_a_message_body_is_stripped_and_keeps_its_lines_and_any_language() -> None:
    text = "Rad ett\r\n\tRad två: ÅÄÖ, 电梯, 🛗"
    assert MessageIn(body=f"  {text} \n").body == text
    assert len(MessageIn(body="x" * 4000).body) == 4000


def test_only_staff_may_mark_a_message_internal() -> None:
    with pytest.raises(ValidationError):
        MessageIn.model_validate({"body": "Hej", "internal": True})
    assert StaffMessageIn.model_validate({"body": "Hej", "internal": True}).internal
    assert StaffMessageIn(body="Hej").internal is False
