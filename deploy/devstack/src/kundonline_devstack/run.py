"""`make run`: Kafka, an SMTP sink, the five services and demo data, in the foreground.

Where KUNDONLINE_KAFKA_BOOTSTRAP_SERVERS or KUNDONLINE_SMTP_HOST is set, that server is used
instead of starting one. Ctrl-C (or SIGTERM) stops everything, at any moment. One run at a
time per data directory (`.run/`); a service that dies is reported and started again.
KUNDONLINE_RUN_FREE_PORTS=1 puts Kafka, the SMTP sink and the four internal services on free
ports instead of 9092, 1025 and 49151-49154, so that a test can run a copy beside someone's
`make run` (the gateway's is KUNDONLINE_PORT).
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import sys
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from kundonline_devstack.demo import DemoLogin, SeedFailed, seed
from kundonline_devstack.kafka import LocalKafka
from kundonline_devstack.licenses import Vendor
from kundonline_devstack.lifetime import AlreadyRunning, StopSignals, hold_lock
from kundonline_devstack.ports import free_port
from kundonline_devstack.smtp_sink import SmtpSink
from kundonline_devstack.supervisor import Broker, Child, Service, Supervisor
from kundonline_devstack.system import BACKENDS, DEFAULT_PORTS, SERVICES, System, SystemConfig

RUN_DIR = Path(".run")
MIN_SECRET_LENGTH = 32


@dataclass(frozen=True)
class Ports:
    kafka: int
    smtp: int
    services: dict[str, int]

    @classmethod
    def from_env(cls) -> Ports:
        gateway = int(os.environ.get("KUNDONLINE_PORT", DEFAULT_PORTS["gateway"]))
        if os.environ.get("KUNDONLINE_RUN_FREE_PORTS"):
            # The gateway's port is free until the gateway binds it, after Kafka's start.
            backends = {s: free_port(avoid={gateway}) for s in BACKENDS}
            kafka, smtp = free_port(avoid={gateway}), free_port(avoid={gateway})
            return cls(kafka, smtp, {**backends, "gateway": gateway})
        return cls(9092, 1025, {**DEFAULT_PORTS, "gateway": gateway})


def internal_token_secret(run_dir: Path) -> str:
    """The environment's, else this data directory's own, made on its first start.

    A secret that is in the repository would let anyone who reaches a service port sign
    themselves an administrator's token.
    """
    return kept_secret(run_dir, "KUNDONLINE_INTERNAL_TOKEN_SECRET", "secret")


def rating_link_secret(run_dir: Path) -> str:
    """The secret of the completion mails' rating links, kept as the internal one is: links
    in mails sent before a restart still work after it."""
    return kept_secret(run_dir, "KUNDONLINE_RATING_LINK_SECRET", "rating-secret")


def kept_secret(run_dir: Path, variable: str, filename: str) -> str:
    """`variable` from the environment, else the one kept in `run_dir/filename`, made there
    (readable by its owner only) on the first start."""
    given = os.environ.get(variable)
    if given:
        return given
    path = run_dir / filename
    with contextlib.suppress(FileNotFoundError):
        kept = path.read_text().strip()
        if len(kept) >= MIN_SECRET_LENGTH:
            path.chmod(0o600)
            return kept
    made = secrets.token_urlsafe(48)
    run_dir.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f"{filename}.new")
    draft.unlink(missing_ok=True)
    with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
        file.write(f"{made}\n")
    draft.replace(path)  # whole or not at all, should this run die while writing it
    return made


def _kafka(stack: contextlib.ExitStack, port: int) -> tuple[str, Child | None]:
    given = os.environ.get("KUNDONLINE_KAFKA_BOOTSTRAP_SERVERS")
    if given:
        return given, None
    print(f"Starting Kafka on 127.0.0.1:{port} (the first start downloads it from Maven Central)…")
    broker = LocalKafka(port=port, data_dir=(RUN_DIR / "kafka").resolve())
    stack.callback(broker.stop)
    broker.start()
    return broker.bootstrap_servers, Broker(broker)


def _smtp(stack: contextlib.ExitStack, port: int) -> tuple[str, int, Path | None]:
    host = os.environ.get("KUNDONLINE_SMTP_HOST")
    if host:
        return host, int(os.environ.get("KUNDONLINE_SMTP_PORT", "25")), None
    mail_dir = (RUN_DIR / "mail").resolve()
    sink = SmtpSink(port=port, mail_dir=mail_dir, on_message=_announce)
    try:
        sink.start()
    except OSError as exc:
        raise RuntimeError(f"the SMTP sink cannot listen on 127.0.0.1:{port}: {exc}") from exc
    stack.callback(sink.stop)
    return "127.0.0.1", port, mail_dir


def _announce(message: EmailMessage, path: Path) -> None:
    print(f"  mail to {message['To']}: {message['Subject']} -> {path}")


def _demo(system: System, secret: str, vendor: Vendor | None) -> list[DemoLogin]:
    demo_license = vendor.license(max_accounts=50) if vendor else None
    urls = {s: system.url_of(s) for s in BACKENDS}
    try:
        return seed(urls, secret, demo_license)
    except SeedFailed as exc:
        print(f"\nThe demo data could not be set up: {exc}\nKundOnline runs without it.")
        return []


def _run(stack: contextlib.ExitStack) -> None:
    try:
        stack.enter_context(hold_lock(RUN_DIR / "lock"))
    except AlreadyRunning as exc:
        who = f"(pid {exc.holder}) " if exc.holder else ""
        raise AlreadyRunning(
            f"another `make run` {who}is using {RUN_DIR.resolve()}; stop it first, "
            "or run this one in another directory"
        ) from None
    ports = Ports.from_env()
    admin = os.environ.get("KUNDONLINE_ADMIN_USERNAME", "admin")
    password = os.environ.get("KUNDONLINE_ADMIN_PASSWORD", "admin-losenord-1")
    secret = internal_token_secret(RUN_DIR)
    # A demo vendor key, so the demo is licensed the way a real installation is, unless a
    # real vendor key is configured (then install a real license under /admin).
    vendor = (
        None
        if os.environ.get("KUNDONLINE_LICENSE_PUBLIC_KEY")
        else Vendor.kept_in(RUN_DIR / "license")
    )
    bootstrap, broker = _kafka(stack, ports.kafka)
    smtp_host, smtp_port, mail_dir = _smtp(stack, ports.smtp)
    config = SystemConfig(
        kafka_bootstrap_servers=bootstrap,
        smtp_host=smtp_host,
        smtp_port=smtp_port,
        database_urls={},
        admin_username=admin,
        admin_password=password,
        internal_token_secret=secret,
        rating_link_secret=rating_link_secret(RUN_DIR),
        ports=ports.services,
        extra_env={
            # The logs in .run/logs/ are read by a person: plain lines unless asked for JSON.
            "KUNDONLINE_LOG_FORMAT": os.environ.get("KUNDONLINE_LOG_FORMAT", "text"),
            **({"KUNDONLINE_LICENSE_PUBLIC_KEY": vendor.public_key} if vendor else {}),
        },
    )
    system = System(config, (RUN_DIR / "logs").resolve())
    print("Starting the five services…")
    stack.callback(system.stop)
    system.start()
    logins = _demo(system, secret, vendor)
    print(f"\nKundOnline is running at {system.base_url}\n")
    print(f"  staff:     {admin} / {password}")
    for login in logins:
        print(f"  customer:  {login.username} / {login.password}   ({login.what})")
    if mail_dir:
        print(f"\n  Mail sent by KundOnline is kept in {mail_dir} (one .eml file each).")
    print(f"  Service logs are in {system.log_dir.resolve()}.\n\nPress Ctrl-C to stop.")
    children: list[Child] = [Service(system, s) for s in SERVICES]
    supervisor = Supervisor([*children, *([broker] if broker else [])])
    while True:
        time.sleep(1)
        supervisor.check()


def main() -> int:
    # Line by line even into a pipe, so that what the supervisor and the signals write
    # (the latter straight to the file descriptor) keeps its order.
    if isinstance(sys.stdout, io.TextIOWrapper):  # not when a test has replaced it
        sys.stdout.reconfigure(line_buffering=True)
    signals = StopSignals()
    signals.install()
    try:
        with contextlib.ExitStack() as stack:
            try:
                _run(stack)
            finally:
                signals.stopping()  # the clean-ups must not be cut short by a second Ctrl-C
    except KeyboardInterrupt:
        print("Stopped.")
        return 0
    except AlreadyRunning as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 1
    except (RuntimeError, OSError) as exc:
        print(f"\nmake run stopped: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
