"""The gateway's short-lived internal token, and its verification in every service."""

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


def verify_token(token: str, secrets: str | Sequence[str]) -> Caller:
    """The caller a token names, if one of `secrets` signed it: during a rotation the
    services accept the secret being replaced beside the new one."""
    for secret in [secrets] if isinstance(secrets, str) else secrets:
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
            return Caller.model_validate(claims["caller"])
        except jwt.InvalidSignatureError:
            continue
        except (jwt.PyJWTError, KeyError, ValueError) as exc:
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
