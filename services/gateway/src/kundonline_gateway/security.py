"""Security headers on every answer of the gateway, and whether it is served the https way."""

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .addresses import is_https

# No inline script or style anywhere, so the policy can forbid both.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(self), geolocation=(), microphone=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
# A year: browsers that saw the portal over https never try plain http for it again.
HSTS = (b"strict-transport-security", b"max-age=31536000")
# Pages and API answers carry personal data (names, addresses, photos, the feed): no shared
# or private cache may keep them. The style sheets are the same for everyone.
NO_STORE = (b"cache-control", b"no-store")
CACHEABLE = ("/static/",)
# Answers that set no cookie and must not wait on auth: a liveness probe answers alone.
COOKIELESS = ("/static/", "/healthz", "/readyz", "/metrics")


class SecurityHeaders:
    """Decides once per request whether it is served the https way: the portal's public
    address is https, the request came over TLS (or a trusted proxy says so), or the
    `cookie_secure` setting. Then cookies are Secure and __Host- prefixed (sessions.py) and
    answers carry HSTS."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        secure = await _secure(scope)
        scope.setdefault("state", {})["secure"] = secure
        extra = [*HEADERS, HSTS] if secure else HEADERS
        store_none = not scope["path"].startswith(CACHEABLE)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                if store_none:
                    # A service's own caching advice does not hold at the public edge.
                    headers = [(k, v) for k, v in headers if k.lower() != NO_STORE[0]]
                    headers.append(NO_STORE)
                present = {name.lower() for name, _ in headers}
                message["headers"] = [*headers, *((k, v) for k, v in extra if k not in present)]
            await send(message)

        await self.app(scope, receive, with_headers)


async def _secure(scope: Scope) -> bool:
    state = scope["app"].state
    settings = state.settings
    if settings.cookie_secure or is_https(Request(scope), settings.trusted_proxies):
        return True
    if scope["path"].startswith(COOKIELESS):
        return False
    public_url = await state.clients.public_url()
    return bool(public_url and public_url.lower().startswith("https://"))
