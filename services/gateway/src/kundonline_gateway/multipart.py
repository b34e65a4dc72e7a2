"""multipart/form-data bodies of files, as the gateway passes a visitor's photos on."""

import mimetypes
import os
import re
from collections.abc import Mapping

# (file name, its bytes, its content type or None to guess from the name)
FileField = tuple[str, bytes, str | None]

# As browsers write names in a form's Content-Disposition (the HTML standard's
# multipart/form-data encoding): a quote and control characters percent-encoded, so that no
# name can end its parameter or its header line; a backslash escaped.
_UNSAFE = re.compile(r'["\x00-\x1f\x7f]')


def _quoted(value: str) -> str:
    escaped = value.replace("\\", "\\\\")
    return '"' + _UNSAFE.sub(lambda m: f"%{ord(m[0]):02X}", escaped) + '"'


def multipart(files: Mapping[str, FileField]) -> tuple[bytes, str]:
    """The body and its Content-Type header."""
    boundary = os.urandom(16).hex()
    parts: list[bytes] = []
    for field, (filename, data, content_type) in files.items():
        kind = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        head = (
            f"--{boundary}\r\n"
            f"Content-Disposition: form-data; name={_quoted(field)}; "
            f"filename={_quoted(filename)}\r\n"
            f"Content-Type: {_UNSAFE.sub('', kind)}\r\n\r\n"
        )
        parts += [head.encode(), data, b"\r\n"]
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
