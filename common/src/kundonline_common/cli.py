"""`kundonline <service>`: one of the five services in the foreground, as the image runs it.

`kundonline healthcheck` asks the service running beside it (in the same container) for
/healthz: the image's HEALTHCHECK, which needs no curl.
"""

from __future__ import annotations

import argparse
import ssl
import sys
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICES = ("auth", "faults", "orders", "notify", "gateway")
# The internal services' ports: what the gateway's KUNDONLINE_<SERVICE>_URL defaults name.
PORTS = {"auth": 49151, "faults": 49152, "orders": 49153, "notify": 49154}
ANY_ADDRESS = ("0.0.0.0", "::", "")


def http_protocol(service: str) -> str:
    """uvicorn's `http` of `service`. The gateway's is uvicorn's own with a deadline on each
    request's line and headers (KUNDONLINE_REQUEST_HEADER_TIMEOUT_SECONDS); the services
    behind it are not public."""
    return "kundonline_gateway.connections:HttpProtocol" if service == "gateway" else "auto"


class ServeSettings(BaseSettings):
    """Where `kundonline <service>` listens; everything else each service's own settings read."""

    model_config = SettingsConfigDict(
        env_prefix="KUNDONLINE_",
        env_file=".env",
        extra="ignore",
        use_attribute_docstrings=True,
    )

    host: str = "127.0.0.1"
    """Address `kundonline <service>` listens on; the image sets `0.0.0.0`."""
    # The gateway's own setting, read here too; the internal services keep PORTS.
    port: int = 49148
    """The gateway's port (the services behind it listen on 49151–49154)."""
    # Only the gateway: the services behind it are called over plain http.
    ssl_certfile: Path | None = None
    """PEM certificate (with its chain) the gateway serves https with; unset: plain http."""
    ssl_keyfile: Path | None = None
    """PEM key of `KUNDONLINE_SSL_CERTFILE`."""

    @field_validator("ssl_certfile", "ssl_keyfile", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value


def listen_port(service: str, settings: ServeSettings, port: int | None = None) -> int:
    if port is not None:
        return port
    return settings.port if service == "gateway" else PORTS[service]


def serve(service: str, host: str | None, port: int | None) -> None:
    import uvicorn  # only when serving: the healthcheck should start fast

    settings = ServeSettings()
    tls = service == "gateway" and bool(settings.ssl_certfile)
    uvicorn.run(
        f"kundonline_{service}.main:create_app",
        factory=True,
        http=http_protocol(service),
        host=host or settings.host,
        port=listen_port(service, settings, port),
        # Which forwarded headers to believe is the gateway's decision
        # (KUNDONLINE_TRUSTED_PROXIES); uvicorn would believe any from 127.0.0.1.
        proxy_headers=False,
        # Requests are counted in the metrics; an access log would only repeat customers' paths.
        access_log=False,
        timeout_graceful_shutdown=10,
        ssl_certfile=settings.ssl_certfile if tls else None,
        ssl_keyfile=settings.ssl_keyfile if tls else None,
    )


def _command_lines() -> Iterator[list[str]]:
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            raw = cmdline.read_bytes()
        except OSError:
            continue  # ended meanwhile
        yield [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def served_here(command_lines: Iterator[list[str]]) -> argparse.Namespace | None:
    """The arguments of the `kundonline <service>` process among these command lines."""
    for argv in command_lines:
        for i, arg in enumerate(argv[:-1]):
            if Path(arg).name == "kundonline" and argv[i + 1] in SERVICES:
                return parser().parse_args(argv[i + 1 :])
    return None


def healthcheck(service: str | None) -> int:
    found = served_here(_command_lines())
    if found is None or (service and found.command != service):
        print(f"no {service or 'kundonline'} service runs here", file=sys.stderr)
        return 1
    settings = ServeSettings()
    host = found.host or settings.host
    host = "127.0.0.1" if host in ANY_ADDRESS else host
    port = listen_port(found.command, settings, found.port)
    tls = found.command == "gateway" and settings.ssl_certfile is not None
    url = f"{'https' if tls else 'http'}://{host}:{port}/healthz"
    # Its own certificate names the public host, not 127.0.0.1; here only liveness counts.
    context = ssl._create_unverified_context() if tls else None  # noqa: S323
    try:
        with urllib.request.urlopen(url, timeout=5, context=context) as reply:  # noqa: S310
            return 0 if reply.status == 200 else 1
    except OSError as exc:
        print(f"{url}: {exc}", file=sys.stderr)
        return 1


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(prog="kundonline", description=__doc__)
    commands = main_parser.add_subparsers(dest="command", required=True)
    for service in SERVICES:
        run = commands.add_parser(service, help=f"run the {service} service in the foreground")
        run.add_argument("--host", help="address to listen on (KUNDONLINE_HOST)")
        default = "KUNDONLINE_PORT, 49148" if service == "gateway" else PORTS[service]
        run.add_argument("--port", type=int, help=f"port to listen on ({default})")
    check = commands.add_parser("healthcheck", help="exit 0 when the service here is alive")
    check.add_argument("service", nargs="?", choices=SERVICES)
    return main_parser


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "healthcheck":
        return healthcheck(args.service)
    serve(args.command, args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
