from collections.abc import Iterator

import httpx
import pytest

from kundonline_devstack.system import System
from tests.helpers import Staff, login


@pytest.fixture(scope="session")
def http(system: System) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=system.base_url, timeout=15) as client:
        yield client


@pytest.fixture(scope="session")
def staff(http: httpx.Client, system: System) -> Staff:
    c = system.config
    return Staff(http, login(http, c.admin_username, c.admin_password, staff=True))
