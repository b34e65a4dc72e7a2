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
    # Requests worked on at once; more are answered 503 with Retry-After at once. About
    # what two cores serve in a second: a request admitted never waits much longer.
    max_requests_in_flight: int = 100
    # A session resolved at auth is believed this long without asking again; 0 asks every
    # time. Writes to auth through this gateway forget them all at once.
    session_cache_seconds: float = 2.0
    # A photo (5 MB) and its multipart envelope fit; anything larger is refused unread.
    max_body_bytes: int = 6 * 1024 * 1024
    # Addresses of reverse proxies whose X-Forwarded-For / -Proto headers are believed.
    trusted_proxies: tuple[str, ...] = ()
