"""Client addresses and https through trusted reverse proxies, addresses or networks."""

import pytest
from pydantic import ValidationError
from starlette.requests import Request

from kundonline_gateway.addresses import client_address, is_https
from kundonline_gateway.config import GatewaySettings


def request(peer: str, forwarded_for: str = "", proto: str = "") -> Request:
    headers = [(b"x-forwarded-for", forwarded_for.encode()), (b"x-forwarded-proto", proto.encode())]
    scope = {
        "type": "http",
        "headers": headers,
        "client": (peer, 1234),
        "scheme": "http",
        "path": "/",
        "query_string": b"",
        "server": ("portal", 80),
    }
    return Request(scope)


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded", "seen"),
    [
        ((), "203.0.113.9", "198.51.100.1", "203.0.113.9"),
        (("10.0.0.5",), "10.0.0.5", "198.51.100.1", "198.51.100.1"),
        (("10.244.0.0/16",), "10.244.3.17", "198.51.100.1", "198.51.100.1"),
        (("10.244.0.0/16",), "10.245.0.1", "198.51.100.1", "10.245.0.1"),
        # The nearest untrusted hop counts: the client cannot choose one further left.
        (("10.244.0.0/16",), "10.244.3.17", "6.6.6.6, 198.51.100.1, 10.244.9.9", "198.51.100.1"),
        (("10.244.0.0/16",), "10.244.3.17", "not-an-address", "not-an-address"),
        (("fd00::/8",), "fd00::5", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_the_client_is_the_nearest_address_not_a_trusted_proxy(
    trusted: tuple[str, ...], peer: str, forwarded: str, seen: str
) -> None:
    assert client_address(request(peer, forwarded), trusted) == seen


def test_https_is_believed_only_from_a_trusted_proxy() -> None:
    assert is_https(request("10.244.3.17", proto="https"), ("10.244.0.0/16",))
    assert not is_https(request("203.0.113.9", proto="https"), ("10.244.0.0/16",))


def test_a_malformed_proxy_entry_is_refused_at_start() -> None:
    with pytest.raises(ValidationError):
        GatewaySettings(trusted_proxies=("10.0.0.300",))
