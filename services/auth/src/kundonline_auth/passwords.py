"""Password hashing (argon2id) and the password policy."""

import asyncio
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from kundonline_common.errors import Invalid

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


@cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown, so both failures cost the same time."""
    return _hasher.hash("kundonline-no-such-user")


MIN_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return (
            _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def check_policy(password: str, username: str) -> None:
    """At least 10 characters and not the username (SPEC §4.2)."""
    if len(password) < MIN_LENGTH:
        raise Invalid(
            f"The password must be at least {MIN_LENGTH} characters.", code="weak_password"
        )
    if password.strip().lower() == username.strip().lower():
        raise Invalid("The password must not be the username.", code="weak_password")


async def hashed(password: str) -> str:
    """hash_password off the event loop: argon2id takes a fifth of a second on purpose."""
    return await asyncio.to_thread(hash_password, password)


async def matches(password_hash: str | None, password: str) -> bool:
    """verify_password off the event loop, so other requests go on meanwhile."""
    return await asyncio.to_thread(verify_password, password_hash, password)
