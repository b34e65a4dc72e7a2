"""The `kundonline` command: which port a service listens on, and which one a healthcheck asks."""

import pytest

from kundonline_common.cli import PORTS, ServeSettings, listen_port, parser, served_here


def test_every_service_is_a_command() -> None:
    for service in ("auth", "faults", "orders", "notify", "gateway"):
        assert parser().parse_args([service]).command == service


def test_the_gateway_listens_on_its_setting_and_the_others_on_their_own_ports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KUNDONLINE_PORT", "8443")
    settings = ServeSettings()
    assert listen_port("gateway", settings) == 8443
    # KUNDONLINE_PORT is the gateway's: the services behind it keep theirs.
    assert listen_port("auth", settings) == PORTS["auth"] == 49151
    assert listen_port("notify", settings, port=9000) == 9000


def test_the_healthcheck_finds_the_service_beside_it() -> None:
    lines = [
        ["/bin/sh"],
        ["/opt/kundonline/bin/python", "/opt/kundonline/bin/kundonline", "healthcheck"],
        ["/opt/kundonline/bin/python", "/opt/kundonline/bin/kundonline", "orders", "--port", "7"],
    ]
    found = served_here(iter(lines))
    assert found is not None
    assert (found.command, found.port) == ("orders", 7)


def test_no_service_no_health() -> None:
    assert served_here(iter([["/bin/sh"], ["kundonline", "healthcheck"]])) is None


def test_an_empty_certificate_setting_means_plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUNDONLINE_SSL_CERTFILE", "")
    assert ServeSettings().ssl_certfile is None
