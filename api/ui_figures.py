"""Figures as the department's pages show them (Vietnamese: 1.234,5; English: 1,234.5) and
as their CSV downloads carry them: UTF-8 with a byte-order mark, so that Excel opens the
Vietnamese text as it is, served as text/csv with a file name."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from fastapi.responses import Response

BOM = "\ufeff"


def number(value: float | Decimal | int | str | None, lang: str, digits: int = 0) -> str:
    """A figure for people: thousands grouped, `digits` decimals, in the language's way."""
    if value is None or value == "":
        return "—"
    text = f"{Decimal(str(value)):,.{digits}f}"
    if lang == "vi":
        text = text.replace(",", " ").replace(".", ",").replace(" ", ".")
    return text


def percent(rate: float | None, lang: str) -> str:
    """A rate of 0..1 as a percentage with one decimal (None: nothing decided yet)."""
    return "—" if rate is None else f"{number(rate * 100, lang, 1)} %"


def csv_download(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]], headers: dict[str, str]
) -> Response:
    """A CSV file (comma-separated, the figures as the API gives them) to save."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return Response(
        out.getvalue().encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={**headers, "Content-Disposition": f'attachment; filename="{filename}"'},
    )
