"""Who is at the other end of a request, looking through trusted reverse proxies only."""

import ipaddress
from functools import cache, lru_cache

from fastapi import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@cache
def _networks(trusted_proxies: tuple[str, ...]) -> tuple[Network, ...]:
    # An entry is an address or a network: behind a Kubernetes ingress the controller's
    # pods change addresses within the cluster's pod network.
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in trusted_proxies)


# Asked for every request (the in-flight bound counts by client address), and parsing the
# address each time was a twentieth of the gateway's CPU per forwarded report.
@lru_cache(maxsize=4096)
def _trusted(address: str, trusted_proxies: tuple[str, ...]) -> bool:
    if not trusted_proxies:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False  # not an address at all: never a proxy of ours
    return any(ip in network for network in _networks(trusted_proxies))


def _peer(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def client_address(request: Request, trusted_proxies: tuple[str, ...]) -> str:
    """The nearest address not a trusted proxy: anything further left could be forged."""
    peer = _peer(request)
    if not _trusted(peer, trusted_proxies):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted_proxies):
            return hop
    return peer


def is_https(request: Request, trusted_proxies: tuple[str, ...]) -> bool:
    if request.scope.get("scheme") == "https":
        return True
    forwarded = request.headers.get("x-forwarded-proto", "")
    https = forwarded.split(",")[0].strip() == "https"
    return https and _trusted(_peer(request), trusted_proxies)
