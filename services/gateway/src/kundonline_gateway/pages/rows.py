"""Order and project rows as staff type them: one row per line, fields between semicolons."""

from decimal import Decimal, InvalidOperation
from typing import Any

from .forms import FormInvalid
from .messages import ROWS_HELP


def _decimal(text: str, line: int) -> str:
    try:
        value = Decimal(text.replace(" ", "").replace(",", "."))
    except InvalidOperation as exc:
        raise FormInvalid("rows", ROWS_HELP, line) from exc
    if not value.is_finite():
        raise FormInvalid("rows", ROWS_HELP, line)
    return str(value)


def parse_rows(text: str) -> list[dict[str, Any]]:
    """ "article; description; quantity; unit price; purchase price" per line, as API rows."""
    rows = []
    for line, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        parts = [part.strip() for part in raw.split(";")]
        if not 4 <= len(parts) <= 5 or not parts[0]:
            raise FormInvalid("rows", ROWS_HELP, line)
        article, description, quantity, unit_price, purchase = [*parts, ""][:5]
        rows.append(
            {
                "article": article,
                "description": description,
                "quantity": _decimal(quantity, line),
                "unit_price": _decimal(unit_price, line),
                "purchase_price": _decimal(purchase, line) if purchase else None,
            }
        )
    return rows


def _plain(value: Any) -> str:
    """2.000 as 2 and 10.50 as 10.5: what a person would type."""
    if value is None:
        return ""
    return f"{Decimal(str(value)).normalize():f}"


def rows_text(rows: list[dict[str, Any]]) -> str:
    """The rows as the textarea shows them; a missing purchase price leaves no trailing "; "."""
    lines = []
    for r in rows:
        parts = [r["article"], r.get("description") or "", _plain(r["quantity"])]
        parts += [_plain(r["unit_price"]), _plain(r.get("purchase_price"))]
        lines.append("; ".join(parts).rstrip("; "))
    return "\n".join(lines)
