"""A writer that takes its notification id first and commits last: the case that makes
a naive "highest id seen" reader skip an event for ever."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from composition.bootstrap import System
from domain.library import Library


@contextmanager
def late_writer(system: System, code: str) -> Iterator[int]:
    """Insert a library's Registered event in a transaction held open until the block ends;
    yields its notification id. The system must use the db-functions path (no table lock)."""
    lib = Library.register(code, f"Thư viện {code}", "school", "Lý Nhân")
    (event,) = lib.collect_events()
    stored = system.app.mapper.to_stored_event(event)
    with psycopg.connect(system.db.url) as conn, conn.transaction():
        row = conn.execute(
            "INSERT INTO libshare_events (originator_id, originator_version, topic, state) "
            "VALUES (%s, %s, %s, %s) RETURNING notification_id",
            (stored.originator_id, stored.originator_version, stored.topic, stored.state),
        ).fetchone()
        assert row is not None
        yield int(row[0])
        conn.execute('NOTIFY "libshare_events"')
