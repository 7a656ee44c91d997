"""The time now, in UTC: what every command, read and timer takes as "now"."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)
