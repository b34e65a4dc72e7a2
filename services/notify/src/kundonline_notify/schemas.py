"""Reply bodies of the notify service's staff routes; a queue row is never returned raw."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel

from kundonline_common.pagination import Page

MailStatus = Literal["queued", "sent", "failed"]


class NotificationPublic(BaseModel):
    """One mail as staff see it in the delivery log."""

    id: UUID
    cause_event_id: UUID
    recipient: str
    template: str
    subject: str
    status: MailStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class NotificationsPublic(Page[NotificationPublic]):
    pass
