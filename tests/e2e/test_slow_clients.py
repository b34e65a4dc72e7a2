"""Bodies and slow clients: one cap on every body (413), a deadline for reading it (408),
and one client address cannot take every place of the gateway (SPEC §6)."""

import socket
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from kundonline_devstack.system import System
from tests.helpers import Staff, eventually

pytestmark = pytest.mark.e2e

SLOW_CLIENTS = 40
PER_CLIENT = 8  # the gateway's default max_requests_in_flight_per_client
MB = 1024 * 1024


@pytest.fixture(scope="module")
def customer(staff: Staff, http: httpx.Client) -> dict[str, str]:
    made = staff.portal_account("Långsam Klient AB", "Pumprum", order_direct=False)
    return {**made["h"], "facility_id": made["facility"]["id"]}


def _slow_request(address: tuple[str, int]) -> socket.socket:
    """A login whose headers promise 100 bytes of body, of which one is sent."""
    conn = socket.create_connection(address, timeout=30)
    head = (
        "POST /api/auth/login HTTP/1.1\r\nHost: portal\r\nContent-Type: application/json\r\n"
        "Content-Length: 100\r\n\r\n{"
    )
    conn.sendall(head.encode())
    return conn


def _status(conn: socket.socket) -> int:
    """The status of the answer, waiting for it (the socket's timeout bounds the wait)."""
    head = b""
    while b"\r\n" not in head:
        chunk = conn.recv(1024)
        if not chunk:
            return 0  # closed without an answer
        head += chunk
    return int(head.split(b" ", 2)[1])


def test_slow_bodies_from_one_address_leave_room_for_others_and_time_out(
    system: System, customer: dict[str, str]
) -> None:
    url = urlsplit(system.base_url)
    address = (url.hostname or "127.0.0.1", url.port or 80)
    slow = [_slow_request(address) for _ in range(SLOW_CLIENTS)]
    try:
        # The gateway is full for this address once a further request from it is refused.
        probe = _slow_request(address)
        assert _status(probe) == 503
        probe.close()

        # Another client, at another address, is served at once.
        elsewhere = httpx.HTTPTransport(local_address="127.0.0.2")
        with httpx.Client(base_url=system.base_url, transport=elsewhere, timeout=10) as other:
            headers = {"Authorization": customer["Authorization"]}
            reply = other.get("/api/faults", headers=headers)
            assert reply.status_code == 200, reply.text

        # The held ones are answered 408 when their deadline passes, the rest were refused.
        statuses = sorted(_status(conn) for conn in slow)
        assert statuses == [408] * PER_CLIENT + [503] * (SLOW_CLIENTS - PER_CLIENT)
    finally:
        for conn in slow:
            conn.close()
    # Their places are free again.
    eventually(lambda: httpx.get(f"{system.base_url}/api/faults").status_code == 401, what="free")


def test_a_body_past_the_cap_is_413_json_declared_or_streamed(
    http: httpx.Client, customer: dict[str, str]
) -> None:
    headers = {"Authorization": customer["Authorization"], "content-type": "application/json"}

    def chunks() -> Any:
        for _ in range(8):
            yield b" " * MB

    for body in (b" " * (7 * MB), chunks()):
        reply = http.post("/api/faults", content=body, headers=headers)
        assert reply.status_code == 413, reply.text
        assert reply.json()["error"] == "request_too_large"


def test_a_page_form_with_too_many_files_is_refused_unread(
    http: httpx.Client, customer: dict[str, str], staff: Staff
) -> None:
    before = http.get("/api/faults", headers={"Authorization": customer["Authorization"]})
    files = [("photos", (f"{i}.png", b"x", "image/png")) for i in range(6)]
    session = {"kundonline_session": customer["Authorization"].split()[1]}
    with httpx.Client(base_url=str(http.base_url), cookies=session) as browser:
        reply = browser.post(
            "/faults/new",
            data={"target": f"facility:{customer['facility_id']}", "description": "Sex bilder"},
            files=files,
        )
    assert reply.status_code == 400, reply.text
    after = http.get("/api/faults", headers={"Authorization": customer["Authorization"]})
    assert after.json() == before.json()


def test_request_heads_that_never_complete_are_answered_408_and_closed(system: System) -> None:
    url = urlsplit(system.base_url)
    address = (url.hostname or "127.0.0.1", url.port or 80)
    # Heads stalled halfway hold no place of the gateway's (it has not met them yet): only the
    # deadline on the head (KUNDONLINE_REQUEST_HEADER_TIMEOUT_SECONDS, 10 s here) ends them.
    stalled = [socket.create_connection(address, timeout=30) for _ in range(SLOW_CLIENTS)]
    try:
        for conn in stalled:
            conn.sendall(b"GET /api/faults HTTP/1.1\r\nHost: portal\r\nX-Half: ")
        assert httpx.get(f"{system.base_url}/api/faults").status_code == 401
        answers = [_answer(conn) for conn in stalled]
    finally:
        for conn in stalled:
            conn.close()
    assert {head.split(b" ", 2)[1] for head, _ in answers} == {b"408"}
    assert {body for _, body in answers} == {answers[0][1]}
    assert b'"error":"request_timeout"' in answers[0][1]


def _answer(conn: socket.socket) -> tuple[bytes, bytes]:
    """The whole answer until the gateway closes the connection: its head and body."""
    received = b""
    while chunk := conn.recv(4096):
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    return head, body
