"""A vendor key pair and licenses for local runs and tests (the real vendor keeps its key)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from kundonline_auth.license_cli import keygen
from kundonline_auth.licensing import MODULE, LicenseTerms, issue, private_key_from


@dataclass(frozen=True)
class Vendor:
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> str:
        raw = self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return base64.b64encode(raw).decode()

    def license(
        self,
        *,
        licensee: str = "Demo Service AB",
        max_accounts: int = 1000,
        days: int = 365,
        modules: tuple[str, ...] = (MODULE,),
    ) -> dict[str, Any]:
        terms = LicenseTerms(
            licensee=licensee,
            modules=modules,
            max_accounts=max_accounts,
            expires=datetime.now(UTC) + timedelta(days=days),
        )
        return issue(terms, self.private_key)

    @classmethod
    def generate(cls) -> Vendor:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def kept_in(cls, folder: Path) -> Vendor:
        """The demo vendor key of `make run`, made on the first run and kept after."""
        private = folder / "demo-vendor.key"
        if not private.exists():
            folder.mkdir(parents=True, exist_ok=True)
            keygen(private, folder / "demo-vendor.pub")
        return cls(private_key_from(private.read_text()))
