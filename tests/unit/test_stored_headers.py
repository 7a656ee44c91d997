"""The stored-event headers the relay puts on each record (ADR 0024): each event's own
recorded_at in UTC, whatever instant came before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from infra.envelope import RECORDED_AT, stored_headers


def recorded_at_header(moment: datetime) -> bytes:
    return dict(stored_headers("t", b"{}", moment))[RECORDED_AT]


def test_each_event_carries_its_own_recorded_instant_in_utc() -> None:
    hanoi = timezone(timedelta(hours=7))
    first = datetime(2026, 12, 2, 15, 0, 0, 123456, tzinfo=hanoi)
    later = first + timedelta(microseconds=1)
    assert recorded_at_header(first) == b"2026-12-02T08:00:00.123456+00:00"
    assert recorded_at_header(first.astimezone(UTC)) == b"2026-12-02T08:00:00.123456+00:00"
    assert recorded_at_header(later) == b"2026-12-02T08:00:00.123457+00:00"
    assert recorded_at_header(first) == b"2026-12-02T08:00:00.123456+00:00"
    assert RECORDED_AT not in dict(stored_headers("t", b"{}", None))
