"""The terms of digital loans (ADR 0022): loan periods per collection and reader type,
the pickup window of a hold, the cooling-off time, renewals and the caps per reader."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from domain.catalogue import ItemKind
from domain.errors import InvalidInput


class ReaderType(StrEnum):
    ADULT = "adult"
    CHILD = "child"  # school readers
    RESEARCHER = "researcher"  # Hán Nôm and local-studies researchers


# collection (the work's kind) -> reader type -> loan period in hours ("hours to weeks")
LOAN_HOURS: dict[ItemKind, dict[ReaderType, int]] = {
    ItemKind.BOOK: {
        ReaderType.ADULT: 14 * 24,
        ReaderType.CHILD: 14 * 24,
        ReaderType.RESEARCHER: 21 * 24,
    },
    ItemKind.LOCAL_STUDIES: {
        ReaderType.ADULT: 7 * 24,
        ReaderType.CHILD: 7 * 24,
        ReaderType.RESEARCHER: 14 * 24,
    },
    ItemKind.HAN_NOM: {ReaderType.ADULT: 72, ReaderType.CHILD: 48, ReaderType.RESEARCHER: 14 * 24},
    ItemKind.RARE_MAP: {ReaderType.ADULT: 24, ReaderType.CHILD: 24, ReaderType.RESEARCHER: 7 * 24},
    ItemKind.RESTRICTED: {ReaderType.ADULT: 4, ReaderType.CHILD: 4, ReaderType.RESEARCHER: 72},
}
PICKUP_WINDOW = timedelta(hours=48)
COOLING_OFF = timedelta(hours=24)
MAX_RENEWALS = 1
MAX_LOANS_PER_READER = 3
MAX_HOLDS_PER_READER = 5
# How long an ILL request waits on a pool's waitlist at most (its needed-by day, if sooner).
ILL_WAIT = timedelta(days=30)
VIEWER_LINK_TTL = timedelta(minutes=15)


def reader_type(value: str) -> ReaderType:
    if value not in {r.value for r in ReaderType}:
        raise InvalidInput(f"reader_type {value!r} is not one of {[r.value for r in ReaderType]}")
    return ReaderType(value)


def loan_period(kind: str, reader: str) -> timedelta:
    return timedelta(hours=LOAN_HOURS[ItemKind(kind)][reader_type(reader)])
