"""CSV downloads that Excel opens as they are, Swedish characters and all.

Excel reads a CSV as UTF-8 only when it begins with a byte order mark, and splits it at its
locale's list separator: `;` where the decimal mark is a comma (Swedish), `,` in English.
A cell that starts with = + - @ (or a tab or carriage return) would be run as a formula, so
such text is written with a leading apostrophe: a customer's description cannot become a
formula on a colleague's machine. Numbers we write ourselves are not text and stay numbers.
The same goes for text after either language's separator inside a cell: a file opened in an
Excel of the other locale is split there, and what follows would start a cell of its own.
"""

import csv
import io
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from decimal import Decimal

from fastapi.responses import StreamingResponse

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A formula's start right after a separator of either dialect, quoted or not.
_AFTER_SEPARATOR = re.compile(r"(?<=[;,])(?=\"*[=+\-@\t\r])")
Cell = str | int | Decimal | None


@dataclass(frozen=True)
class Dialect:
    separator: str
    decimal_mark: str


DIALECTS = {"sv": Dialect(";", ","), "en": Dialect(",", ".")}


def guard(text: str) -> str:
    """Text as a cell Excel shows as text, never runs, in either locale's Excel."""
    text = _AFTER_SEPARATOR.sub("'", text)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def cell(value: Cell, dialect: Dialect) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:f}".replace(".", dialect.decimal_mark)
    if isinstance(value, int):
        return str(value)
    return guard(value)


def lines(rows: Iterable[Iterable[Cell]], dialect: Dialect) -> str:
    """`rows` as CSV text, each line ended with CRLF as Excel writes them."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=dialect.separator, lineterminator="\r\n")
    writer.writerows([cell(v, dialect) for v in row] for row in rows)
    return out.getvalue()


async def encoded(
    header: list[str], pages: AsyncIterator[list[list[Cell]]], dialect: Dialect
) -> AsyncIterator[bytes]:
    """The BOM and the header, then each page of rows as it arrives."""
    yield (BOM + lines([header], dialect)).encode()
    async for rows in pages:
        yield lines(rows, dialect).encode()


def download(
    filename: str,
    header: list[str],
    pages: AsyncIterator[list[list[Cell]]],
    dialect: Dialect,
) -> StreamingResponse:
    """A CSV file to save, streamed: a long list is never held whole."""
    return StreamingResponse(
        encoded(header, pages, dialect),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
