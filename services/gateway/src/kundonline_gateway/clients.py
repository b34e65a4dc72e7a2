"""Who is at the other end of a request, looking through trusted reverse proxies only."""

from fastapi import Request


def _peer(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def client_address(request: Request, trusted_proxies: tuple[str, ...]) -> str:
    """The nearest address not a trusted proxy: anything further left could be forged."""
    peer = _peer(request)
    if peer not in trusted_proxies:
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted_proxies:
            return hop
    return peer


def is_https(request: Request, trusted_proxies: tuple[str, ...]) -> bool:
    if request.url.scheme == "https":
        return True
    forwarded = request.headers.get("x-forwarded-proto", "")
    return _peer(request) in trusted_proxies and forwarded.split(",")[0].strip() == "https"
