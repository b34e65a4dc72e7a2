"""What comes from outside is checked before use: cursors, settings, internal tokens."""

import base64
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import jwt
import pytest
from pydantic import SecretStr, ValidationError

from kundonline_common import tokens
from kundonline_common.errors import Invalid, Unauthorized
from kundonline_common.pagination import decode_cursor, encode_cursor
from kundonline_common.settings import CommonSettings, load_settings
from kundonline_common.tokens import (
    ALGORITHM,
    AUDIENCE,
    ISSUER,
    SYSTEM,
    issue_token,
    verify_token,
)

SECRET = secrets.token_urlsafe(48)


def _cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_a_cursor_round_trips() -> None:
    id_ = uuid.uuid4()
    assert decode_cursor(encode_cursor("Ekbacken", id_)) == ("Ekbacken", id_)


@pytest.mark.parametrize(
    "cursor",
    [
        _cursor(b'["x", 5]'),
        _cursor(b'["x", null]'),
        _cursor(b'[5, "6f1c1c9e-5d0b-4a43-9a67-6a4b1b3f8c11"]'),
        _cursor(b'{"a": 1}'),
        _cursor(b"[1, 2, 3]"),
        _cursor(b'"text"'),
        _cursor(b'["a\\u0000b", "6f1c1c9e-5d0b-4a43-9a67-6a4b1b3f8c11"]'),
        _cursor(b'["\\ud800", "6f1c1c9e-5d0b-4a43-9a67-6a4b1b3f8c11"]'),
        _cursor(b"\xff\xfe"),
        "!!!",
        "é",
        "",
    ],
)
def test_a_cursor_of_any_other_shape_is_invalid(cursor: str) -> None:
    with pytest.raises(Invalid) as refused:
        decode_cursor(cursor)
    assert refused.value.code == "invalid_cursor"


@pytest.mark.parametrize(
    "secret",
    [
        "short",
        "x" * 31,
        "kundonline-development-secret-change-me",
        "kundonline-local-secret-not-for-production",
    ],
)
def test_weak_or_published_internal_secrets_are_refused(secret: str) -> None:
    with pytest.raises(ValidationError):
        CommonSettings(internal_token_secret=SecretStr(secret))


def test_a_service_without_a_secret_refuses_to_start_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("KUNDONLINE_INTERNAL_TOKEN_SECRET", raising=False)
    monkeypatch.chdir("/")  # no .env file to fall back on
    with pytest.raises(SystemExit) as stopped:
        load_settings(CommonSettings)
    assert stopped.value.code == 2
    assert "KUNDONLINE_INTERNAL_TOKEN_SECRET" in capsys.readouterr().err


def test_the_refusal_does_not_repeat_the_secret_given(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KUNDONLINE_INTERNAL_TOKEN_SECRET", "hemligt-men-kort")
    with pytest.raises(SystemExit):
        load_settings(CommonSettings)
    err = capsys.readouterr().err
    assert "KUNDONLINE_INTERNAL_TOKEN_SECRET" in err
    assert "hemligt-men-kort" not in err


def test_an_issued_token_verifies() -> None:
    assert verify_token(issue_token(SYSTEM, SECRET), SECRET) == SYSTEM


@pytest.mark.parametrize("missing", ["exp", "iat", "iss", "aud"])
def test_an_internal_token_lacking_a_required_claim_is_refused(missing: str) -> None:
    now = datetime.now(UTC)
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + timedelta(seconds=60),
        "caller": SYSTEM.model_dump(mode="json"),
    }
    del claims[missing]
    with pytest.raises(Unauthorized):
        verify_token(jwt.encode(claims, SECRET, algorithm=ALGORITHM), SECRET)


def test_a_verified_token_is_not_checked_again_until_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decoded: list[str] = []
    decode = jwt.decode

    def counted(token: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(token)
        return decode(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counted)
    monkeypatch.setattr(tokens, "_verified", {})  # another test may have verified it
    token = issue_token(SYSTEM, SECRET)
    assert verify_token(token, SECRET) == SYSTEM
    assert verify_token(token, SECRET) == SYSTEM
    assert len(decoded) == 1
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    later = SimpleNamespace(time=lambda: expires + 1.0)
    monkeypatch.setattr(tokens, "time", later)
    assert verify_token(token, SECRET) == SYSTEM  # checked by PyJWT again, in real time
    assert len(decoded) == 3


def test_a_token_of_a_retired_secret_is_refused_though_verified_before() -> None:
    new, old = secrets.token_urlsafe(48), secrets.token_urlsafe(48)
    token = issue_token(SYSTEM, old)
    assert verify_token(token, (new, old)) == SYSTEM
    with pytest.raises(Unauthorized):
        verify_token(token, (new,))


def test_during_a_rotation_the_previous_secret_is_still_accepted() -> None:
    new, old = secrets.token_urlsafe(48), secrets.token_urlsafe(48)
    settings = CommonSettings(
        internal_token_secret=SecretStr(new), internal_token_previous_secret=SecretStr(old)
    )
    assert settings.internal_token_secrets == (new, old)
    assert verify_token(issue_token(SYSTEM, old), settings.internal_token_secrets) == SYSTEM
    assert verify_token(issue_token(SYSTEM, new), settings.internal_token_secrets) == SYSTEM
    with pytest.raises(Unauthorized):
        verify_token(issue_token(SYSTEM, SECRET), settings.internal_token_secrets)


def test_a_weak_previous_secret_is_refused_too() -> None:
    with pytest.raises(ValidationError):
        CommonSettings(
            internal_token_secret=SecretStr(SECRET), internal_token_previous_secret=SecretStr("x")
        )
