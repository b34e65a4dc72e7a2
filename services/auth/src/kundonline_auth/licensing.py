"""License files: JSON terms signed with Ed25519 by the vendor's key (SPEC §4.1).

A file is `{"license": {...terms...}, "signature": "<base64>"}`; the signature covers the
canonical JSON of the terms (sorted keys, no spaces), so any change to them breaks it.
"""

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError

MODULE = "kundonline"


class LicenseTerms(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    licensee: str = Field(min_length=1, max_length=200)
    modules: tuple[str, ...]
    max_accounts: int = Field(ge=0)
    expires: datetime
    issued_at: datetime | None = None


class LicenseRejected(ValueError):
    """Why a license file was refused; the message is meant for the staff member."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def canonical(terms: dict[str, Any]) -> bytes:
    return json.dumps(terms, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def public_key_from(text: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text.strip()))


def private_key_from(text: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(text.strip()))


def issue(terms: LicenseTerms, private_key: Ed25519PrivateKey) -> dict[str, Any]:
    """The vendor's side: a signed license document."""
    body = terms.model_dump(mode="json", exclude_none=True)
    return {"license": body, "signature": b64(private_key.sign(canonical(body)))}


def verify(document: Any, public_key: Ed25519PublicKey | None, now: datetime) -> LicenseTerms:
    """The terms of a genuine, current license for KundOnline, or LicenseRejected saying why."""
    if public_key is None:
        raise LicenseRejected(
            "license_key_missing",
            "No trusted license key is configured (KUNDONLINE_LICENSE_PUBLIC_KEY).",
        )
    if not isinstance(document, dict) or not isinstance(document.get("license"), dict):
        raise LicenseRejected("license_malformed", "This is not a KundOnline license file.")
    try:
        signature = base64.b64decode(str(document.get("signature", "")), validate=True)
        public_key.verify(signature, canonical(document["license"]))
    except (InvalidSignature, binascii.Error, ValueError) as exc:
        raise LicenseRejected(
            "license_signature_invalid",
            "The license signature does not match: the file was changed, or it was issued for "
            "another installation.",
        ) from exc
    try:
        terms = LicenseTerms.model_validate(document["license"])
    except ValidationError as exc:
        raise LicenseRejected("license_malformed", "The license terms are incomplete.") from exc
    if terms.expires.astimezone(UTC) <= now:
        raise LicenseRejected(
            "license_expired", f"The license expired on {terms.expires.date().isoformat()}."
        )
    if MODULE not in terms.modules:
        raise LicenseRejected(
            "license_module_missing", "The license does not include the KundOnline module."
        )
    return terms
