import httpx
import pytest

from kundonline_devstack.licenses import Vendor
from kundonline_devstack.system import System
from tests.helpers import Staff, login


@pytest.fixture(scope="module")
def staff(http: httpx.Client, system: System, vendor: Vendor) -> Staff:
    """A staff login of this module's own, independent of what earlier modules did."""
    c = system.config
    admin = Staff(http, login(http, c.admin_username, c.admin_password, staff=True))
    reply = http.put("/admin/api/license", json=vendor.license(), headers=admin.h)
    assert reply.status_code == 200, reply.text
    return admin
