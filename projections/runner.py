"""One projection runner for every source. A batch of deliveries is applied to every
projection in one transaction together with each projection's stored position, so a crash
never loses or double-applies an event. Events seen twice (the relay republishes after a
crash) are dropped by their place in the log and, for the events a projection applies,
by (aggregate id, version) (ADR 0012). An event that fails to apply is parked in the
dead-letter table with its error and the projection goes on."""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

import psycopg
import structlog

from infra.database import Database
from infra.envelope import Envelope
from infra.heartbeats import Heartbeat
from infra.heartbeats import ensure_table as ensure_heartbeats
from infra.tracing import tracer
from projections.projection import Projection

log = structlog.get_logger("libshare.projections")

LOG_STREAM = "log"  # the stream name of the notification-log source
_tracer = tracer("libshare.projections")

BOOKKEEPING_DDL = """
CREATE TABLE IF NOT EXISTS projection_positions (
    projection text NOT NULL,
    stream text NOT NULL,            -- 'log', or 'topic:partition' for Kafka
    xid bigint NOT NULL DEFAULT 0,   -- log: transaction id; Kafka: 0
    position bigint NOT NULL,        -- log: notification id; Kafka: offset
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, stream)
);
-- Kafka: the log place (xid, notification id) of the last event applied from the stream.
ALTER TABLE projection_positions ADD COLUMN IF NOT EXISTS log_xid bigint NOT NULL DEFAULT 0;
ALTER TABLE projection_positions ADD COLUMN IF NOT EXISTS log_nid bigint NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS projection_state (
    projection text PRIMARY KEY,
    seen bigint NOT NULL DEFAULT 0,  -- distinct events passed through (for lag)
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- Set by a rebuild: the log place up to which the rebuilt tables hold every event.
ALTER TABLE projection_state ADD COLUMN IF NOT EXISTS floor_xid bigint NOT NULL DEFAULT 0;
ALTER TABLE projection_state ADD COLUMN IF NOT EXISTS floor_nid bigint NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS projection_versions (
    projection text NOT NULL,
    aggregate_id uuid NOT NULL,
    version bigint NOT NULL,
    PRIMARY KEY (projection, aggregate_id)
);
CREATE TABLE IF NOT EXISTS projection_dead_letters (
    id bigserial PRIMARY KEY,
    projection text NOT NULL,
    event_id text NOT NULL,
    event_type text NOT NULL,
    aggregate_id uuid NOT NULL,
    version bigint NOT NULL,
    notification_id bigint NOT NULL,
    xid bigint NOT NULL,
    event_time timestamptz NOT NULL,
    payload bytea NOT NULL,
    error text NOT NULL,
    parked_at timestamptz NOT NULL DEFAULT now(),
    replayed_at timestamptz
);
"""


@dataclass(frozen=True)
class Delivery:
    event: Envelope
    stream: str
    position: tuple[int, int]


class Source(Protocol):
    name: str
    kafka_ok: bool | None  # None: the source does not use Kafka

    def start(self, runner: ProjectionRunner) -> None: ...

    def poll(self, timeout: float) -> list[Delivery]: ...

    def committed(self, deliveries: Sequence[Delivery]) -> None: ...

    def reset(self) -> None:
        """Throw the client away after a failure; `start` makes a fresh one."""
        ...

    def close(self) -> None: ...


class ProjectionRunner:
    def __init__(self, db: Database, projections: Sequence[Projection]) -> None:
        self.db = db
        self.projections = list(projections)
        self.applied = 0  # events applied by this runner (all projections), for metrics
        self.delivered = 0  # events taken from the source by `run` and committed
        self.retries = 0  # failures `run` has waited out
        self.failing: str | None = None  # the last failure, until a poll succeeds again

    def setup(self) -> None:
        with self.db.transaction() as conn:
            # Serialise concurrent start-ups (API and workers may start together).
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('libshare-projection-setup'))")
            conn.execute(BOOKKEEPING_DDL)
            for p in self.projections:
                p.create_tables(conn)
                conn.execute(
                    "INSERT INTO projection_state (projection) VALUES (%s) ON CONFLICT DO NOTHING",
                    (p.name,),
                )
        ensure_heartbeats(self.db)

    def positions(self, conn: psycopg.Connection[Any], name: str) -> dict[str, tuple[int, int]]:
        rows = conn.execute(
            "SELECT stream, xid, position FROM projection_positions WHERE projection = %s",
            (name,),
        ).fetchall()
        return {stream: (xid, pos) for stream, xid, pos in rows}

    def stored_positions(self) -> dict[str, dict[str, tuple[int, int]]]:
        with self.db.transaction() as conn:
            return {p.name: self.positions(conn, p.name) for p in self.projections}

    def apply_batch(self, deliveries: Sequence[Delivery]) -> int:
        """Apply a batch to every projection in one transaction. Returns events applied."""
        if not deliveries:
            return 0
        with _tracer.start_as_current_span("projection batch") as span:
            span.set_attribute("libshare.batch_size", len(deliveries))
            try:
                applied = self._apply(deliveries, careful=False)
            except Exception:
                # Something failed inside the batch: redo it event by event, with a
                # savepoint per event, so the one poison event is parked and no other.
                applied = self._apply(deliveries, careful=True)
            self.applied += applied
            return applied

    def _apply(self, deliveries: Sequence[Delivery], *, careful: bool) -> int:
        """One transaction for the batch and every projection. Normally in pipeline mode,
        with two round trips in all: one reads every projection's marks (positions and
        floors), one the versions of the aggregates they handle; every change after that
        goes out without waiting. The careful redo, with a savepoint per event, runs
        without a pipeline so that each failure is caught where it happens."""
        names = [p.name for p in self.projections]
        with (
            self.db.transaction(durable=False) as conn,
            nullcontext() if careful else conn.pipeline(),
        ):
            marks = _Marks.read(conn, names, deliveries)
            fresh = marks.fresh_for(names, deliveries)
            applied = 0
            for p in self.projections:
                applied += self._apply_one(conn, p, fresh[p.name], marks, careful=careful)
            marks.save(conn)
        return applied

    def _apply_one(
        self,
        conn: psycopg.Connection[Any],
        p: Projection,
        fresh: Sequence[Envelope],
        marks: _Marks,
        *,
        careful: bool,
    ) -> int:
        """Apply to `p` the events of the batch it has not seen (`fresh`), those it
        handles and not yet applied to their aggregate."""
        handles, name = p.handles, p.name
        todo = [ev for ev in fresh if ev.type in handles and marks.first_time(name, ev)]
        applied = len(todo)
        if careful:
            for ev in todo:
                try:
                    with conn.transaction():  # a savepoint per event
                        p.apply(conn, ev)
                except Exception as exc:
                    self._park(conn, p, ev, exc)
                    applied -= 1
        else:
            p.apply_many(conn, todo)
        return applied

    def _park(
        self, conn: psycopg.Connection[Any], p: Projection, ev: Envelope, exc: Exception
    ) -> None:
        log.error(
            "event parked",
            projection=p.name,
            event_id=ev.id,
            event_type=ev.type,
            aggregate_id=str(ev.aggregate_id),
            version=ev.version,
            error=repr(exc),
        )
        conn.execute(
            "INSERT INTO projection_dead_letters (projection, event_id, event_type, "
            "aggregate_id, version, notification_id, xid, event_time, payload, error) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                p.name,
                ev.id,
                ev.type,
                ev.aggregate_id,
                ev.version,
                ev.notification_id,
                ev.xid,
                ev.time,
                ev.payload,
                f"{type(exc).__name__}: {exc}",
            ),
        )

    def run(
        self,
        source: Source,
        stop: threading.Event,
        poll_timeout: float = 1.0,
        heartbeat: Heartbeat | None = None,
    ) -> None:
        """Apply batches from `source` until `stop` is set. Every failure (PostgreSQL or
        Kafka away, a client that lost its way) is logged, waited out with bounded
        back-off, and followed by a fresh client that goes on from the stored positions:
        a retry is always safe, because positions commit with the read models."""
        names = [p.name for p in self.projections]
        backoff = Backoff(first=0.5, most=3.0)
        started = False
        try:
            while not stop.is_set():
                try:
                    if not started:
                        source.start(self)
                        started = True
                        log.info("projection runner started", source=source.name, projections=names)
                    batch = source.poll(poll_timeout)
                    if batch:
                        self.apply_batch(batch)
                        source.committed(batch)
                        self.delivered += len(batch)
                    backoff.reset()
                    self.failing = None
                except Exception as exc:
                    wait = backoff.next()
                    self.failing = f"{type(exc).__name__}: {exc}"
                    self.retries += 1
                    log.warning(
                        "projection runner retrying",
                        source=source.name,
                        error=repr(exc),
                        sleep_s=round(wait, 2),
                    )
                    if not isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError)):
                        source.reset()  # a fresh Kafka client, from the stored positions
                    started = False  # and in any case, start again from them
                    stop.wait(wait)
                if heartbeat is not None:
                    heartbeat.beat(
                        progress=self.delivered,
                        kafka_ok=source.kafka_ok,
                        source=source.name,
                        retries=self.retries,
                        failing=self.failing,
                    )
        finally:
            source.close()
            if heartbeat is not None:
                heartbeat.stop()


class Backoff:
    """Exponential back-off with jitter, from `first` up to `most` seconds."""

    def __init__(self, first: float, most: float) -> None:
        self.first, self.most, self.attempt = first, most, 0

    def next(self) -> float:
        self.attempt += 1
        wait = min(self.most, self.first * 2 ** (self.attempt - 1))
        return float(wait * random.uniform(0.8, 1.2))

    def reset(self) -> None:
        self.attempt = 0


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


LogMark = tuple[int, int]  # (xid, notification id): an event's place in the log


class _Marks:
    """What a batch's projections have already seen, read in one go and saved in one go.

    Each stream's stored position (the log's (xid, notification id), or a Kafka offset),
    and the log place of the last event applied from that stream. The relay publishes in
    log order, so within one stream the log places only grow: an event at or below the
    stream's mark is a copy republished after a relay crash (same event, new offset) and
    is dropped, whatever its type, which keeps `seen` exact. A rebuild sets a floor:
    everything at or below it is already in the rebuilt tables. Events a projection
    applies are also checked against their aggregate's last applied version."""

    def __init__(self) -> None:
        self.streams: dict[tuple[str, str], tuple[int, LogMark]] = {}
        self.floors: dict[str, LogMark] = {}
        self.versions: dict[tuple[str, UUID], int] = {}
        self.changed: dict[tuple[str, UUID], int] = {}
        self.moved: dict[tuple[str, str], tuple[int, LogMark]] = {}
        self.new: dict[str, int] = {}

    @classmethod
    def read(
        cls, conn: psycopg.Connection[Any], names: list[str], deliveries: Sequence[Delivery]
    ) -> _Marks:
        marks = cls()
        lock_projections(conn, names)
        # Each projection's floor, and its positions (none yet: one row of NULLs).
        for name, floor_xid, floor_nid, stream, xid, position, log_xid, log_nid in conn.execute(
            "SELECT s.projection, s.floor_xid, s.floor_nid, "
            "p.stream, p.xid, p.position, p.log_xid, p.log_nid FROM projection_state s "
            "LEFT JOIN projection_positions p ON p.projection = s.projection "
            "WHERE s.projection = ANY(%s)",
            (names,),
        ).fetchall():
            marks.floors[name] = (floor_xid, floor_nid)
            if stream == LOG_STREAM:  # the position is the log place itself
                marks.streams[(name, stream)] = (-1, (xid, position))
            elif stream is not None:
                marks.streams[(name, stream)] = (position, (log_xid, log_nid))
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
        offset, mark = self.moved.get(key) or self.streams.get(key) or (-1, (0, 0))
        if d.stream != LOG_STREAM and d.position[1] <= offset:
            return False
        if place <= mark or place <= self.floors.get(name, (0, 0)):
            return False
        self.moved[key] = (d.position[1], place)
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
            (name, stream, *(mark if stream == LOG_STREAM else (0, offset)), *mark)
            for (name, stream), (offset, mark) in self.moved.items()
        ]
        if not (versions or positions or self.new):
            return
        conn.execute(
            "WITH v AS (INSERT INTO projection_versions (projection, aggregate_id, version) "
            "SELECT * FROM unnest(%b::text[], %b::uuid[], %b::bigint[]) "
            "ON CONFLICT (projection, aggregate_id) DO UPDATE SET version = EXCLUDED.version), "
            "p AS (INSERT INTO projection_positions "
            "(projection, stream, xid, position, log_xid, log_nid) "
            "SELECT * FROM unnest(%b::text[], %b::text[], %b::bigint[], %b::bigint[], "
            "%b::bigint[], %b::bigint[]) ON CONFLICT (projection, stream) DO UPDATE "
            "SET xid = EXCLUDED.xid, position = EXCLUDED.position, "
            "log_xid = EXCLUDED.log_xid, log_nid = EXCLUDED.log_nid, updated_at = now()) "
            "UPDATE projection_state s SET seen = s.seen + n.new, updated_at = now() "
            "FROM unnest(%b::text[], %b::bigint[]) AS n(projection, new) "
            "WHERE s.projection = n.projection",
            (
                *_columns(versions, 3),
                *_columns(positions, 6),
                list(self.new),
                list(self.new.values()),
            ),
        )


def _columns(rows: list[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """Rows as one list per column (`width` empty lists for no rows)."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * width
