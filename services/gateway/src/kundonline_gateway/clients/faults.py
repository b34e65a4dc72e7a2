"""The faults service: the account's own reports, and the staff queue."""

from uuid import UUID

from .base import Api, Json, Listing, query


class Queue(Listing):
    total: int


async def my_faults(api: Api, *, limit: int, cursor: str | None = None) -> Listing:
    return await api.list("/api/faults", limit=limit, cursor=cursor)


async def my_fault(api: Api, fault_id: UUID) -> Json:
    return await api.get(f"/api/faults/{fault_id}")


async def report(api: Api, report: Json, *, request_key: str) -> Json:
    """Report a fault; the same key sent again answers with the same report, made once."""
    headers = {"Idempotency-Key": request_key[:100]}
    return await api.send("POST", "/api/faults", json=report, headers=headers)


async def my_open_faults(api: Api, facility_id: UUID, *, limit: int) -> Listing:
    """The reports on one facility still awaiting handling that the account sees, newest
    first."""
    return await api.list("/api/faults", facility_id=str(facility_id), open="true", limit=limit)


async def add_photo(
    api: Api, fault_id: str, filename: str, data: bytes, content_type: str | None
) -> None:
    files = {"photo": (filename, data, content_type)}
    await api.send("POST", f"/api/faults/{fault_id}/photos", files=files)


async def queue(api: Api, *, limit: int, cursor: str | None = None, unread: bool = False) -> Queue:
    """The faults waiting for staff, oldest first, and how many there are; with `unread`,
    those in any status with customer messages staff have not read."""
    params = query(status=None if unread else "new", unread="true" if unread else None)
    params.update(query(limit=limit, cursor=cursor))
    found: Queue = await api.call("GET", "/admin/api/faults", params=params)
    return found


async def fault(api: Api, fault_id: UUID) -> Json:
    """One fault report with everything staff see."""
    return await api.get(f"/admin/api/faults/{fault_id}")


async def create_order(api: Api, fault_id: UUID) -> None:
    await api.send("POST", f"/admin/api/faults/{fault_id}/create-order")


async def join(api: Api, fault_id: UUID, other_id: UUID) -> None:
    """Join a queued report with another report of the same fault, which it then follows."""
    body = {"fault_id": str(other_id)}
    await api.send("POST", f"/admin/api/faults/{fault_id}/duplicate-of", json=body)


async def reject(api: Api, fault_id: UUID, reason: str) -> None:
    await api.send("POST", f"/admin/api/faults/{fault_id}/reject", json={"reason": reason})


# The conversation on a fault report: the customer's side, then staff's. Newest first.


async def my_messages(api: Api, fault_id: UUID, *, cursor: str | None = None) -> Listing:
    return await api.list(f"/api/faults/{fault_id}/messages", limit=25, cursor=cursor)


async def write(api: Api, fault_id: UUID, body: str) -> Json:
    return await api.send("POST", f"/api/faults/{fault_id}/messages", json={"body": body})


async def add_message_photo(
    api: Api, fault_id: UUID, message_id: str, filename: str, data: bytes, ctype: str | None
) -> None:
    files = {"photo": (filename, data, ctype)}
    await api.send("POST", f"/api/faults/{fault_id}/messages/{message_id}/photos", files=files)


async def messages(api: Api, fault_id: UUID, *, cursor: str | None = None) -> Listing:
    """Staff's view, internal notes included; the first page marks the customer's read."""
    return await api.list(f"/admin/api/faults/{fault_id}/messages", limit=25, cursor=cursor)


async def answer(api: Api, fault_id: UUID, body: str, *, internal: bool) -> Json:
    sent = {"body": body, "internal": internal}
    return await api.send("POST", f"/admin/api/faults/{fault_id}/messages", json=sent)


async def add_staff_message_photo(
    api: Api, fault_id: UUID, message_id: str, filename: str, data: bytes, ctype: str | None
) -> None:
    files = {"photo": (filename, data, ctype)}
    path = f"/admin/api/faults/{fault_id}/messages/{message_id}/photos"
    await api.send("POST", path, files=files)
