"""Money, numbers and times as each language writes them; catalogues, templates and plurals."""

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from jinja2 import DictLoader, select_autoescape

from kundonline_common import templating
from kundonline_common.i18n import Catalogues, Localisation, compile_catalogue
from kundonline_common.localtime import zone
from kundonline_contracts import Language

NBSP = "\u00a0"
NOW = datetime(2025, 3, 31, 22, 30, tzinfo=UTC)
PO = r"""msgid ""
msgstr ""
"Language: sv\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\n"
"Content-Type: text/plain; charset=utf-8\n"

msgid "Hello %(name)s"
msgstr "Hej %(name)s"

msgid "%(num)d open fault report"
msgid_plural "%(num)d open fault reports"
msgstr[0] "%(num)d öppen felanmälan"
msgstr[1] "%(num)d öppna felanmälningar"

msgid "%(count)s open fault report"
msgid_plural "%(count)s open fault reports"
msgstr[0] "%(count)s öppen felanmälan"
msgstr[1] "%(count)s öppna felanmälningar"

#, fuzzy
msgid "Order direct"
msgstr "Order dirket"

msgid "Untranslated"
msgstr ""
"""


def l10n(language: Language, time_zone: str = "Europe/Stockholm") -> Localisation:
    return Localisation(language, zone(time_zone))


@pytest.fixture
def catalogues(tmp_path: Path) -> Catalogues:
    po = tmp_path / "sv" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_text(PO, encoding="utf-8")
    return Catalogues(tmp_path)


@pytest.mark.parametrize(
    ("language", "amount", "written"),
    [
        ("sv", "1234.50", f"1{NBSP}234,50{NBSP}kr"),
        ("en", "1234.50", f"SEK{NBSP}1,234.50"),
        ("sv", "-0.5", f"-0,50{NBSP}kr"),
        ("en", "-1234567", f"-SEK{NBSP}1,234,567.00"),
        ("sv", "0", f"0,00{NBSP}kr"),
    ],
)
def test_money_as_each_language_writes_it(language: Language, amount: str, written: str) -> None:
    assert l10n(language).format_money(Decimal(amount)) == written


def test_a_currency_sign_stays_next_to_its_digits() -> None:
    assert l10n("en").format_money(12, "EUR") == "€12.00"
    assert l10n("sv").format_number(Decimal("1234.5")) == f"1{NBSP}234,5"
    assert l10n("en").format_number(Decimal("1234.5")) == "1,234.5"


@pytest.mark.parametrize(
    ("moment", "sv", "en"),
    [
        # Half past eleven at night in Stockholm (summer time), on the last of March.
        (datetime(2025, 3, 31, 21, 30, tzinfo=UTC), "31 mars 2025 23:30", "31 Mar 2025, 23:30"),
        # Half an hour later it is April there, while still March in UTC.
        (datetime(2025, 3, 31, 22, 30, tzinfo=UTC), "1 apr. 2025 00:30", "1 Apr 2025, 00:30"),
        # Just before and after the clocks went forward (01:00 UTC, 30 March).
        (datetime(2025, 3, 30, 0, 59, tzinfo=UTC), "30 mars 2025 01:59", "30 Mar 2025, 01:59"),
        (datetime(2025, 3, 30, 1, 0, tzinfo=UTC), "30 mars 2025 03:00", "30 Mar 2025, 03:00"),
        # The hour that came twice when they went back (26 October).
        (datetime(2025, 10, 26, 0, 30, tzinfo=UTC), "26 okt. 2025 02:30", "26 Oct 2025, 02:30"),
        (datetime(2025, 10, 26, 1, 30, tzinfo=UTC), "26 okt. 2025 02:30", "26 Oct 2025, 02:30"),
    ],
)
def test_times_are_written_in_the_portals_zone(moment: datetime, sv: str, en: str) -> None:
    assert (l10n("sv").format_datetime(moment), l10n("en").format_datetime(moment)) == (sv, en)


def test_another_zone_gives_other_times_and_days() -> None:
    moment = datetime(2025, 3, 31, 22, 30, tzinfo=UTC)
    assert l10n("en", "America/New_York").format_datetime(moment) == "31 Mar 2025, 18:30"
    assert l10n("en", "Asia/Kolkata").format_time(moment) == "04:00"
    assert l10n("sv", "America/New_York").format_date(moment) == "31 mars 2025"
    assert l10n("sv").format_date(moment) == "1 apr. 2025"


def test_dates_months_and_sizes() -> None:
    assert l10n("sv").format_date(date(2025, 4, 1), "long") == "1 april 2025"
    assert l10n("en").format_datetime(datetime(2025, 4, 1, 8, tzinfo=UTC), "short") == (
        "01/04/2025, 10:00"
    )
    assert l10n("sv").format_datetime(datetime(2025, 4, 1, 8, tzinfo=UTC), "short") == (
        "2025-04-01 10:00"
    )
    assert (l10n("sv").format_month("2025-04"), l10n("en").format_month("2025-04")) == (
        "april 2025",
        "April 2025",
    )


def test_a_catalogue_translates_with_plurals_and_leaves_out_fuzzy_and_empty(
    catalogues: Catalogues,
) -> None:
    sv = catalogues.localisation("sv", "Europe/Stockholm")
    assert sv.gettext("Hello %(name)s", name="Eva") == "Hej Eva"
    assert sv.ngettext("%(num)d open fault report", "%(num)d open fault reports", 1) == (
        "1 öppen felanmälan"
    )
    assert sv.ngettext("%(num)d open fault report", "%(num)d open fault reports", 3) == (
        "3 öppna felanmälningar"
    )
    # A fuzzy guess is not shown; the English is, until someone checks it.
    assert sv.gettext("Order direct") == "Order direct"
    assert sv.gettext("Untranslated") == "Untranslated"


def test_english_is_the_source_and_needs_no_catalogue(catalogues: Catalogues) -> None:
    en = catalogues.localisation("en", "Europe/Stockholm")
    assert en.ngettext("%(num)d open fault report", "%(num)d open fault reports", 0) == (
        "0 open fault reports"
    )
    assert en.gettext("Hello %(name)s", name="Eva") == "Hello Eva"


def test_a_missing_catalogue_is_an_error_not_english(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Catalogues(tmp_path).translations("sv")
    with pytest.raises(FileNotFoundError):
        compile_catalogue(tmp_path / "nothing.po", "sv")


TEMPLATES = {
    "page.html": (
        "<p>{% trans name=name %}Hello {{ name }}{% endtrans %}</p>"
        "<p>{% trans count=faults %}{{ count }} open fault report"
        "{% pluralize %}{{ count }} open fault reports{% endtrans %}</p>"
        "<p>{{ value|money }} {{ when|datetime }} {{ when|date('long') }}</p>"
    ),
    "page.txt": "{{ _('Hello %(name)s', name=name) }} {{ ngettext('%(num)d open fault report',"
    " '%(num)d open fault reports', faults) }}",
}


def render(catalogues: Catalogues, template: str, language: Language, /, **context: object) -> str:
    env = templating.environment(
        DictLoader(TEMPLATES), autoescape=select_autoescape(["html"], default=False)
    )
    localisation = catalogues.localisation(language, "Europe/Stockholm")
    return templating.render(env, template, localisation, context)


def test_one_template_for_both_languages_with_plural_forms(catalogues: Catalogues) -> None:
    context = {
        "name": "Eva",
        "value": Decimal("1234.5"),
        "when": datetime(2025, 3, 31, 22, 30, tzinfo=UTC),
    }
    assert render(catalogues, "page.html", "sv", faults=2, **context) == (
        "<p>Hej Eva</p><p>2 öppna felanmälningar</p>"
        f"<p>1{NBSP}234,50{NBSP}kr 1 apr. 2025 00:30 1 april 2025</p>"
    )
    assert render(catalogues, "page.html", "en", faults=1, **context) == (
        "<p>Hello Eva</p><p>1 open fault report</p>"
        f"<p>SEK{NBSP}1,234.50 1 Apr 2025, 00:30 1 April 2025</p>"
    )
    assert render(catalogues, "page.txt", "sv", name="Eva", faults=1) == (
        "Hej Eva 1 öppen felanmälan"
    )


def test_what_a_customer_typed_is_escaped_in_html_inside_a_translation(
    catalogues: Catalogues,
) -> None:
    html = render(catalogues, "page.html", "sv", name="<b>&", faults=1, value=0, when=NOW)
    assert "<p>Hej &lt;b&gt;&amp;</p>" in html
    text = render(catalogues, "page.txt", "sv", name="<b>&", faults=1)
    assert text.startswith("Hej <b>&")


def test_a_template_rendered_without_its_reader_fails_loudly(catalogues: Catalogues) -> None:
    env = templating.environment(DictLoader(TEMPLATES))
    with pytest.raises(Exception, match=r"gettext|localised"):
        env.get_template("page.html").render(name="Eva", faults=1)
