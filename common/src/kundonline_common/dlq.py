"""`kundonline-dlq list|show|replay|dismiss`: the operator's command for dead letters.

    kundonline-dlq list [--done] [--topic faults] [--consumer orders]
    kundonline-dlq show faults.dlq:0:12
    kundonline-dlq replay faults.dlq:0:12 … | --all [--topic …] [--consumer …]
    kundonline-dlq dismiss faults.dlq:0:13 … | --all [--topic …] [--consumer …]

Kafka is reached with the services' own KUNDONLINE_* settings (deadletters.py does the work).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence

from pydantic import SecretStr

from .deadletters import (
    CLIENT_ID,
    DeadLetter,
    UnknownRef,
    dlq_names,
    find,
    mark_done,
    read_dead_letters,
    replay,
)
from .kafka import KafkaConnection
from .logs import configure_logging
from .settings import CommonSettings, load_settings


class DlqSettings(CommonSettings):
    """The services' own settings, so the command reaches Kafka as they do, with the same
    checks; it signs no internal token, so it runs without the secret."""

    internal_token_secret: SecretStr | None = None  # type: ignore[assignment]  # not needed here
    """Not used by this command."""


def _one_line(text: str, width: int = 100) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else f"{line[: width - 1]}…"


def _indented(text: str) -> str:
    return text.replace("\n", "\n    ")


def listing(letters: Sequence[DeadLetter]) -> list[str]:
    rows = [("REF", "STATE", "DEAD-LETTERED (UTC)", "CONSUMER", "ATTEMPTS", "EVENT", "ERROR")]
    for letter in letters:
        h = letter.headers
        rows.append(
            (
                letter.ref,
                "done" if letter.done else "waiting",
                letter.dead_lettered_at.strftime("%Y-%m-%d %H:%M:%S"),
                h.get("kundonline-consumer", "?"),
                h.get("kundonline-attempts", "?"),
                letter.event_type,
                _one_line(
                    f"{h.get('kundonline-error-type', '?')}: {h.get('kundonline-error', '')}"
                ),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]])
        for row in rows
    ]


def showing(letter: DeadLetter) -> list[str]:
    record = letter.record
    lines = [
        f"{letter.ref} ({'done' if letter.done else 'waiting'})",
        f"dead-lettered  {letter.dead_lettered_at.isoformat(timespec='milliseconds')}",
        f"key            {(record.key or b'').decode(errors='replace')}",
        "headers",
        *(f"  {name}: {_indented(value)}" for name, value in letter.headers.items()),
        "value",
    ]
    try:
        value = json.dumps(json.loads(record.value or b""), indent=2, ensure_ascii=False)
    except ValueError:
        value = repr(record.value)
    return [*lines, *(f"  {line}" for line in value.splitlines())]


async def chosen(args: argparse.Namespace, kafka: KafkaConnection, prefix: str) -> list[DeadLetter]:
    """The records REFs name, or with --all every one waiting that the filters keep."""
    if bool(args.refs) == bool(args.all):
        raise UnknownRef("name the records (REF …) or give --all, one or the other")
    if args.refs:
        return await find(kafka, prefix, args.refs)
    letters = await read_dead_letters(kafka, prefix, dlq_names(prefix, args.topic or ()))
    return [letter for letter in letters if _kept(letter, args)]


def _kept(letter: DeadLetter, args: argparse.Namespace) -> bool:
    return args.consumer is None or letter.headers.get("kundonline-consumer") == args.consumer


async def run(args: argparse.Namespace, settings: DlqSettings) -> int:
    kafka, prefix = KafkaConnection.from_settings(settings), settings.topic_prefix
    if args.command == "list":
        dlqs = dlq_names(prefix, args.topic or ())
        letters = await read_dead_letters(kafka, prefix, dlqs, done_too=args.done)
        letters = [letter for letter in letters if _kept(letter, args)]
        if letters:
            print("\n".join(listing(letters)))
            print(f"{sum(not letter.done for letter in letters)} waiting")
        else:
            print("no dead letters" if args.done else "no dead letters waiting")
    elif args.command == "show":
        [letter] = await find(kafka, prefix, [args.ref])
        print("\n".join(showing(letter)))
    elif args.command == "replay":
        letters = await chosen(args, kafka, prefix)
        print("\n".join(await replay(kafka, prefix, letters)) or "nothing to put back")
    else:
        letters = await chosen(args, kafka, prefix)
        await mark_done(kafka, letters)
        print("\n".join(f"{letter.ref}: dismissed" for letter in letters) or "nothing dismissed")
    return 0


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(
        prog="kundonline-dlq",
        description="Dead letters: list them, show one, put them back once the cause is fixed, "
        "or dismiss them. REF is a record as list names it, e.g. faults.dlq:0:12. Kafka is "
        "reached with the services' KUNDONLINE_* settings.",
    )
    commands = main_parser.add_subparsers(dest="command", required=True)
    listed = commands.add_parser("list", help="the dead letters waiting, with their errors")
    listed.add_argument("--done", action="store_true", help="also those replayed or dismissed")
    show = commands.add_parser("show", help="one dead letter: its headers, key and value")
    show.add_argument("ref")
    for name, what in (("replay", "put back on their topics"), ("dismiss", "drop, unreplayed")):
        command = commands.add_parser(name, help=f"dead letters to {what}, as dealt with")
        command.add_argument("refs", nargs="*", metavar="REF")
        command.add_argument("--all", action="store_true", help="every one waiting")
    for command in (listed, commands.choices["replay"], commands.choices["dismiss"]):
        command.add_argument(
            "--topic", action="append", help="only this topic's DLQ (faults, orders, …)"
        )
        command.add_argument("--consumer", help="only those this service gave up on")
    return main_parser


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = load_settings(DlqSettings)
    configure_logging("WARNING", CLIENT_ID, "text")
    try:
        return asyncio.run(run(args, settings))
    except UnknownRef as exc:
        print(f"kundonline-dlq: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
