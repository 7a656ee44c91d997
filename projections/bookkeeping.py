"""The projections' bookkeeping: what each projection has seen and applied, stored in the
same transaction as its read-model rows (ADR 0012). Per projection and stream, the log
place of the last event taken from it and, for a Kafka stream, that record's offset (in
columns of their own: ADR 0012's addendum); per projection, the floor a rebuild set and
the count of distinct events seen; per projection and aggregate, the last version
applied. The tables, the lock that serialises the appliers of a projection (ADR 0013),
and the marks a batch reads and saves in one statement each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg

from infra.envelope import Envelope

LOG_STREAM = "log"  # the stream name of the notification-log source

BOOKKEEPING_DDL = """
CREATE TABLE IF NOT EXISTS projection_positions (
    projection text NOT NULL,
    stream text NOT NULL,               -- 'log', or 'topic:partition' for Kafka
    kafka_offset bigint,                -- Kafka: the last record's offset; log: NULL
    log_xid bigint NOT NULL DEFAULT 0,  -- the log place (xid, notification id) of the
    log_nid bigint NOT NULL DEFAULT 0,  -- last event taken from the stream
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, stream)
);
-- Tables of before ADR 0012's addendum: (xid, position) was (xid, notification id) for the
-- log and (0, offset) for Kafka, and log_xid/log_nid were kept only for Kafka streams.
ALTER TABLE projection_positions ADD COLUMN IF NOT EXISTS kafka_offset bigint;
ALTER TABLE projection_positions ADD COLUMN IF NOT EXISTS log_xid bigint NOT NULL DEFAULT 0;
ALTER TABLE projection_positions ADD COLUMN IF NOT EXISTS log_nid bigint NOT NULL DEFAULT 0;
DO $$
BEGIN
    IF EXISTS (
        SELECT FROM pg_attribute WHERE attrelid = 'projection_positions'::regclass
        AND attname = 'position' AND NOT attisdropped
    ) THEN
        UPDATE projection_positions SET
            kafka_offset = CASE WHEN stream = 'log' THEN NULL ELSE position END,
            log_xid = CASE WHEN stream = 'log' THEN xid ELSE log_xid END,
            log_nid = CASE WHEN stream = 'log' THEN position ELSE log_nid END;
        ALTER TABLE projection_positions DROP COLUMN IF EXISTS xid, DROP COLUMN position;
    END IF;
END
$$;
CREATE TABLE IF NOT EXISTS projection_state (
    projection text PRIMARY KEY,
    seen bigint NOT NULL DEFAULT 0,  -- distinct events passed through (for lag)
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- Set by a rebuild: the log place up to which the rebuilt tables hold every event.
ALTER TABLE projection_state ADD COLUMN IF NOT EXISTS floor_xid bigint NOT NULL DEFAULT 0;
ALTER TABLE projection_state ADD COLUMN IF NOT EXISTS floor_nid bigint NOT NULL DEFAULT 0;
-- One partition per projection (ADR 0030, amendment of 2026-12-02 evening): a rebuild
-- builds its projection's partition beside the fresh tables and swaps it in whole.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_class WHERE oid = to_regclass('projection_versions')
               AND relkind = 'r') THEN
        ALTER TABLE projection_versions RENAME TO projection_versions_unpartitioned;
        ALTER TABLE projection_versions_unpartitioned
            RENAME CONSTRAINT projection_versions_pkey TO projection_versions_unpartitioned_pkey;
    END IF;
END
$$;
CREATE TABLE IF NOT EXISTS projection_versions (
    projection text NOT NULL,
    aggregate_id uuid NOT NULL,
    version bigint NOT NULL,
    PRIMARY KEY (projection, aggregate_id)
) PARTITION BY LIST (projection);
-- Tables of before the partitions: their rows moved into one partition per projection.
DO $$
DECLARE
    name text;
BEGIN
    IF to_regclass('projection_versions_unpartitioned') IS NOT NULL THEN
        FOR name IN SELECT DISTINCT projection FROM projection_versions_unpartitioned LOOP
            EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF projection_versions '
                           'FOR VALUES IN (%L)', 'projection_versions_' || name, name);
        END LOOP;
        INSERT INTO projection_versions SELECT * FROM projection_versions_unpartitioned;
        DROP TABLE projection_versions_unpartitioned;
    END IF;
END
$$;
"""


def versions_partition(name: str) -> str:
    """The (unqualified, quoted) name of a projection's partition of its versions."""
    return f'"projection_versions_{name}"'


def sql_literal(text: str) -> str:
    """A string as an SQL literal (DDL takes no parameters)."""
    return "'" + text.replace("'", "''") + "'"


def create_versions_partition(conn: psycopg.Connection[Any], name: str) -> None:
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {versions_partition(name)} PARTITION OF "
        f"projection_versions FOR VALUES IN ({sql_literal(name)})"
    )


LogMark = tuple[int, int]  # (xid, notification id): an event's place in the log


@dataclass(frozen=True)
class Delivery:
    """An event as a source delivered it: the stream it came from and, from Kafka, the
    record's offset (its place in the log is the event's own xid and notification id)."""

    event: Envelope
    stream: str
    kafka_offset: int | None = None


@dataclass(frozen=True)
class Position:
    """A projection's place in one stream: the log place of the last event it took from
    the stream and, for a Kafka stream, that record's offset."""

    log: LogMark
    kafka_offset: int | None = None


NOWHERE = Position((0, 0))  # a stream nothing was taken from yet


def read_positions(
    conn: psycopg.Connection[Any], names: Sequence[str]
) -> dict[str, dict[str, Position]]:
    """Each named projection's position in each stream it has taken events from."""
    out: dict[str, dict[str, Position]] = {name: {} for name in names}
    for name, stream, kafka_offset, log_xid, log_nid in conn.execute(
        "SELECT projection, stream, kafka_offset, log_xid, log_nid FROM projection_positions "
        "WHERE projection = ANY(%s)",
        (list(names),),
    ).fetchall():
        out[name][stream] = Position((log_xid, log_nid), kafka_offset)
    return out


def lock_projections(conn: psycopg.Connection[Any], names: Sequence[str]) -> None:
    """Hold the projections named until the transaction ends: one runner (or a rebuild's
    swap) at a time applies to a projection, and reads its marks only once the previous
    holder has committed. Transaction-level advisory locks, taken in name order (the
    aggregate walks the array in order), not row locks: a row lock would give the
    transaction an xid from its first statement, and for as long as it ran the gap-aware
    readers (ADR 0003) would hold back every event committed meanwhile. Without it, the
    transaction takes its xid at its first write, which the pipeline sends together with
    the commit (ADR 0013)."""
    conn.execute(
        "SELECT count(pg_advisory_xact_lock(hashtext('libshare-projection:' || p))) "
        "FROM unnest(%s::text[]) AS p",
        (sorted(names),),
    )


class Marks:
    """What a batch's projections have already seen, read in one go and saved in one go.

    Each stream's stored position: the log place of the last event taken from it and, for
    a Kafka stream, that record's offset; a record at or below the offset was taken
    already (redelivered after a rebalance or a restart). The relay publishes in
    log order, so within one stream the log places only grow: an event at or below the
    stream's mark is a copy republished after a relay crash (same event, new offset) and
    is dropped, whatever its type, which keeps `seen` exact. A rebuild sets a floor:
    everything at or below it is already in the rebuilt tables. Events a projection
    applies are also checked against their aggregate's last applied version."""

    def __init__(self) -> None:
        self.streams: dict[tuple[str, str], Position] = {}
        self.floors: dict[str, LogMark] = {}
        self.versions: dict[tuple[str, UUID], int] = {}
        self.changed: dict[tuple[str, UUID], int] = {}
        self.moved: dict[tuple[str, str], Position] = {}
        self.new: dict[str, int] = {}

    @classmethod
    def read(
        cls, conn: psycopg.Connection[Any], names: list[str], deliveries: Sequence[Delivery]
    ) -> Marks:
        marks = cls()
        lock_projections(conn, names)
        # Each projection's floor, and its positions (none yet: one row of NULLs).
        for name, floor_xid, floor_nid, stream, offset, log_xid, log_nid in conn.execute(
            "SELECT s.projection, s.floor_xid, s.floor_nid, "
            "p.stream, p.kafka_offset, p.log_xid, p.log_nid FROM projection_state s "
            "LEFT JOIN projection_positions p ON p.projection = s.projection "
            "WHERE s.projection = ANY(%s)",
            (names,),
        ).fetchall():
            marks.floors[name] = (floor_xid, floor_nid)
            if stream is not None:
                marks.streams[(name, stream)] = Position((log_xid, log_nid), offset)
        ids = list({d.event.aggregate_id for d in deliveries})
        for name, aggregate_id, version in conn.execute(
            "SELECT projection, aggregate_id, version FROM projection_versions "
            "WHERE projection = ANY(%s) AND aggregate_id = ANY(%b)",  # %b: binary arrays
            (names, ids),
        ).fetchall():
            marks.versions[(name, aggregate_id)] = version
        return marks

    def fresh(self, name: str, d: Delivery) -> bool:
        """Not yet seen by this projection; if so, marks it seen."""
        ev = d.event
        place = (ev.xid, ev.notification_id)
        key = (name, d.stream)
        last = self.moved.get(key) or self.streams.get(key) or NOWHERE
        offset, taken = d.kafka_offset, last.kafka_offset
        if offset is not None and taken is not None and offset <= taken:
            return False
        if place <= last.log or place <= self.floors.get(name, (0, 0)):
            return False
        self.moved[key] = Position(place, d.kafka_offset)
        self.new[name] = self.new.get(name, 0) + 1
        return True

    def fresh_for(
        self, names: Sequence[str], deliveries: Sequence[Delivery]
    ) -> dict[str, list[Envelope]]:
        """Each projection's unseen events of the batch, in order; marks them seen.
        Projections whose marks agree on every stream of the batch (the usual case: one
        runner moves them together) get one answer, worked out once."""
        streams = list(dict.fromkeys(d.stream for d in deliveries))
        groups: dict[tuple[Any, ...], list[str]] = {}
        for name in names:
            key = (self.floors.get(name), *(self.streams.get((name, s)) for s in streams))
            groups.setdefault(key, []).append(name)
        out: dict[str, list[Envelope]] = {}
        for first, *others in groups.values():
            kept = [d.event for d in deliveries if self.fresh(first, d)]
            for other in others:
                for stream in streams:
                    if (first, stream) in self.moved:
                        self.moved[(other, stream)] = self.moved[(first, stream)]
                if first in self.new:
                    self.new[other] = self.new[first]
            for name in (first, *others):
                out[name] = kept
        return out

    def first_time(self, name: str, ev: Envelope) -> bool:
        """The event is newer than its aggregate's last applied version; if so, records it."""
        key = (name, ev.aggregate_id)
        if ev.version <= self.versions.get(key, 0):
            return False
        self.versions[key] = self.changed[key] = ev.version
        return True

    def save(self, conn: psycopg.Connection[Any]) -> None:
        """Versions, positions and `seen` counts, in one statement (empty arrays where
        nothing changed)."""
        versions = [(name, aggregate, v) for (name, aggregate), v in self.changed.items()]
        positions = [
            (name, stream, position.kafka_offset, *position.log)
            for (name, stream), position in self.moved.items()
        ]
        if not (versions or positions or self.new):
            return
        conn.execute(
            "WITH v AS (INSERT INTO projection_versions (projection, aggregate_id, version) "
            "SELECT * FROM unnest(%b::text[], %b::uuid[], %b::bigint[]) "
            "ON CONFLICT (projection, aggregate_id) DO UPDATE SET version = EXCLUDED.version), "
            "p AS (INSERT INTO projection_positions "
            "(projection, stream, kafka_offset, log_xid, log_nid) "
            "SELECT * FROM unnest(%b::text[], %b::text[], %b::bigint[], %b::bigint[], "
            "%b::bigint[]) ON CONFLICT (projection, stream) DO UPDATE "
            "SET kafka_offset = EXCLUDED.kafka_offset, "
            "log_xid = EXCLUDED.log_xid, log_nid = EXCLUDED.log_nid, updated_at = now()) "
            "UPDATE projection_state s SET seen = s.seen + n.new, updated_at = now() "
            "FROM unnest(%b::text[], %b::bigint[]) AS n(projection, new) "
            "WHERE s.projection = n.projection",
            (
                *_columns(versions, 3),
                *_columns(positions, 5),
                list(self.new),
                list(self.new.values()),
            ),
        )


def _columns(rows: list[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """Rows as one list per column (`width` empty lists for no rows)."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * width
