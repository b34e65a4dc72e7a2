"""The pages' words: written in English in the code and the templates, read in Swedish (the
default) or English as the visitor chose (the cookie `kundonline_lang`). The Swedish is in the
catalogue under locale/, which `make i18n` keeps up with the sources."""

from pathlib import Path

from kundonline_common.i18n import DEFAULT_LANGUAGE, LANGUAGES, Catalogues, Localisation
from kundonline_contracts import Language

COOKIE = "kundonline_lang"
CATALOGUES = Catalogues(Path(__file__).parent / "locale")


def N_(message: str) -> str:
    """A message marked for the catalogue where it is named, to be translated where it is
    shown (gettext's name for it, which Babel extracts)."""
    return message


def pick(value: str | None) -> Language:
    """The language a cookie names; the default for anything else."""
    return next((language for language in LANGUAGES if language == value), DEFAULT_LANGUAGE)


def localisation(language: Language, time_zone: str) -> Localisation:
    """How a visitor reading `language` is written to, at times in `time_zone`."""
    return CATALOGUES.localisation(language, time_zone)
