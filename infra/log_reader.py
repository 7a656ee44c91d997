"""The gap-aware reader of the event store's notification log (ADR 0003).

Notification ids come from a sequence taken before commit, so a transaction holding id 5
can commit after one holding id 6. A reader that remembers "the highest id seen" would
skip 5 for ever. We order the log by (xid, notification_id) instead and read only events
whose transaction id is below the xmin of the current snapshot: every transaction older
than xmin has ended, and every transaction still running or yet to start has an xid at or
above it, so nothing can later appear before a position we have passed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic
from psycopg.sql import SQL, Identifier

from domain.contract import event_types
from infra.envelope import Envelope, from_stored
from infra.event_store import EVENTS_TABLE


@dataclass(frozen=True, order=True)
class LogPosition:
    xid: int = 0
    notification_id: int = 0


HELD_BACK_RETRY = 0.003  # seconds before a follower looks again at held-back events


class NotificationLogReader:
    def __init__(self, mapper: Mapper[UUID], table: str = EVENTS_TABLE) -> None:
        self.mapper = mapper
        self.table = table
        # ORDER BY names the table's xid8 column, not the bigint in the select list: only
        # then does the (xid, notification_id) index serve the order, instead of a scan
        # and sort of the whole log on every read.
        self._select = SQL(
            "SELECT e.notification_id, e.xid::text::bigint, e.originator_id, "
            "e.originator_version, e.topic, e.state, e.metadata, e.recorded_at FROM {t} AS e "
            "WHERE (e.xid, e.notification_id) > (%s::text::xid8, %s) "
            "AND e.xid < pg_snapshot_xmin(pg_current_snapshot()) "
            "ORDER BY e.xid, e.notification_id LIMIT %s"
        ).format(t=Identifier(table))
        # Not EXISTS (...): once the statement is prepared, PostgreSQL's generic plan for
        # it scanned the whole table (it expects an early match, and at the log's end
        # there is none): ~9 ms at 60,000 events, growing with the log. ORDER BY ... LIMIT
        # 1 keeps it on the index at any position.
        self._held = SQL(
            "SELECT 1 FROM {t} AS e WHERE (e.xid, e.notification_id) > (%s::text::xid8, %s) "
            "ORDER BY e.xid, e.notification_id LIMIT 1"
        ).format(t=Identifier(table))
        # A rebuild's reads (ADR 0030): only the stored topics asked for, up to a position
        # fixed before (no snapshot test: everything up to it has ended).
        self._select_topics = SQL(
            "SELECT e.notification_id, e.xid::text::bigint, e.originator_id, "
            "e.originator_version, e.topic, e.state, e.metadata, e.recorded_at FROM {t} AS e "
            "WHERE (e.xid, e.notification_id) > (%s::text::xid8, %s) "
            "AND (e.xid, e.notification_id) <= (%s::text::xid8, %s) AND e.topic = ANY(%s) "
            "ORDER BY e.xid, e.notification_id LIMIT %s"
        ).format(t=Identifier(table))
        self._last = SQL(
            "SELECT e.xid::text::bigint, e.notification_id FROM {t} AS e "
            "WHERE e.xid < pg_snapshot_xmin(pg_current_snapshot()) "
            "ORDER BY e.xid DESC, e.notification_id DESC LIMIT 1"
        ).format(t=Identifier(table))
        self._pending = SQL(
            "SELECT count(*) FROM {t} WHERE (xid, notification_id) > (%s::text::xid8, %s)"
        ).format(t=Identifier(table))

    def read(
        self, conn: psycopg.Connection[Any], after: LogPosition, limit: int = 1000
    ) -> list[Envelope]:
        rows = conn.execute(self._select, (str(after.xid), after.notification_id, limit)).fetchall()
        return [self._envelope(row) for row in rows]

    def read_topics(
        self,
        conn: psycopg.Connection[Any],
        after: LogPosition,
        upto: LogPosition,
        topics: Sequence[str],
        limit: int = 1000,
    ) -> list[Envelope]:
        """Events after `after` and at or before `upto` (a position `last_safe` gave)
        whose stored topic is one of `topics`: the rest are not read, nor decoded."""
        rows = conn.execute(
            self._select_topics,
            (
                str(after.xid),
                after.notification_id,
                str(upto.xid),
                upto.notification_id,
                list(topics),
                limit,
            ),
        ).fetchall()
        return [self._envelope(row) for row in rows]

    def last_safe(self, conn: psycopg.Connection[Any]) -> LogPosition:
        """The position of the last event `read` could return now (LogPosition() if none):
        every event at or before it has committed, and none can appear before it later."""
        row = conn.execute(self._last).fetchone()
        return LogPosition(int(row[0]), int(row[1])) if row else LogPosition()

    def held_back(self, conn: psycopg.Connection[Any], after: LogPosition) -> bool:
        """Whether events after `after` have committed that `read` cannot return yet: an
        older transaction still runs. It will end without a NOTIFY, so a follower that
        finds this looks again soon instead of waiting for the next commit."""
        row = conn.execute(self._held, (str(after.xid), after.notification_id)).fetchone()
        return row is not None

    def visible_backlog(self, conn: psycopg.Connection[Any], after: LogPosition) -> int:
        """Events stored after `after`, including those not yet safe to read (for lag)."""
        row = conn.execute(self._pending, (str(after.xid), after.notification_id)).fetchone()
        return int(row[0]) if row else 0

    def _envelope(self, row: tuple[Any, ...]) -> Envelope:
        nid, xid, originator_id, version, topic, state, metadata, recorded_at = row
        stored = StoredEvent(
            originator_id=originator_id,
            originator_version=version,
            topic=topic,
            state=bytes(state),
        )
        return from_stored(
            self.mapper,
            stored,
            notification_id=nid,
            xid=xid,
            metadata=metadata,
            recorded_at=recorded_at,
        )


def position_of(envelope: Envelope) -> LogPosition:
    return LogPosition(envelope.xid, envelope.notification_id)


def stored_topics(types: Iterable[str]) -> list[str] | None:
    """The stored topics (the event classes) of the CloudEvents `types`, or None when one
    of them names no event of the contract (then no reader can filter by topic)."""
    by_name = {t.name: get_topic(t.event) for t in event_types()}
    found = [by_name.get(name) for name in sorted(types)]
    return None if None in found else [t for t in found if t is not None]
