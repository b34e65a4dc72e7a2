"""Words, numbers, money and times in the reader's language (Swedish or English).

Messages are written in English in the code and the templates (the msgids) and translated
through gettext catalogues: `<service>/src/<package>/locale/sv/LC_MESSAGES/messages.po`. English
needs no catalogue. A catalogue is compiled in memory the first time it is used, so there are
no `.mo` files to build, commit or let go stale; `make i18n` extracts and updates the `.po`.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import Decimal
from functools import cached_property
from gettext import NullTranslations
from io import BytesIO
from pathlib import Path
from typing import Any, Literal

from babel import Locale, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from kundonline_contracts import Language

from .localtime import zone

LANGUAGES: tuple[Language, ...] = ("sv", "en")
DEFAULT_LANGUAGE: Language = "sv"
SOURCE_LANGUAGE: Language = "en"
# English as written in Europe: day before month, a 24-hour clock, weeks from Monday.
LOCALES: dict[Language, str] = {"sv": "sv_SE", "en": "en_GB"}
DOMAIN = "messages"
Size = Literal["short", "medium", "long"]


def compile_catalogue(po_file: Path, language: str) -> Translations:
    """A `.po` file as translations; fuzzy and empty entries are left out, as msgfmt does."""
    with po_file.open("rb") as source:
        catalog = read_po(source, locale=language, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


class Catalogues:
    """One service's catalogues, each compiled once, on first use."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._compiled: dict[str, NullTranslations] = {}
        self._localisations: dict[tuple[str, str], Localisation] = {}

    def po_file(self, language: str) -> Path:
        return self.directory / language / "LC_MESSAGES" / f"{DOMAIN}.po"

    def translations(self, language: Language) -> NullTranslations:
        if language not in self._compiled:
            self._compiled[language] = (
                NullTranslations()
                if language == SOURCE_LANGUAGE
                else compile_catalogue(self.po_file(language), language)
            )
        return self._compiled[language]

    def localisation(self, language: Language, time_zone: str) -> "Localisation":
        key = (language, time_zone)
        if key not in self._localisations:
            self._localisations[key] = Localisation(
                language, zone(time_zone), self.translations(language)
            )
        return self._localisations[key]


@dataclass(frozen=True)
class Localisation:
    """How one reader is written to: their language's words and formats, the portal's zone."""

    language: Language
    tz: tzinfo
    translations: NullTranslations = field(default_factory=NullTranslations)

    @cached_property
    def locale(self) -> Locale:
        return Locale.parse(LOCALES[self.language])

    def gettext(self, message: str, **variables: Any) -> str:
        """The translation of `message`, its `%(name)s` filled from `variables`."""
        return self.translations.gettext(message) % variables

    def ngettext(self, singular: str, plural: str, n: int, **variables: Any) -> str:
        """The form for `n` (also `%(num)d` in the text), as the language's plural rule picks."""
        return self.translations.ngettext(singular, plural, n) % {"num": n, **variables}

    def format_money(self, amount: Decimal | int | str, currency: str = "SEK") -> str:
        """`1 234,50 kr` in Swedish, `SEK 1,234.50` in English (the spaces unbreakable)."""
        text = numbers.format_currency(Decimal(amount), currency, locale=self.locale)
        return _space_currency(text)

    def format_number(self, value: Decimal | int | float | str) -> str:
        return numbers.format_decimal(Decimal(str(value)), locale=self.locale)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

    def format_datetime(self, moment: datetime, size: Size = "medium") -> str:
        """The local date (as long as `size` says) and the time to the minute."""
        moment = self.local(moment)
        # How the locale joins a date and a time, its quoted literals unquoted, as Babel does.
        pattern = str(self.locale.datetime_formats[size]).replace("'", "")
        day = dates.format_date(moment, size, locale=self.locale)
        clock = dates.format_time(moment, "short", locale=self.locale)
        return pattern.replace("{0}", clock).replace("{1}", day)

    def format_date(self, value: date | datetime, size: Size = "medium") -> str:
        """A day; a moment as the local day it falls on."""
        day = self.local(value).date() if isinstance(value, datetime) else value
        return dates.format_date(day, size, locale=self.locale)

    def format_time(self, moment: datetime) -> str:
        return dates.format_time(self.local(moment), "short", locale=self.locale)

    def format_month(self, month: date | str) -> str:
        """`mars 2025` / `March 2025`, of a day or a `YYYY-MM` label."""
        day = date.fromisoformat(f"{month}-01") if isinstance(month, str) else month
        return dates.format_skeleton("yMMMM", day, locale=self.locale)


def _space_currency(text: str) -> str:
    """CLDR's currency spacing, which Babel does not apply: a currency written in letters
    (`SEK`) is kept apart from the digits by a no-break space; a sign such as `€` is not."""
    out = []
    for i, char in enumerate(text):
        before = text[i - 1] if i else ""
        if (before.isalpha() and char.isdigit()) or (before.isdigit() and char.isalpha()):
            out.append("\u00a0")
        out.append(char)
    return "".join(out)
