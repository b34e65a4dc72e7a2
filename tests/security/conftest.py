import httpx
import pytest

from kundonline_devstack.system import System
from tests.helpers import Staff, login


@pytest.fixture(scope="module")
def staff(http: httpx.Client, system: System) -> Staff:
    """A staff login of this module's own, independent of what earlier modules did."""
    c = system.config
    return Staff(http, login(http, c.admin_username, c.admin_password, staff=True))
