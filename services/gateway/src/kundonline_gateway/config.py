import ipaddress

from pydantic import Field, field_validator

from kundonline_common.localtime import DEFAULT_TIME_ZONE
from kundonline_common.settings import CommonSettings
from kundonline_contracts.events import TimeZoneName


class GatewaySettings(CommonSettings):
    port: int = 49148
    """The gateway's port, the only public one."""
    auth_url: str = "http://127.0.0.1:49151"
    """Where the gateway reaches the auth service."""
    faults_url: str = "http://127.0.0.1:49152"
    """Where the gateway reaches the faults service."""
    orders_url: str = "http://127.0.0.1:49153"
    """Where the gateway reaches the orders service."""
    notify_url: str = "http://127.0.0.1:49154"
    """Where the gateway reaches the notify service."""
    # Secure cookies are sent only over TLS; set when the portal is served over https.
    cookie_secure: bool = False
    """Treat every request as https: Secure, `__Host-` cookies and HSTS."""
    service_timeout_seconds: float = 10.0
    """How long the gateway waits for a service's answer."""
    # Requests worked on at once; more are answered 503 with Retry-After at once. What two
    # cores serve (about 100 reports/s) times the latency aimed for (250 ms), with room for
    # bursts. With 100, twice that rate admitted so much that the services thrashed: 57
    # reports/s were answered, against 103 with 25.
    max_requests_in_flight: int = 32
    """Requests worked on at once; more are answered 503 with `Retry-After` at once."""
    # Of those, what one client address may hold: a browser opens at most six connections,
    # and a client that holds more is most likely holding them on purpose.
    max_requests_in_flight_per_client: int = 8
    """Of those, what one client address may hold."""
    # A session resolved at auth is believed this long without asking again; 0 asks every
    # time. Writes to auth through this gateway forget them all at once.
    session_cache_seconds: float = 2.0
    """How long a session resolved at auth is believed without asking again."""
    # A photo (5 MB) and its multipart envelope fit; anything larger is refused unread.
    max_body_bytes: int = 6 * 1024 * 1024
    """The largest request body read; larger is 413."""
    # The request line and headers must be in within this long of the connection's opening, on
    # a kept-alive connection of the next request's first byte (nginx's client_header_timeout;
    # connections.py), or 408 and the connection is closed. A client sends its head in one
    # piece, so 10 s spares slow networks and their retransmissions, while a client trickling
    # it holds a connection no longer than that.
    request_header_timeout_seconds: float = Field(10.0, gt=0)
    """The request line and headers must arrive within this long; otherwise 408. A body its
    answer left unread must follow within this long of the answer, or the connection closes."""
    # The whole body must arrive within this long of the request's start (408 otherwise):
    # a full-sized upload at 1 Mbit/s fits, a client that trickles a byte at a time does not.
    request_body_timeout_seconds: float = 60.0
    """The whole body must arrive within this long; otherwise 408."""
    # Addresses of reverse proxies whose X-Forwarded-For / -Proto headers are believed.
    trusted_proxies: tuple[str, ...] = ()
    """Reverse proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed: a JSON list
    of addresses or networks (`["10.0.0.5", "10.244.0.0/16"]`)."""
    # Only a fallback: pages follow the settings document's `time_zone` as auth tells it, as
    # mails, the calendar and the statistics do; this serves while auth has never answered.
    time_zone: TimeZoneName = DEFAULT_TIME_ZONE
    """The IANA time zone pages show times in (and staff enter planned times in) until auth
    has told the gateway the general settings' `time_zone`, which then rules."""

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses_or_networks(cls, entries: tuple[str, ...]) -> tuple[str, ...]:
        for entry in entries:
            ipaddress.ip_network(entry, strict=False)  # a ValueError names the bad entry
        return entries
