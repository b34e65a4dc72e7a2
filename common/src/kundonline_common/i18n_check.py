"""Are a service's catalogues complete? Every message its sources hold (extracted as `make i18n`
extracts them, by the service's `babel.cfg`) must have a translation in each language's
catalogue, with the same placeholders, each plural form, and no fuzzy mark.

`python -m kundonline_common.i18n_check services/notify ...` lists what is missing (exit 1).
"""

import sys
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from .i18n import DOMAIN, LANGUAGES, SOURCE_LANGUAGE, Catalogues


def extract(root: Path) -> Catalog:
    """The messages of the sources under `root` (a service's folder, with its babel.cfg)."""
    with (root / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config, str(root / "babel.cfg"))
    catalog = Catalog(domain=DOMAIN)
    for filename, lineno, message, comments, context in extract_from_dir(
        root, method_map, options_map
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def locale_directories(root: Path) -> list[Path]:
    return sorted(root.glob("src/*/locale"))


def problems(root: Path) -> list[str]:
    """What keeps the catalogues under `root` from translating every message; empty if none."""
    sources = [m for m in extract(root) if m.id]
    directories = locale_directories(root)
    if sources and not directories:
        return [f"{root}: messages but no src/<package>/locale"]
    found: list[str] = []
    for directory in directories:
        for language in LANGUAGES:
            if language != SOURCE_LANGUAGE:
                found += _problems_of(Catalogues(directory).po_file(language), language, sources)
    return found


def _problems_of(po_file: Path, language: str, sources: list[Message]) -> list[str]:
    if not po_file.exists():
        return [f"{po_file}: no catalogue; run make i18n"]
    with po_file.open("rb") as source:
        catalog = read_po(source, locale=language, domain=DOMAIN)
    found = [f"{po_file}: {_text(m)}: {e}" for m, errors in catalog.check() for e in errors]
    if catalog.fuzzy:
        found.append(f"{po_file}: the header is marked fuzzy")
    for wanted in sources:
        entry = catalog.get(wanted.id, wanted.context)
        if entry is None:
            found.append(f"{po_file}: {_text(wanted)}: not in the catalogue; run make i18n")
        elif entry.fuzzy:
            found.append(f"{po_file}: {_text(wanted)}: marked fuzzy; check it, then drop the mark")
        elif not _translated(entry, catalog.num_plurals if wanted.pluralizable else 1):
            found.append(f"{po_file}: {_text(wanted)}: not translated")
    return found


def _translated(entry: Message, forms: int) -> bool:
    strings = entry.string if isinstance(entry.string, tuple | list) else (entry.string,)
    return len(strings) == forms and all(strings)


def _text(message: Message) -> str:
    return repr(message.id[0] if isinstance(message.id, tuple | list) else message.id)


def main(argv: list[str] | None = None) -> int:
    found = [p for root in (argv or sys.argv[1:]) for p in problems(Path(root))]
    print("\n".join(found) or "Every message is translated.")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
