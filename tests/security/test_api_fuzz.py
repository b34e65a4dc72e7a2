"""Schemathesis with its own defaults against the public OpenAPI document: every phase
(coverage, fuzzing, stateful), data that fits the schema and data that does not, never a 5xx,
and every answer as the document says (SPEC §6).

The command-line runner is used rather than one strategy per operation: its coverage phase
sends the edge cases (odd bytes in path segments, boundary values, wrong types) that found
5xx answers a strategy of valid data alone never reached.
"""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kundonline_devstack.system import System
from tests.helpers import Staff, bearer, login

pytestmark = pytest.mark.security

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance"
CHECKS += ",response_schema_conformance"
EXAMPLES = 25
# Fixed, so a failure here reproduces; change it to look elsewhere.
SEED = 1
# Operations that would end the fuzzing caller's own session or login, after which every
# other operation would only see 401. They have tests of their own.
SPARED = {
    "customer": r"/api/auth/logout|/api/me/password",
    "staff": r"/admin/api/auth/logout|/admin/api/staff/\{",
}
# Its own client address: the failed logins it sends must not throttle other tests' logins.
FUZZER_ADDRESS = "192.0.2.77"


@pytest.fixture(scope="module")
def callers(staff: Staff, http: httpx.Client) -> Iterator[dict[str, dict[str, str]]]:
    """A customer with a linked facility and an administrator of its own, for the fuzzer."""
    token = staff.portal_account("Fuzz AB", "Fuzzad anläggning", order_direct=True)["h"]
    admin = {"username": "fuzz-admin", "password": "fuzz-admin-losen-1", "role": "admin"}
    reply = http.post("/admin/api/staff", json={**admin, "name": "Fuzz"}, headers=staff.h)
    assert reply.status_code == 201, reply.text
    staff_token = bearer(login(http, admin["username"], admin["password"], staff=True))
    settings = http.get("/admin/api/settings", headers=staff.h).json()
    yield {"customer": token, "staff": staff_token}
    # The fuzzer may have written any valid settings document; later tests expect these.
    http.put("/admin/api/settings", json=settings, headers=staff.h).raise_for_status()


def schemathesis(
    system: System, who: str, headers: dict[str, str], workdir: Path
) -> subprocess.CompletedProcess[str]:
    prefix = "/admin/api/" if who == "staff" else "/api/"
    command = [
        str(Path(sys.executable).parent / "st"),
        "run",
        f"{system.base_url}/openapi.json",
        *[f"--header={name}: {value}" for name, value in headers.items()],
        f"--header=X-Forwarded-For: {FUZZER_ADDRESS}",
        f"--include-path-regex=^{prefix}",
        f"--exclude-path-regex={SPARED[who]}",
        f"--max-examples={EXAMPLES}",
        f"--seed={SEED}",
        f"--checks={CHECKS}",
        "--workers=2",
        # A loaded 2-core CI machine can take seconds to answer a many-megabyte body; what
        # is checked is the answer, so a slow one is waited for rather than counted an error.
        "--request-timeout=60",
        "--suppress-health-check=all",
        "--generation-database=none",
        "--no-color",
    ]
    # In a folder of its own: the runner leaves a cache folder where it runs.
    return subprocess.run(
        command, capture_output=True, text=True, timeout=900, check=False, cwd=workdir
    )


# Each run takes 1–3 minutes on two quiet cores; the runner's own timeout bounds it below.
@pytest.mark.timeout(960)
@pytest.mark.parametrize("who", ["customer", "staff"])
def test_the_public_api_keeps_its_contract(
    system: System, callers: dict[str, dict[str, str]], who: str, tmp_path: Path
) -> None:
    run = schemathesis(system, who, callers[who], tmp_path)
    summary = _summary(run.stdout)
    assert run.returncode == 0, f"{summary}\n{run.stderr[-2000:]}"
    assert "Authentication failed" not in run.stdout, "the fuzzer's login ended early"
    tested = _tested_operations(run.stdout)
    assert tested > (10 if who == "customer" else 30), "the merged document lacks routes"


def _summary(output: str) -> str:
    """The runner's failures and errors (network errors are listed apart), or its tail."""
    starts = [at for heading in ("=== ERRORS", "=== FAILURES") if (at := output.find(heading)) >= 0]
    return output[min(starts) :] if starts else output[-3000:]


def _tested_operations(output: str) -> int:
    line: Any = next(x for x in output.splitlines() if x.strip().startswith("Tested:"))
    return int(line.split(":")[1])
