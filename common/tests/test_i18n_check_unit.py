"""The catalogue check finds every message the sources hold that a catalogue does not translate."""

from pathlib import Path

import pytest

from kundonline_common import i18n_check

BABEL_CFG = """[python: src/pkg/**.py]
[jinja2: src/pkg/templates/**]
trimmed = true
newstyle_gettext = true
silent = false
"""
TEMPLATE = """<p>{% trans name=name %}Hello {{ name }}{% endtrans %}</p>
<p>{% trans count=n %}{{ count }} order{% pluralize %}{{ count }} orders{% endtrans %}</p>
"""
CODE = 'def label(l10n):\n    return l10n.gettext("Facility")\n'
HEADER = r"""msgid ""
msgstr ""
"Language: sv\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\n"
"Content-Type: text/plain; charset=utf-8\n"
"""
ENTRIES = {
    "hello": 'msgid "Hello %(name)s"\nmsgstr "Hej %(name)s"\n',
    "orders": 'msgid "%(count)s order"\nmsgid_plural "%(count)s orders"\n'
    'msgstr[0] "%(count)s order"\nmsgstr[1] "%(count)s order"\n',
    "facility": 'msgid "Facility"\nmsgstr "Anläggning"\n',
}


def service(root: Path, **entries: str) -> Path:
    """A service folder with a template, a module and a Swedish catalogue of `entries`."""
    (root / "src/pkg/templates").mkdir(parents=True)
    (root / "src/pkg/locale/sv/LC_MESSAGES").mkdir(parents=True)
    (root / "babel.cfg").write_text(BABEL_CFG)
    (root / "src/pkg/templates/mail.html").write_text(TEMPLATE)
    (root / "src/pkg/code.py").write_text(CODE)
    po = "\n".join([HEADER, *{**ENTRIES, **entries}.values()])
    (root / "src/pkg/locale/sv/LC_MESSAGES/messages.po").write_text(po, encoding="utf-8")
    return root


def test_extraction_finds_template_and_code_messages_with_their_plurals(tmp_path: Path) -> None:
    ids = {m.id for m in i18n_check.extract(service(tmp_path)) if m.id}
    assert ids == {"Hello %(name)s", ("%(count)s order", "%(count)s orders"), "Facility"}


def test_a_complete_catalogue_has_no_problems(tmp_path: Path) -> None:
    assert i18n_check.problems(service(tmp_path)) == []
    assert i18n_check.main([str(tmp_path)]) == 0


@pytest.mark.parametrize(
    ("entries", "problem"),
    [
        ({"facility": ""}, "'Facility': not in the catalogue"),
        ({"facility": 'msgid "Facility"\nmsgstr ""\n'}, "'Facility': not translated"),
        (
            {"facility": '#, fuzzy\nmsgid "Facility"\nmsgstr "Anläggning"\n'},
            "'Facility': marked fuzzy",
        ),
        (
            {
                "orders": 'msgid "%(count)s order"\nmsgid_plural "%(count)s orders"\n'
                'msgstr[0] "%(count)s order"\nmsgstr[1] ""\n'
            },
            "'%(count)s order': not translated",
        ),
        (
            {"hello": 'msgid "Hello %(name)s"\nmsgstr "Hej %(namn)s"\n'},
            "unknown named placeholder 'namn'",
        ),
    ],
)
def test_each_gap_is_named(tmp_path: Path, entries: dict[str, str], problem: str) -> None:
    found = i18n_check.problems(service(tmp_path, **entries))
    assert len(found) == 1 and problem in found[0], found
    assert i18n_check.main([str(tmp_path)]) == 1


def test_a_missing_catalogue_is_named(tmp_path: Path) -> None:
    root = service(tmp_path)
    (root / "src/pkg/locale/sv/LC_MESSAGES/messages.po").unlink()
    assert ["no catalogue" in p for p in i18n_check.problems(root)] == [True]
