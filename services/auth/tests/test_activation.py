"""Module activation against a real auth database (SQLite, and PostgreSQL for concurrent
creations): what a license allows."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import SecretStr

from kundonline_auth import accounts, activation, sessions
from kundonline_auth.config import AuthSettings
from kundonline_auth.licensing import LicenseTerms, b64, issue
from kundonline_auth.main import MIGRATIONS
from kundonline_auth.repository import AuthRepository
from kundonline_auth.schemas import AccountCreate
from kundonline_auth.tables import KnownCustomer
from kundonline_common.db import Database
from kundonline_common.errors import Conflict, Forbidden, Invalid
from kundonline_common.migrations import upgrade
from kundonline_common.uow import Outbox, UnitOfWorkFactory
from kundonline_contracts import LicenseChanged

KEY = Ed25519PrivateKey.generate()
PUBLIC = b64(KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
LIMITS = AuthSettings().login_limits  # the defaults an installation runs with


def _license(max_accounts: int = 1, licensee: str = "Hiss AB") -> dict[str, Any]:
    terms = LicenseTerms(
        licensee=licensee,
        modules=("kundonline",),
        max_accounts=max_accounts,
        expires=datetime.now(UTC) + timedelta(days=30),
    )
    return issue(terms, KEY)


@pytest.fixture
async def uow(tmp_path: Path) -> AsyncIterator[UnitOfWorkFactory[AuthRepository]]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/auth.db")
    await upgrade(db, MIGRATIONS)
    factory = UnitOfWorkFactory(db, Outbox(source="t", topic_prefix="t."), AuthRepository)
    yield factory
    await db.dispose()


async def _customer(uow: UnitOfWorkFactory[AuthRepository]) -> AccountCreate:
    customer_id = uuid4()
    async with uow() as u:
        u.session.add(KnownCustomer(id=customer_id, name="Kund"))
    return AccountCreate(
        customer_id=customer_id,
        name="K",
        username=f"k{uuid4().hex[:6]}",
        password=SecretStr("ett-bra-losenord"),
    )


async def test_without_a_license_no_account_is_created_and_no_portal_login(
    uow: UnitOfWorkFactory[AuthRepository],
) -> None:
    body = await _customer(uow)
    with pytest.raises(Conflict) as refused:
        async with uow() as u:
            await accounts.create_account(uow=u, body=body)
    assert refused.value.code == "license_required"
    with pytest.raises(Forbidden) as closed:
        await sessions.login(
            uows=uow,
            realm="account",
            username="x",
            password="y",
            address="a",
            limits=LIMITS,
            absolute_hours=1,
            staff_timeout_minutes=30,
        )
    assert closed.value.code == "license_required"


async def test_a_license_opens_the_portal_up_to_max_accounts(
    uow: UnitOfWorkFactory[AuthRepository],
) -> None:
    async with uow() as u:
        installed = await activation.install(uow=u, document=_license(1), public_key=PUBLIC)
        assert [type(e) for e in u.published] == [LicenseChanged]
    assert installed.valid and installed.max_accounts == 1
    first = await _customer(uow)
    async with uow() as u:
        await accounts.create_account(uow=u, body=first)
    opened = await sessions.login(
        uows=uow,
        realm="account",
        username=first.username,
        password="ett-bra-losenord",
        address="a",
        limits=LIMITS,
        absolute_hours=1,
        staff_timeout_minutes=30,
    )
    assert opened is not None
    with pytest.raises(Conflict) as full:
        async with uow() as u:
            await accounts.create_account(uow=u, body=await _customer(uow))
    assert full.value.code == "max_accounts_reached"


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ({**_license(), "signature": b64(b"x" * 64)}, "license_signature_invalid"),
        (
            issue(
                LicenseTerms(
                    licensee="Old",
                    modules=("kundonline",),
                    max_accounts=5,
                    expires=datetime.now(UTC) - timedelta(days=1),
                ),
                KEY,
            ),
            "license_expired",
        ),
        (
            issue(
                LicenseTerms(
                    licensee="Other",
                    modules=("kundonline",),
                    max_accounts=5,
                    expires=datetime.now(UTC) + timedelta(days=1),
                ),
                Ed25519PrivateKey.generate(),
            ),
            "license_signature_invalid",
        ),
    ],
)
async def test_a_refused_license_leaves_the_old_one_in_force(
    uow: UnitOfWorkFactory[AuthRepository], document: dict[str, Any], code: str
) -> None:
    async with uow() as u:
        await activation.install(uow=u, document=_license(3, "Gällande AB"), public_key=PUBLIC)
    with pytest.raises(Invalid) as refused:
        async with uow() as u:
            await activation.install(uow=u, document=document, public_key=PUBLIC)
    assert refused.value.code == code
    async with uow() as u:
        current = await activation.status(uow=u)
    assert current.licensee == "Gällande AB" and current.max_accounts == 3 and current.valid


@pytest.mark.usefixtures("cheap_hashing")
async def test_parallel_creations_stop_exactly_at_max_accounts(
    uows: UnitOfWorkFactory[AuthRepository],
) -> None:
    async with uows() as u:
        await activation.install(uow=u, document=_license(3), public_key=PUBLIC)
    bodies = [await _customer(uows) for _ in range(8)]

    async def create(body: AccountCreate) -> str:
        try:
            async with uows() as u:
                await accounts.create_account(uow=u, body=body)
        except Conflict as refused:
            return refused.code
        return "created"

    outcomes = await asyncio.gather(*[create(b) for b in bodies])
    assert sorted(outcomes) == ["created"] * 3 + ["max_accounts_reached"] * 5
    async with uows() as u:
        assert (await activation.status(uow=u)).accounts_used == 3
