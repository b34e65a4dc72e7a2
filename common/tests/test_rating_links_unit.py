"""The signed rating link: what it names, and every way a link is refused."""

import base64
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from pydantic import SecretStr

from kundonline_common import rating_links
from kundonline_common.rating_links import InvalidRatingLink, RatingLink

SECRET = "s" * 40
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def link(**changes: object) -> RatingLink:
    fields: dict[str, object] = {
        "order_id": uuid4(),
        "account_id": uuid4(),
        "expires_at": NOW + timedelta(days=30),
    }
    return RatingLink(**{**fields, **changes})  # type: ignore[arg-type]


def refusal(token: str, made: RatingLink, *, now: datetime = NOW, secret: str = SECRET) -> str:
    with pytest.raises(InvalidRatingLink) as refused:
        rating_links.read(secret, token, order_id=made.order_id, now=now)
    return refused.value.reason


def test_a_link_reads_back_as_the_order_and_account_it_was_signed_for() -> None:
    made = link()
    token = rating_links.issue(SECRET, made)
    assert rating_links.read(SECRET, token, order_id=made.order_id, now=NOW) == made
    assert len(token) < 150 and token.isascii()


def test_a_link_is_good_until_its_expiry_and_not_from_then() -> None:
    made = link(expires_at=NOW + timedelta(seconds=1))
    token = rating_links.issue(SECRET, made)
    assert rating_links.read(SECRET, token, order_id=made.order_id, now=NOW)
    assert refusal(token, made, now=NOW + timedelta(seconds=1)) == "expired"


def test_a_link_for_another_order_is_refused() -> None:
    made = link()
    token = rating_links.issue(SECRET, made)
    with pytest.raises(InvalidRatingLink) as refused:
        rating_links.read(SECRET, token, order_id=uuid4(), now=NOW)
    assert refused.value.reason == "wrong_order"


def test_a_changed_account_expiry_or_order_breaks_the_signature() -> None:
    made = link()
    token = rating_links.issue(SECRET, made)
    order, account, expiry, signature = token.split(".")
    later = str(int(expiry) + 3600)
    other = uuid4().hex
    first = "B" if signature[0] == "A" else "A"
    for forged in (
        f"{order}.{other}.{expiry}.{signature}",
        f"{order}.{account}.{later}.{signature}",
        f"{other}.{account}.{expiry}.{signature}",
        f"{order}.{account}.{expiry}.{first}{signature[1:]}",
    ):
        assert refusal(forged, made) == "forged"


def test_a_signature_spelt_another_way_for_the_same_bytes_is_forged() -> None:
    # The last of 43 base64 characters carries 4 bits of the digest and 2 spare ones: a
    # link whose spare bits were changed decodes to the same digest and is still refused,
    # so one mail's link has exactly one spelling.
    made = link()
    token = rating_links.issue(SECRET, made)
    payload, signature = token.rsplit(".", 1)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(signature[-1])
    respelt = f"{signature[:-1]}{alphabet[last ^ 1]}"
    assert base64.urlsafe_b64decode(respelt + "=") == base64.urlsafe_b64decode(signature + "=")
    assert refusal(f"{payload}.{respelt}", made) == "forged"


def test_a_link_signed_with_another_secret_is_forged() -> None:
    made = link()
    assert refusal(rating_links.issue("t" * 40, made), made) == "forged"


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "a.b.c.d.e", "x" * 500, "ä.ö.å.€"])
def test_anything_else_is_malformed_or_forged_never_an_error(token: str) -> None:
    assert refusal(token, link()) in ("malformed", "forged")


def test_a_signed_payload_that_is_not_ids_is_malformed() -> None:
    payload = "nothex.nothex.12"
    token = f"{payload}.{rating_links._signature(SECRET, payload)}"
    assert refusal(token, link()) == "malformed"


def test_a_short_secret_is_refused_and_an_empty_one_is_unset() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        rating_links.checked_secret(SecretStr("short"))
    assert rating_links.checked_secret(SecretStr("")) is None
    assert rating_links.checked_secret(SecretStr(SECRET)) is not None
