"""QR codes as inline SVG (segno): the labels staff stick on facilities."""

import segno
from markupsafe import Markup, escape

# M recovers about 15 % of a damaged code: enough for a label that gets scratched or dirty,
# while the URL of a report form still fits a small version that scans from a phone.
ERROR_LEVEL = "m"


def report_url(base: str, facility_id: str) -> str:
    """The portal's report form with `facility_id` chosen, at the portal's address `base`."""
    return f"{base.rstrip('/')}/faults/new?facility={facility_id}"


def qr_svg(data: str, label: str) -> Markup:
    """`data` as a QR code: an SVG drawn with one path, sized by the style sheet (class
    `qr`), named `label` for screen readers. No style attribute: the CSP forbids them."""
    code = segno.make(data, error=ERROR_LEVEL, micro=False)
    svg = code.svg_inline(scale=1, omitsize=True, svgclass="qr", lineclass=None)
    # segno writes the element itself; only its name for screen readers is added here.
    named = f'<svg role="img" aria-label="{escape(label)}" '
    return Markup(svg.replace("<svg ", named, 1))  # noqa: S704 - segno's SVG, label escaped
