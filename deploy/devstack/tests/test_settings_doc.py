"""docs/OPERATIONS.md names every setting, as the settings classes define it today."""

from kundonline_devstack.settings_doc import DOCUMENT, rendered, undocumented


def test_every_setting_says_what_it_is_for() -> None:
    assert undocumented() == []


def test_the_settings_tables_match_the_code() -> None:
    current = DOCUMENT.read_text()
    assert current == rendered(current), "docs/OPERATIONS.md is stale: run `make docs`"
