"""Property-based requests from the public OpenAPI document: never a 5xx, and every answer
matches what the document says (SPEC §6)."""

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from kundonline_devstack.system import System
from tests.helpers import Staff, bearer, eventually, login

pytestmark = pytest.mark.security


@pytest.fixture(scope="module")
def api(system: System) -> Any:
    return schemathesis.openapi.from_url(f"{system.base_url}/openapi.json")


@pytest.fixture(scope="module")
def credentials(staff: Staff, http: httpx.Client) -> dict[str, dict[str, str]]:
    customer = staff.customer("Fuzz AB")
    facility = staff.facility(customer["id"], "Fuzzad anläggning")
    account = staff.account(customer["id"], order_direct=True)
    staff.link(account["id"], [facility["id"]])
    token = bearer(login(http, account["username"], account["password"]))
    eventually(
        lambda: http.get("/api/facilities", headers=token).json()["items"], what="link known"
    )
    return {"staff": staff.h, "customer": token}


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def fuzzer(operation: Any, base_url: str, headers: dict[str, str]) -> Any:
    """A Hypothesis test of one operation, sending what its schema allows and more."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=10,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def exercise(case: Any) -> None:
        case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)

    return exercise


def test_the_public_api_keeps_its_contract(
    api: Any, system: System, credentials: dict[str, dict[str, str]]
) -> None:
    failures: list[str] = []
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) > 40, "the merged document lacks the services' routes"
    for operation in operations:
        who = "staff" if operation.path.startswith("/admin/") else "customer"
        try:
            fuzzer(operation, system.base_url, credentials[who])()
        except Exception as exc:  # every operation's failure, not just the first
            failures.append(f"{operation.label}: {str(exc)[:800]}")
    assert failures == [], "\n\n".join(failures)
