"""Pure rules of the notify service: who hears of what, a mail's identity, retry timing."""

import unicodedata
from dataclasses import dataclass
from uuid import UUID, uuid5

from kundonline_contracts import (
    FaultMessagePosted,
    FaultReported,
    Language,
    OrderChanged,
    OrderStatus,
)

STAFF = "fault_report_staff"
OUR_REFERENCE = "fault_report_our_reference"
RECEIPT = "fault_receipt"
ORDER_CREATED = "order_created"
FAULT_REJECTED = "fault_rejected"
ORDER_COMPLETED = "order_completed"
VISIT_PLANNED = "visit_planned"
VISIT_MOVED = "visit_moved"
MESSAGE_TO_REPORTER = "fault_message"
MESSAGE_TO_STAFF = "fault_message_staff"

# Staff read the portal in Swedish; a staff language setting would replace this.
STAFF_LANGUAGE: Language = "sv"

# Fixed for ever: changing it would change every Message-ID and queue key.
MAIL_NAMESPACE = UUID("6f0c3f5e-0d5b-4a53-9a43-6b1e2c9d7a10")

# Up to this share of a delay is added at random, so that mails failing together
# (one SMTP outage) do not all retry in the same instant.
JITTER_SHARE = 0.25


@dataclass(frozen=True)
class PlannedMail:
    recipient: str
    template: str
    language: Language


def normalise_address(address: str) -> str:
    """Domains are case-insensitive, local parts formally not: lower only the domain."""
    local, _, domain = address.strip().rpartition("@")
    return f"{local}@{domain.lower()}" if local else address.strip()


def place_of(event: FaultReported) -> UUID:
    """The facility or project a fault is reported on."""
    place = event.facility_id or event.project_id
    assert place is not None  # the event's validator: exactly one of the two is set
    return place


def plan_fault_mails(
    *,
    staff_email: str | None,
    copy_to_our_reference: bool,
    our_reference_email: str | None,
    contact_email: str | None,
    reporter_language: Language,
) -> list[PlannedMail]:
    """Who is told of a new fault report (SPEC §4.7), and in which language."""
    staff, reference = staff_addresses(staff_email, copy_to_our_reference, our_reference_email)
    mails: list[PlannedMail] = []
    if staff:
        mails.append(PlannedMail(staff, STAFF, STAFF_LANGUAGE))
    if reference:
        mails.append(PlannedMail(reference, OUR_REFERENCE, STAFF_LANGUAGE))
    if contact_email:
        mails.append(PlannedMail(normalise_address(contact_email), RECEIPT, reporter_language))
    return mails


def staff_addresses(
    staff_email: str | None, copy_to_our_reference: bool, our_reference_email: str | None
) -> tuple[str | None, str | None]:
    """The fault address, and our reference when the settings copy them and it is another."""
    staff = normalise_address(staff_email) if staff_email else None
    reference = normalise_address(our_reference_email) if our_reference_email else None
    # When our reference is also the fault address, one mail says it all.
    if reference and reference.casefold() == (staff or "").casefold():
        reference = None
    return staff, reference if copy_to_our_reference else None


def plan_message_mails(
    event: FaultMessagePosted,
    *,
    staff_email: str | None,
    copy_to_our_reference: bool,
    our_reference_email: str | None,
    reporter_language: Language,
) -> list[PlannedMail]:
    """Who hears of a message in a fault's conversation: the other side. Staff's internal
    notes reach nobody by mail; a customer's message reaches whoever hears of its reports."""
    if event.internal:
        return []
    if event.author_kind == "staff":
        contact = event.contact.email
        if not contact:
            return []
        reporter = normalise_address(str(contact))
        return [PlannedMail(reporter, MESSAGE_TO_REPORTER, reporter_language)]
    addresses = staff_addresses(staff_email, copy_to_our_reference, our_reference_email)
    return [PlannedMail(a, MESSAGE_TO_STAFF, STAFF_LANGUAGE) for a in addresses if a]


def language_of(preference: str | None) -> Language:
    """The account's language, Swedish when it is unknown or not one the mails are written in."""
    return "en" if preference == "en" else "sv"


def announces_completion(current: OrderStatus, announced: bool) -> bool:
    """Only completion tells the reporter, and only once per order.

    Edits of a completed order (an invoice, a corrected text) carry no news, nor does a
    second completion after the order was reopened.
    """
    return current == "completed" and not announced


def visit_news(event: OrderChanged) -> str | None:
    """The mail a change of an order's planned time is to its reporter: a visit planned, or
    moved. Not a visit cleared, nor one for an order that is done or cancelled, nor one
    whose planned time had passed when it was set (a record of the past, not news)."""
    before = event.previous_planned
    if event.fault_id is None or before is None or event.planned_start is None:
        return None
    if event.status not in ("planned", "started"):
        return None
    if (before.start, before.end) == (event.planned_start, event.planned_end):
        return None
    if (event.planned_end or event.planned_start) < event.changed_at:
        return None
    return VISIT_MOVED if before.start is not None else VISIT_PLANNED


def performed_action_shown(action: str | None, *, hidden_for_account: bool | None) -> str | None:
    """The technician's text unless the account hides it; an unknown account is not told."""
    if hidden_for_account is not False or action is None:
        return None
    return action.strip() or None


def mail_id(cause_event_id: UUID, recipient: str, template: str) -> UUID:
    """The same event, recipient and template always give the same id."""
    return uuid5(MAIL_NAMESPACE, f"{cause_event_id}\n{recipient}\n{template}")


def message_id(mail: UUID) -> str:
    """A Message-ID that stays the same when a mail is sent again after a crash."""
    return f"<{mail}@kundonline>"


def retry_delay(attempts: int, *, base: float, jitter: float, cap: float = 3600.0) -> float:
    """Seconds to wait after the `attempts`-th failure: doubling, capped, plus jitter in [0, 1)."""
    # 2.0, not 2: typeshed cannot tell the sign of an int exponent, so int ** int is Any.
    delay = min(base * 2.0 ** (attempts - 1), cap)
    return delay * (1 + JITTER_SHARE * jitter)


def gives_up(attempts: int, max_attempts: int) -> bool:
    return attempts >= max_attempts


def one_line(text: str) -> str:
    """`text` fit for a mail header: its runs of white space one space, and no control
    character, which a header must not carry raw (a report stored before they were
    refused, or a name from elsewhere, may hold one)."""
    flat = " ".join(text.split())
    return "".join(c for c in flat if unicodedata.category(c) != "Cc")


def headline(text: str, limit: int = 60) -> str:
    """The start of a customer's text on one line, for a subject."""
    flat = one_line(text)
    return flat if len(flat) <= limit else flat[:limit].rstrip() + "…"
