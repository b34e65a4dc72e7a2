"""Photos of a fault: JPEG or PNG by their content, size-limited, seen only by those who
may see the fault (SPEC §4.4)."""

import asyncio
import io
from uuid import UUID

from PIL import Image, UnidentifiedImageError
from sqlalchemy import func, select

from kundonline_common.errors import Conflict, DomainError, Invalid, NotFound
from kundonline_common.uow import UnitOfWork

from .commands import get_customer_fault
from .repository import FaultsRepository
from .schemas import PhotoInfo
from .tables import FaultPhoto

Uow = UnitOfWork[FaultsRepository]

FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}


class TooLarge(DomainError):
    status_code = 413
    code = "photo_too_large"


def _sniff(data: bytes) -> str:
    """The image's real type from its bytes, whatever name or header it came with."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise Invalid("The photo must be a JPEG or PNG image.", code="invalid_photo") from exc
    if kind not in FORMATS:
        raise Invalid("The photo must be a JPEG or PNG image.", code="invalid_photo")
    return FORMATS[kind]


async def add_photo(
    *, uow: Uow, account_id: UUID, fault_id: UUID, data: bytes, max_bytes: int, limit: int
) -> PhotoInfo:
    fault = await get_customer_fault(uow=uow, account_id=account_id, fault_id=fault_id)
    if fault.account_id != account_id:
        raise NotFound("No such fault report.")  # only the reporter adds photos
    if len(data) > max_bytes:
        raise TooLarge(f"A photo may be at most {max_bytes // (1024 * 1024)} MB.")
    content_type = await asyncio.to_thread(_sniff, data)
    count = await uow.session.scalar(
        select(func.count()).select_from(FaultPhoto).where(FaultPhoto.fault_id == fault_id)
    )
    if (count or 0) >= limit:
        raise Conflict(f"A fault report has at most {limit} photos.", code="too_many_photos")
    photo = FaultPhoto(fault_id=fault_id, content_type=content_type, size=len(data), data=data)
    uow.session.add(photo)
    return PhotoInfo.model_validate(photo, from_attributes=True)


async def photo_for_customer(
    *, uow: Uow, account_id: UUID, fault_id: UUID, photo_id: UUID
) -> FaultPhoto:
    await get_customer_fault(uow=uow, account_id=account_id, fault_id=fault_id)
    return await photo_of(uow=uow, fault_id=fault_id, photo_id=photo_id)


async def photo_of(*, uow: Uow, fault_id: UUID, photo_id: UUID) -> FaultPhoto:
    photo = await uow.session.get(FaultPhoto, photo_id)
    if photo is None or photo.fault_id != fault_id:
        raise NotFound("No such photo.")
    return photo
