"""The photo of a multipart upload, read with limits: the body is counted as it arrives and
refused past its size, so nothing larger is ever parsed or spooled."""

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.types import Message, Receive

from kundonline_common.errors import DomainError, Invalid

from .images import PhotoTooLarge

FIELD = "photo"
# Room for the multipart boundary and part headers around the file itself.
ENVELOPE_BYTES = 16 * 1024
# The form as FastAPI would describe an UploadFile parameter. That parameter is not used: its
# parsing spools the whole body first, and FastAPI's own body limit is fixed at import, before
# the settings are read.
OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FIELD],
                    "properties": {
                        FIELD: {
                            "type": "string",
                            "contentMediaType": "application/octet-stream",
                            "description": "A JPEG or PNG image.",
                        }
                    },
                }
            }
        },
    }
}


class BadUpload(DomainError):
    code = "invalid_upload"


async def read_photo(request: Request, *, max_bytes: int) -> bytes:
    """The bytes of the form's only part, the file `photo`; 413 past `max_bytes`."""
    cap = max_bytes + ENVELOPE_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise _too_large(max_bytes)  # before a byte of the body is read
    counted = Request(request.scope, _counted(request.receive, cap, max_bytes))
    try:
        form = await counted.form(max_files=1, max_fields=0, max_part_size=1024)
    except HTTPException as exc:  # Starlette's answer to malformed or too many parts
        raise BadUpload(f"The upload is not a valid form: {exc.detail}") from exc
    try:
        upload = form.get(FIELD)
        if not isinstance(upload, UploadFile):
            raise Invalid(
                f"Send the photo as the multipart file `{FIELD}`.", code="invalid_request"
            )
        data = await upload.read(max_bytes + 1)
    finally:
        await form.close()
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    return data


def _counted(receive: Receive, cap: int, max_bytes: int) -> Receive:
    """`receive` that refuses the body once more than `cap` bytes of it have come, whatever
    Content-Length said (it may be absent, or wrong)."""
    seen = 0

    async def receive_counted() -> Message:
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > cap:
            raise _too_large(max_bytes)
        return message

    return receive_counted


def _too_large(max_bytes: int) -> PhotoTooLarge:
    return PhotoTooLarge(
        f"A photo may be at most {max_bytes / (1024 * 1024):g} MB.",
        details={"max_bytes": max_bytes},
    )
