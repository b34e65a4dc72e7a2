"""Bar charts as inline SVG, drawn on the server: no script, no style attribute (the CSP
forbids both); colours come from the style sheet's classes. Each chart is an image named by
its <title>; the page keeps the table of the same numbers beside it for screen readers."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup, escape

WIDTH = 640
LABEL_WIDTH = 190  # the bars' names, right-aligned against the bars
VALUE_WIDTH = 120  # room after the longest bar for its value
ROW = 30
BAR = 20
LABEL_CHARS = 28  # longer names are cut with an ellipsis; the table has them whole


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal | int | float
    shown: str  # the value as the reader's language writes it


def bar_chart(chart_id: str, title: str, bars: Sequence[Bar]) -> Markup:
    """Horizontal bars scaled to the largest value; nothing at all when there are no bars."""
    if not bars:
        return Markup("")
    top = max(max(Decimal(str(b.value)) for b in bars), Decimal(0))
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    height = ROW * len(bars) + 10
    rows = [_row(i, b, top, span) for i, b in enumerate(bars)]
    # Every text in it is escaped above; the numbers are ours.
    return Markup(  # noqa: S704
        f'<svg class="chart" role="img" aria-labelledby="{escape(chart_id)}-title" '
        f'viewBox="0 0 {WIDTH} {height}" preserveAspectRatio="xMinYMin meet">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>{"".join(rows)}</svg>'
    )


def _row(index: int, bar: Bar, top: Decimal, span: int) -> str:
    value = max(Decimal(str(bar.value)), Decimal(0))
    length = round(span * value / top, 1) if top else 0
    y = index * ROW + 5
    middle = y + BAR / 2
    name = bar.label if len(bar.label) <= LABEL_CHARS else bar.label[: LABEL_CHARS - 1] + "…"
    return (
        f'<g class="row"><text class="label" x="{LABEL_WIDTH - 8}" y="{middle}" '
        f'text-anchor="end" dominant-baseline="middle">{escape(name)}</text>'
        f'<rect class="bar" x="{LABEL_WIDTH}" y="{y}" width="{length}" height="{BAR}"/>'
        f'<text class="value" x="{LABEL_WIDTH + length + 6}" y="{middle}" '
        f'dominant-baseline="middle">{escape(bar.shown)}</text></g>'
    )
