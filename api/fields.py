"""The field types request schemas share, so that the OpenAPI document declares what the
server enforces: text without control characters, codes by their patterns (case-free,
as the domain upper- or lower-cases them), amounts of money as decimal strings."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from domain.text import LINE_PATTERN, TEXT_PATTERN

# A library's code (HNM-TVT), a postal partner's (VNPOST), a work's (W-KIEU).
LIBRARY_CODE = r"^[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)*$"
PARTNER_CODE = r"^[A-Za-z][A-Za-z0-9-]{1,30}$"
WORK_CODE = r"^[Ww]-[A-Za-z0-9]+(-[A-Za-z0-9]+)*$"
USERNAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$"
WAYBILL = r"^[A-Za-z0-9-]{6,40}$"
# A month, YYYY-MM, of the years the network can have figures for.
MONTH = r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])$"
# VND, whole or with at most two decimals.
AMOUNT = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"


def line(min_length: int = 1, max_length: int = 200, **kw: Any) -> Any:
    """One line of text: no control characters."""
    return Field(min_length=min_length, max_length=max_length, pattern=LINE_PATTERN, **kw)


def text(max_length: int, **kw: Any) -> Any:
    """Text of several lines: tabs and line breaks, no other control characters."""
    return Field(min_length=1, max_length=max_length, pattern=TEXT_PATTERN, **kw)


LibraryCode = Annotated[str, Field(min_length=1, max_length=32, pattern=LIBRARY_CODE)]
PartnerCode = Annotated[str, Field(min_length=2, max_length=31, pattern=PARTNER_CODE)]
WorkCode = Annotated[str, Field(min_length=3, max_length=40, pattern=WORK_CODE)]
Amount = Annotated[str, Field(max_length=15, pattern=AMOUNT)]
ClientRequestId = Annotated[
    str,
    line(
        max_length=100,
        description="Your id for this command: a retry with the same id returns the first "
        "result and does nothing more",
    ),
]
