"""The signed link in a completion mail that lets its reporter rate the order without logging in.

The token names the order, the reporter's account and when it expires, and carries an
HMAC-SHA256 of them under `KUNDONLINE_RATING_LINK_SECRET`: notify signs it, orders checks
it before a rating is kept. It is the only credential of the rating page, so whoever holds
the mail may rate; one rating per order makes it single-use. The score chosen in the mail
is not signed: it only preselects the form's choice.
"""

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from uuid import UUID

from pydantic import SecretStr

# Mixed into what is signed, so that a token of another kind, ever signed with the same
# secret by mistake, is never taken for a rating link.
PURPOSE = b"kundonline/rating-link/v1|"
MIN_SECRET_BYTES = 32
MAX_TOKEN_LENGTH = 200

Refusal = Literal["malformed", "forged", "expired", "wrong_order"]


class InvalidRatingLink(ValueError):
    """Why a link is refused; the page says as much, never more."""

    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason)
        self.reason: Refusal = reason


@dataclass(frozen=True)
class RatingLink:
    order_id: UUID
    account_id: UUID
    expires_at: datetime


def checked_secret(secret: SecretStr | None) -> SecretStr | None:
    """A settings validator's check: empty is unset; a short secret is refused."""
    if secret is None or not secret.get_secret_value():
        return None
    if len(secret.get_secret_value().encode()) < MIN_SECRET_BYTES:
        raise ValueError(f"KUNDONLINE_RATING_LINK_SECRET must be at least {MIN_SECRET_BYTES} bytes")
    return secret


def _signature(secret: str, payload: str) -> str:
    digest = hmac.new(secret.encode(), PURPOSE + payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def issue(secret: str, link: RatingLink) -> str:
    """`<order>.<account>.<expiry, Unix seconds>.<signature>`: short enough for a mail."""
    payload = f"{link.order_id.hex}.{link.account_id.hex}.{int(link.expires_at.timestamp())}"
    return f"{payload}.{_signature(secret, payload)}"


def read(secret: str, token: str, *, order_id: UUID, now: datetime | None = None) -> RatingLink:
    """The link `token` stands for, if this secret signed it for `order_id` and it has not
    expired; InvalidRatingLink otherwise."""
    parts = token.split(".") if len(token) <= MAX_TOKEN_LENGTH else []
    if len(parts) != 4:
        raise InvalidRatingLink("malformed")
    payload, sent = ".".join(parts[:3]), parts[3]
    # Compared before anything in the payload is believed, in constant time.
    if not hmac.compare_digest(_signature(secret, payload).encode(), sent.encode()):
        raise InvalidRatingLink("forged")
    try:
        link = RatingLink(
            UUID(hex=parts[0]), UUID(hex=parts[1]), datetime.fromtimestamp(int(parts[2]), UTC)
        )
    except (ValueError, OverflowError, OSError) as exc:
        raise InvalidRatingLink("malformed") from exc
    if link.order_id != order_id:
        raise InvalidRatingLink("wrong_order")
    if (now or datetime.now(UTC)) >= link.expires_at:
        raise InvalidRatingLink("expired")
    return link
