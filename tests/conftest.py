from collections.abc import Iterator

import httpx
import pytest

from kundonline_devstack.licenses import Vendor
from kundonline_devstack.system import System
from tests.helpers import Staff, login


@pytest.fixture(scope="session")
def http(system: System) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=system.base_url, timeout=15) as client:
        yield client


@pytest.fixture(scope="session")
def staff(http: httpx.Client, system: System, vendor: Vendor) -> Staff:
    """The bootstrap administrator, with a license installed as staff would."""
    c = system.config
    admin = Staff(http, login(http, c.admin_username, c.admin_password, staff=True))
    reply = http.put("/admin/api/license", json=vendor.license(), headers=admin.h)
    assert reply.status_code == 200, reply.text
    return admin
