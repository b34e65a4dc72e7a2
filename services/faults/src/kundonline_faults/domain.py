"""Pure rules of fault handling."""

from dataclasses import dataclass
from typing import Final

from kundonline_common.tokens import Caller
from kundonline_contracts import AuthorKind

from .schemas import CustomerStatus, NextStep

QUEUED: Final = "new"
ACCEPTED: Final = "accepted"
ORDER_CREATED: Final = "order_created"
REJECTED: Final = "rejected"
DUPLICATE: Final = "duplicate"
# Reports still awaiting handling: the customer sees them as new.
AWAITING: Final = (QUEUED, ACCEPTED)


def customer_status(status: str) -> CustomerStatus:
    """An accepted fault waits for its order; to the customer it is still new."""
    if status == ORDER_CREATED:
        return ORDER_CREATED
    if status == REJECTED:
        return REJECTED
    if status == DUPLICATE:
        return DUPLICATE
    return "new"


def next_step(order_direct: bool) -> NextStep:
    return "order_created" if order_direct else "awaiting_handling"


def in_staff_queue(status: str, order_direct: bool) -> bool:
    """Order direkt reports never wait for staff; the others wait until handled once."""
    return status == QUEUED and not order_direct


CUSTOMER: Final = "customer"
STAFF: Final = "staff"


@dataclass(frozen=True)
class Author:
    """Who writes in a conversation: a portal account, or a staff user."""

    kind: AuthorKind
    id: str
    name: str

    @classmethod
    def of(cls, caller: Caller) -> "Author":
        if caller.is_staff:
            return cls(STAFF, caller.subject, caller.name)
        return cls(CUSTOMER, str(caller.account_id), caller.name)


def unread_by_staff(author_kind: str) -> bool:
    """A customer's message waits for staff to read it; staff's own never do."""
    return author_kind == CUSTOMER


def wrote(author: Author, author_kind: str, author_id: str) -> bool:
    """Only a message's author adds photos to it, as only the reporter adds a report's."""
    return (author.kind, author.id) == (author_kind, author_id)
