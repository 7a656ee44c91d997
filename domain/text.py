"""Text that people type: names, places, reasons. Control characters (C0, DEL, C1) are
refused everywhere but the line breaks and tabs of multi-line text."""

from __future__ import annotations

import re

from domain.errors import InvalidInput

LINE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
_LINE = re.compile(LINE_PATTERN)
_TEXT = re.compile(TEXT_PATTERN)


def one_line(value: str, what: str, max_length: int) -> str:
    """`value` stripped, if it is 1 to `max_length` characters on one line."""
    value = value.strip()
    if not value or len(value) > max_length:
        raise InvalidInput(f"{what} must be 1 to {max_length} characters")
    if not _LINE.match(value):
        raise InvalidInput(f"{what} must not contain control characters")
    return value


def note_text(value: str, what: str = "a note", max_length: int = 2000) -> str:
    """A free-text note: may be empty, may span lines (tabs and line breaks are kept), but
    holds no other control character and at most `max_length` characters."""
    if len(value) > max_length:
        raise InvalidInput(f"{what} must be at most {max_length} characters")
    if not _TEXT.match(value):
        raise InvalidInput(f"{what} must not contain control characters")
    return value
