"""The SVG charts and the CSV files, on their own."""

import csv
import io
from decimal import Decimal
from xml.etree import ElementTree

from kundonline_gateway.pages.charts import Bar, bar_chart
from kundonline_gateway.pages.csv_export import BOM, DIALECTS, guard, lines

SV, EN = DIALECTS["sv"], DIALECTS["en"]
SVG = "{http://www.w3.org/2000/svg}"


def parsed(markup: str) -> ElementTree.Element:
    # Inline SVG carries no namespace of its own; given one, it parses as the browser reads it.
    # The SVG is our own output, not untrusted input.
    return ElementTree.fromstring(  # noqa: S314
        str(markup).replace("<svg ", f'<svg xmlns="{SVG[1:-1]}" ', 1)
    )


def test_a_chart_is_an_image_named_by_its_title_with_a_bar_per_value_scaled_to_the_largest() -> (
    None
):
    bars = [
        Bar("mars 2026", 100, "100 kr"),
        Bar("april <2026>", 250, "250 kr"),
        Bar("maj", 0, "0 kr"),
    ]
    svg = parsed(bar_chart("c1", "Värde per månad", bars))
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "c1-title"
    title = svg.find(f"{SVG}title")
    assert title is not None and title.text == "Värde per månad" and title.get("id") == "c1-title"
    widths = [float(r.get("width", "")) for r in svg.iter(f"{SVG}rect")]
    assert widths[1] == max(widths) and widths[0] == round(widths[1] * 100 / 250, 1)
    assert widths[2] == 0
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert texts == ["mars 2026", "100 kr", "april <2026>", "250 kr", "maj", "0 kr"]


def test_a_chart_has_no_style_or_script_and_escapes_what_it_shows() -> None:
    markup = str(bar_chart("c", "<script>x</script>", [Bar('"><script>', 1, "1")]))
    assert "<script" not in markup and "style=" not in markup
    parsed(markup)  # well-formed


def test_long_names_are_cut_and_nothing_is_drawn_without_values() -> None:
    svg = parsed(bar_chart("c", "T", [Bar("Undercentral Ekbacken 2, Västerås norra", 1, "1")]))
    assert next(t.text for t in svg.iter(f"{SVG}text")) == "Undercentral Ekbacken 2, Vä…"
    assert bar_chart("c", "T", []) == ""
    all_zero = parsed(bar_chart("c", "T", [Bar("a", 0, "0"), Bar("b", Decimal("-5"), "-5")]))
    assert [r.get("width") for r in all_zero.iter(f"{SVG}rect")] == ["0", "0"]


def test_cells_that_excel_would_run_as_formulas_are_written_as_text() -> None:
    for text in ("=1+1", "+46 70", "-2", "@SUM(A1)", "\tx", "\rx"):
        assert guard(text) == "'" + text
    assert guard("Fläkt = trasig") == "Fläkt = trasig"
    assert guard("") == ""


def test_swedish_csv_uses_semicolons_decimal_commas_and_keeps_numbers_numbers() -> None:
    text = lines([["Åsa; Öberg", Decimal("1234.50"), 7, None, "=HYPERLINK(1)"]], SV)
    assert text == '"Åsa; Öberg";1234,50;7;;\'=HYPERLINK(1)\r\n'
    assert lines([[Decimal("-3.5"), "a"]], SV) == "-3,5;a\r\n"  # a number, not a formula
    assert lines([[Decimal("1234.50"), 'sa "hej"']], EN) == '1234.50,"sa ""hej"""\r\n'


def test_what_is_written_reads_back_as_it_was() -> None:
    rows = [["Ekvägen 2\nVästerås", "semi;colon", 'quote"s']]
    back = list(csv.reader(io.StringIO(lines(rows, SV)), delimiter=";"))
    assert back == rows
    assert BOM.encode() == b"\xef\xbb\xbf"
