"""One projection runner for every source. A batch of deliveries is applied to every
projection in one transaction together with each projection's stored position, so a crash
never loses or double-applies an event. Events seen twice (the relay republishes after a
crash) are dropped by (aggregate id, version). An event that fails to apply is parked in
the dead-letter table with its error and the projection goes on."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg
import structlog

from infra.database import Database
from infra.envelope import Envelope
from infra.tracing import tracer
from projections.projection import Projection

log = structlog.get_logger("libshare.projections")
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
CREATE TABLE IF NOT EXISTS projection_state (
    projection text PRIMARY KEY,
    seen bigint NOT NULL DEFAULT 0,  -- distinct events passed through (for lag)
    updated_at timestamptz NOT NULL DEFAULT now()
);
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

    def start(self, runner: ProjectionRunner) -> None: ...

    def poll(self, timeout: float) -> list[Delivery]: ...

    def committed(self, deliveries: Sequence[Delivery]) -> None: ...

    def close(self) -> None: ...


class ProjectionRunner:
    def __init__(self, db: Database, projections: Sequence[Projection]) -> None:
        self.db = db
        self.projections = list(projections)
        self.applied = 0  # events applied by this runner (all projections), for metrics

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
        """One transaction for the batch. Normally in pipeline mode: statements whose
        results nobody reads (locks, read-model changes, versions, positions) go out
        without waiting, so a projection costs two round trips (its positions and its
        aggregates' versions) instead of seven. The careful redo, with a savepoint per
        event, runs without a pipeline so that each failure is caught where it happens."""
        applied = 0
        with self.db.transaction() as conn, nullcontext() if careful else conn.pipeline():
            for p in self.projections:
                applied += self._apply_one(conn, p, deliveries, careful=careful)
        return applied

    def _apply_one(
        self,
        conn: psycopg.Connection[Any],
        p: Projection,
        deliveries: Sequence[Delivery],
        *,
        careful: bool,
    ) -> int:
        conn.execute("SELECT 1 FROM projection_state WHERE projection = %s FOR UPDATE", (p.name,))
        stored = self.positions(conn, p.name)
        fresh = [d for d in deliveries if d.position > stored.get(d.stream, (-1, -1))]
        if not fresh:
            return 0
        # Every aggregate's last version is tracked (handled or not), so copies delivered
        # again (after a relay crash: same event, new offset) are recognised and dropped.
        ids = list({d.event.aggregate_id for d in fresh})
        versions: dict[Any, int] = dict(
            conn.execute(
                "SELECT aggregate_id, version FROM projection_versions "
                "WHERE projection = %s AND aggregate_id = ANY(%b)",  # %b: binary arrays, no quoting
                (p.name, ids),
            ).fetchall()
        )
        changed: dict[Any, int] = {}
        todo: list[Envelope] = []
        new = 0
        for d in fresh:
            ev = d.event
            if ev.version <= versions.get(ev.aggregate_id, 0):
                continue  # delivered twice: already seen
            versions[ev.aggregate_id] = changed[ev.aggregate_id] = ev.version
            new += 1
            if ev.type in p.handles:
                todo.append(ev)
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
        if changed:
            save_versions(conn, p.name, changed)
        last: dict[str, tuple[int, int]] = {}
        for d in fresh:
            last[d.stream] = max(last.get(d.stream, d.position), d.position)
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO projection_positions (projection, stream, xid, position) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (projection, stream) DO UPDATE "
                "SET xid = EXCLUDED.xid, position = EXCLUDED.position, updated_at = now()",
                [(p.name, s, pos[0], pos[1]) for s, pos in last.items()],
            )
        conn.execute(
            "UPDATE projection_state SET seen = seen + %s, updated_at = now() "
            "WHERE projection = %s",
            (new, p.name),
        )
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

    def run(self, source: Source, stop: threading.Event, poll_timeout: float = 1.0) -> None:
        """Apply batches from `source` until `stop` is set. Transient errors are logged and
        retried after a pause: the stored positions make a retry safe."""
        source.start(self)
        log.info(
            "projection runner started",
            source=source.name,
            projections=[p.name for p in self.projections],
        )
        try:
            while not stop.is_set():
                try:
                    batch = source.poll(poll_timeout)
                    if batch:
                        self.apply_batch(batch)
                        source.committed(batch)
                except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                    log.warning("projection runner retrying", error=repr(exc))
                    time.sleep(1.0)
                    source.start(self)  # re-read positions: the batch may not have committed
        finally:
            source.close()


def save_versions(conn: psycopg.Connection[Any], projection: str, versions: dict[Any, int]) -> None:
    """Upsert each aggregate's last seen version in one statement."""
    conn.execute(
        "INSERT INTO projection_versions (projection, aggregate_id, version) "
        "SELECT %s, a, v FROM unnest(%b::uuid[], %b::bigint[]) AS t(a, v) "
        "ON CONFLICT (projection, aggregate_id) DO UPDATE SET version = EXCLUDED.version",
        (projection, list(versions), list(versions.values())),
    )
