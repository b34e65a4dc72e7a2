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


async def add_photo(
    api: Api, fault_id: str, filename: str, data: bytes, content_type: str | None
) -> None:
    files = {"photo": (filename, data, content_type)}
    await api.send("POST", f"/api/faults/{fault_id}/photos", files=files)


async def queue(api: Api, *, limit: int, cursor: str | None = None) -> Queue:
    """The faults waiting for staff, oldest first, and how many there are."""
    params = query(status="new", limit=limit, cursor=cursor)
    found: Queue = await api.call("GET", "/admin/api/faults", params=params)
    return found


async def create_order(api: Api, fault_id: UUID) -> None:
    await api.send("POST", f"/admin/api/faults/{fault_id}/create-order")


async def reject(api: Api, fault_id: UUID, reason: str) -> None:
    await api.send("POST", f"/admin/api/faults/{fault_id}/reject", json={"reason": reason})
