"""HTTP routes of the notify service, behind the gateway: the delivery log for staff."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request

from kundonline_common.handle import handle
from kundonline_common.tokens import StaffDep

from . import commands
from .schemas import MailStatus, NotificationPublic, NotificationsPublic

Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=500)]
Recipient = Annotated[str | None, Query(max_length=320)]

staff = APIRouter(prefix="/admin/api/notifications", tags=["staff"])


@staff.get("")
async def notifications(
    request: Request,
    _: StaffDep,
    status: MailStatus | None = None,
    recipient: Recipient = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> NotificationsPublic:
    """Outgoing mail newest first, optionally of one status (`failed`) or to one recipient."""
    return await handle(
        request,
        commands.list_notifications,
        status=status,
        recipient=recipient,
        cursor=cursor,
        limit=limit,
    )


@staff.post("/{notification_id}/resend")
async def resend(request: Request, _: StaffDep, notification_id: UUID) -> NotificationPublic:
    """Queue a failed mail again; anything but a failed one gets 409."""
    return await handle(request, commands.resend_notification, notification_id=notification_id)
