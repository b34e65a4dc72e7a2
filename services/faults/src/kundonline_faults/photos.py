"""Photos of a fault and of its messages: JPEG or PNG by their content, limited in size and
number, kept only as re-encoded pixels, seen only by those who may see the fault and the
message (SPEC §4.4)."""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, partial
from uuid import UUID

from kundonline_common.errors import Conflict, NotFound
from kundonline_common.uow import UnitOfWork

from .budget import MemoryBudget, give_back_freed_pictures
from .commands import get_customer_fault
from .config import FaultsSettings
from .images import Encoded, reencode
from .repository import FaultsRepository
from .schemas import PhotoInfo
from .tables import Fault, FaultPhoto

Uow = UnitOfWork[FaultsRepository]

# Pictures decoded at once, beside the event loop: each takes a core for up to a second, and
# more at once would buy no speed on two cores. Their memory is bounded apart from their
# number: a 12-million-pixel phone photo takes about 115 MiB to decode, a hostile PNG of 40
# million pixels (100 KB of file) could take 400 MB, and two threads of those were 800.
# Threads start at the first upload, not at import.
_DECODERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="photo-decoder")


@cache
def _memory(total: int) -> MemoryBudget:
    """The budget every decode of this process shares (one per configured size), made at the
    first upload."""
    give_back_freed_pictures()
    return MemoryBudget(total)


@dataclass(frozen=True)
class PhotoLimits:
    max_bytes: int
    max_pixels: int
    max_side: int
    per_fault: int
    decode_memory_bytes: int

    @classmethod
    def of(cls, settings: FaultsSettings) -> "PhotoLimits":
        return cls(
            max_bytes=settings.photo_max_bytes,
            max_pixels=settings.photo_max_pixels,
            max_side=settings.photo_max_side,
            per_fault=settings.photos_per_fault,
            decode_memory_bytes=settings.photo_decode_memory_bytes,
        )


async def add_photo(
    *, uow: Uow, account_id: UUID, fault_id: UUID, data: bytes, limits: PhotoLimits
) -> PhotoInfo:
    """The reporter attaches a photo; only its re-encoded pixels are kept."""
    # Decoded before the database is touched: an upload waiting for a decoder then holds
    # no connection of the pool.
    photo = await reencoded(data, limits)
    fault = await get_customer_fault(uow=uow, account_id=account_id, fault_id=fault_id)
    if fault.account_id != account_id:
        raise NotFound("No such fault report.")  # only the reporter adds photos
    if not await uow.repo.take_photo_place(Fault, fault_id, limits.per_fault):
        raise too_many(limits, "A fault report")
    return keep(uow, fault_id, photo)


async def reencoded(data: bytes, limits: PhotoLimits) -> Encoded:
    """The upload as it is kept (images.reencode), decoded beside the event loop."""
    memory = _memory(limits.decode_memory_bytes)
    work = partial(
        reencode, data, max_pixels=limits.max_pixels, max_side=limits.max_side, memory=memory
    )
    return await asyncio.get_running_loop().run_in_executor(_DECODERS, work)


def too_many(limits: PhotoLimits, holder: str) -> Conflict:
    return Conflict(f"{holder} has at most {limits.per_fault} photos.", code="too_many_photos")


def keep(uow: Uow, fault_id: UUID, photo: Encoded, message_id: UUID | None = None) -> PhotoInfo:
    """Store a re-encoded photo of the fault, or of one of its messages."""
    row = FaultPhoto(
        fault_id=fault_id,
        message_id=message_id,
        content_type=photo.content_type,
        size=len(photo.data),
        data=photo.data,
    )
    uow.repo.add_photo(row)
    return PhotoInfo.model_validate(row, from_attributes=True)


async def photo_for_customer(
    *, uow: Uow, account_id: UUID, fault_id: UUID, photo_id: UUID
) -> FaultPhoto:
    await get_customer_fault(uow=uow, account_id=account_id, fault_id=fault_id)
    photo = await photo_of(uow=uow, fault_id=fault_id, photo_id=photo_id)
    if photo.message_id is not None:
        message = await uow.repo.message(fault_id, photo.message_id)
        if message is None or message.internal:
            raise NotFound("No such photo.")  # a staff note's photo is the staff's too
    return photo


async def photo_of(*, uow: Uow, fault_id: UUID, photo_id: UUID) -> FaultPhoto:
    photo = await uow.session.get(FaultPhoto, photo_id)
    if photo is None or photo.fault_id != fault_id:
        raise NotFound("No such photo.")
    return photo
