"""The gateway's short-lived internal token, and its verification in every service."""

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

import jwt
from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict

from .errors import Forbidden, Unauthorized

ALGORITHM = "HS256"
ISSUER = "kundonline/gateway"
AUDIENCE = "kundonline/services"
HEADER = "X-Kundonline-Internal-Token"

Role = Literal["admin", "handler", "account", "system"]
STAFF_ROLES = frozenset({"admin", "handler"})


class Caller(BaseModel):
    """Who the gateway says is calling: a staff member, a portal account, or the system."""

    model_config = ConfigDict(frozen=True)

    subject: str
    role: Role
    name: str = ""
    customer_id: UUID | None = None
    flags: dict[str, bool] = {}

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def account_id(self) -> UUID:
        if self.role != "account":
            raise Forbidden("Only a portal account may do this.")
        return UUID(self.subject)


def issue_token(caller: Caller, secret: str, ttl_seconds: int = 60) -> str:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + timedelta(seconds=ttl_seconds),
        "caller": caller.model_dump(mode="json"),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


# Tokens verified already, until they expire: the gateway sends one token per caller for
# up to 30 s, and checking its signature again (PyJWT) was a fortieth of the faults
# service's CPU per report. Keyed by the secrets too, so that a secret retired from the
# configuration stops counting at once.
_verified: dict[tuple[str, tuple[str, ...]], tuple[float, Caller]] = {}
MAX_VERIFIED = 10_000


def verify_token(token: str, secrets: str | Sequence[str]) -> Caller:
    """The caller a token names, if one of `secrets` signed it: during a rotation the
    services accept the secret being replaced beside the new one."""
    accepted = (secrets,) if isinstance(secrets, str) else tuple(secrets)
    known = _verified.get((token, accepted))
    if known is not None and time.time() < known[0]:
        return known[1]
    expires, caller = _verify(token, accepted)
    if len(_verified) >= MAX_VERIFIED:
        del _verified[next(iter(_verified))]  # the oldest: dicts keep order
    _verified[token, accepted] = (expires, caller)
    return caller


def _verify(token: str, secrets: tuple[str, ...]) -> tuple[float, Caller]:
    for secret in secrets:
        try:
            claims = jwt.decode(
                token,
                secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                # A token without an expiry would be good for ever once seen.
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
            return float(claims["exp"]), Caller.model_validate(claims["caller"])
        except jwt.InvalidSignatureError:
            continue
        except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
            raise Unauthorized("Missing or invalid internal token.") from exc
    raise Unauthorized("Missing or invalid internal token.")


# The dependencies are coroutines: FastAPI would run plain functions on a worker thread,
# and the hand-over cost more than checking the token.
async def current_caller(request: Request) -> Caller:
    token = request.headers.get(HEADER)
    if not token:
        raise Unauthorized("Missing or invalid internal token.")
    return verify_token(token, request.app.state.internal_token_secret)


async def require_staff(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    if not caller.is_staff:
        raise Forbidden("Staff only.")
    return caller


async def require_admin(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    if caller.role != "admin":
        raise Forbidden("Administrators only.")
    return caller


async def require_account(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    if caller.role != "account":
        raise Forbidden("Portal accounts only.")
    return caller


async def require_system(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    """The gateway itself, e.g. while logging someone in."""
    if caller.role != "system":
        raise Forbidden("Internal only.")
    return caller


SYSTEM = Caller(subject="gateway", role="system", name="gateway")

CallerDep = Annotated[Caller, Depends(current_caller)]
StaffDep = Annotated[Caller, Depends(require_staff)]
AdminDep = Annotated[Caller, Depends(require_admin)]
AccountDep = Annotated[Caller, Depends(require_account)]
SystemDep = Annotated[Caller, Depends(require_system)]
