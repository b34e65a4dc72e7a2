from kundonline_common.settings import CommonSettings


class GatewaySettings(CommonSettings):
    port: int = 49148
    auth_url: str = "http://127.0.0.1:49151"
    faults_url: str = "http://127.0.0.1:49152"
    orders_url: str = "http://127.0.0.1:49153"
    notify_url: str = "http://127.0.0.1:49154"
    # Secure cookies are sent only over TLS; set when the portal is served over https.
    cookie_secure: bool = False
    service_timeout_seconds: float = 10.0
    # Requests worked on at once; more are answered 503 with Retry-After at once. What two
    # cores serve (about 100 reports/s) times the latency aimed for (250 ms), with room for
    # bursts. With 100, twice that rate admitted so much that the services thrashed: 57
    # reports/s were answered, against 103 with 25.
    max_requests_in_flight: int = 32
    # Of those, what one client address may hold: a browser opens at most six connections,
    # and a client that holds more is most likely holding them on purpose.
    max_requests_in_flight_per_client: int = 8
    # A session resolved at auth is believed this long without asking again; 0 asks every
    # time. Writes to auth through this gateway forget them all at once.
    session_cache_seconds: float = 2.0
    # A photo (5 MB) and its multipart envelope fit; anything larger is refused unread.
    max_body_bytes: int = 6 * 1024 * 1024
    # The whole body must arrive within this long of the request's start (408 otherwise):
    # a full-sized upload at 1 Mbit/s fits, a client that trickles a byte at a time does not.
    request_body_timeout_seconds: float = 60.0
    # Addresses of reverse proxies whose X-Forwarded-For / -Proto headers are believed.
    trusted_proxies: tuple[str, ...] = ()
