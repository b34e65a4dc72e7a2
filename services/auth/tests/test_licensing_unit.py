"""License files: genuine, tampered, expired, foreign-key and module rules."""

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kundonline_auth.licensing import LicenseRejected, LicenseTerms, issue, verify

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def _terms(**kw: object) -> LicenseTerms:
    fields = dict(
        licensee="Kyl & Ventilation AB",
        modules=("kundonline",),
        max_accounts=10,
        expires=NOW + timedelta(days=30),
    )
    return LicenseTerms(**{**fields, **kw})


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def test_a_genuine_license_gives_its_terms(key: Ed25519PrivateKey) -> None:
    terms = verify(issue(_terms(), key), key.public_key(), NOW)
    assert terms.licensee == "Kyl & Ventilation AB" and terms.max_accounts == 10


@pytest.mark.parametrize(
    ("field", "value"), [("max_accounts", 10_000), ("licensee", "Någon annan"), ("modules", [])]
)
def test_any_change_to_the_terms_breaks_the_signature(
    key: Ed25519PrivateKey, field: str, value: object
) -> None:
    document = issue(_terms(), key)
    document["license"][field] = value
    with pytest.raises(LicenseRejected) as refused:
        verify(document, key.public_key(), NOW)
    assert refused.value.code == "license_signature_invalid"


def test_a_license_from_another_key_is_refused(key: Ed25519PrivateKey) -> None:
    foreign = issue(_terms(), Ed25519PrivateKey.generate())
    with pytest.raises(LicenseRejected) as refused:
        verify(foreign, key.public_key(), NOW)
    assert refused.value.code == "license_signature_invalid"


def test_an_expired_license_is_refused(key: Ed25519PrivateKey) -> None:
    document = issue(_terms(expires=NOW - timedelta(seconds=1)), key)
    with pytest.raises(LicenseRejected) as refused:
        verify(document, key.public_key(), NOW)
    assert refused.value.code == "license_expired"


def test_a_license_without_the_module_is_refused(key: Ed25519PrivateKey) -> None:
    with pytest.raises(LicenseRejected) as refused:
        verify(issue(_terms(modules=("service",)), key), key.public_key(), NOW)
    assert refused.value.code == "license_module_missing"


@pytest.mark.parametrize("document", [None, [], {}, {"license": "x"}, {"license": {}}])
def test_garbage_is_refused_clearly(key: Ed25519PrivateKey, document: object) -> None:
    with pytest.raises(LicenseRejected) as refused:
        verify(document, key.public_key(), NOW)
    assert refused.value.code in ("license_malformed", "license_signature_invalid")


def test_without_a_trusted_key_nothing_is_accepted(key: Ed25519PrivateKey) -> None:
    with pytest.raises(LicenseRejected) as refused:
        verify(issue(_terms(), key), None, NOW)
    assert refused.value.code == "license_key_missing"
