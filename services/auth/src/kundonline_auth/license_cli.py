"""`kundonline-license`: the vendor's tool to make a key pair and issue signed licenses."""

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from .licensing import MODULE, LicenseTerms, b64, issue, private_key_from


def keygen(private_path: Path, public_path: Path) -> str:
    """Write a new key pair (base64, raw bytes); returns the public key."""
    key = Ed25519PrivateKey.generate()
    private = b64(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))
    public = b64(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    private_path.write_text(private + "\n", encoding="utf-8")
    private_path.chmod(0o600)
    public_path.write_text(public + "\n", encoding="utf-8")
    return public


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kundonline-license", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("keygen", help="make a vendor key pair")
    gen.add_argument("--private", type=Path, required=True)
    gen.add_argument("--public", type=Path, required=True)
    new = commands.add_parser("issue", help="issue a license signed with a private key")
    new.add_argument("--key", type=Path, required=True, help="the private key file")
    new.add_argument("--licensee", required=True)
    new.add_argument("--max-accounts", type=int, required=True)
    new.add_argument("--expires", required=True, help="YYYY-MM-DD")
    new.add_argument("--module", action="append", default=None)
    new.add_argument("--out", type=Path, help="write here instead of standard output")
    args = parser.parse_args(argv)
    if args.command == "keygen":
        print(keygen(args.private, args.public))
        return 0
    terms = LicenseTerms(
        licensee=args.licensee,
        modules=tuple(args.module or [MODULE]),
        max_accounts=args.max_accounts,
        expires=datetime.fromisoformat(args.expires).replace(tzinfo=UTC),
        issued_at=datetime.now(UTC).replace(microsecond=0),
    )
    document = json.dumps(issue(terms, private_key_from(args.key.read_text())), indent=2)
    if args.out:
        args.out.write_text(document + "\n", encoding="utf-8")
    else:
        sys.stdout.write(document + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
