"""What staff do with the delivery log; each runs in one unit of work."""

from uuid import UUID

from kundonline_common.errors import Conflict, NotFound
from kundonline_common.tables import utcnow
from kundonline_common.uow import UnitOfWork

from .repository import NotifyRepository
from .schemas import NotificationPublic, NotificationsPublic
from .tables import OutgoingMail

Uow = UnitOfWork[NotifyRepository]


def notification_public(mail: OutgoingMail) -> NotificationPublic:
    return NotificationPublic.model_validate(mail, from_attributes=True)


async def list_notifications(
    *, uow: Uow, status: str | None, recipient: str | None, cursor: str | None, limit: int
) -> NotificationsPublic:
    """Mail newest first, e.g. the failed ones staff may resend."""
    rows, next_cursor = await uow.repo.mail_page(
        status=status, recipient=recipient, cursor=cursor, limit=limit
    )
    return NotificationsPublic(
        items=[notification_public(m) for m in rows], next_cursor=next_cursor
    )


async def resend_notification(*, uow: Uow, notification_id: UUID) -> NotificationPublic:
    """Queue a failed mail again from a clean slate; it keeps its Message-ID."""
    requeued = await uow.repo.requeue_failed(notification_id, utcnow())
    mail = await uow.repo.mail(notification_id)
    if mail is None:
        raise NotFound("No such notification.")
    if not requeued:
        raise Conflict(
            "Only a failed notification can be resent.",
            code="not_failed",
            details={"status": mail.status},
        )
    return notification_public(mail)
