"""One projection runner for every source. A batch of deliveries is applied to every
projection in one transaction together with each projection's stored position, so a crash
never loses or double-applies an event. Events seen twice (the relay republishes after a
crash) are dropped by their place in the log and, for the events a projection applies,
by (aggregate id, version) (ADR 0012). An event that fails to apply is parked in the
dead-letter table with its error and the projection goes on. The bookkeeping (positions,
floors, versions, the lock) is in `bookkeeping.py`, the dead letters in `dead_letters.py`."""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Sequence
from contextlib import nullcontext
from typing import Any, Protocol

import psycopg
import structlog

from infra.database import Database
from infra.envelope import Envelope
from infra.heartbeats import Heartbeat
from infra.heartbeats import ensure_table as ensure_heartbeats
from infra.tracing import tracer
from projections.bookkeeping import (
    BOOKKEEPING_DDL,
    Delivery,
    Marks,
    Position,
    create_versions_partition,
    read_positions,
)
from projections.dead_letters import DEAD_LETTERS_DDL, park
from projections.projection import Projection

log = structlog.get_logger("libshare.projections")

_tracer = tracer("libshare.projections")


class Source(Protocol):
    name: str
    kafka_ok: bool | None  # None: the source does not use Kafka

    def start(self, runner: ProjectionRunner) -> None: ...

    def poll(self, timeout: float) -> list[Delivery]: ...

    def committed(self, deliveries: Sequence[Delivery]) -> None: ...

    def failed(self, exc: Exception) -> None:
        """Told of a failure: throws its client away if the failure was the client's
        (`start` then makes a fresh one); either way `start` seeks the stored positions."""
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
        ddl = [BOOKKEEPING_DDL, DEAD_LETTERS_DDL, *(p.ddl for p in self.projections)]
        digest = hashlib.sha256("\n".join(ddl).encode()).hexdigest()
        with self.db.transaction() as conn:
            # Serialise concurrent start-ups (API and workers may start together).
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('libshare-projection-setup'))")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS projection_schema (id int PRIMARY KEY, digest text)"
            )
            done = conn.execute("SELECT digest FROM projection_schema WHERE id = 1").fetchone()
            # The tables as this code makes them exist already: run no DDL, whose ALTERs
            # would take exclusive locks while processes started before read the tables
            # (a deadlock seen when the layout's processes start together).
            if done is None or done[0] != digest:
                conn.execute(BOOKKEEPING_DDL)
                conn.execute(DEAD_LETTERS_DDL)
                for p in self.projections:
                    p.create_tables(conn)
                    create_versions_partition(conn, p.name)
                conn.execute(
                    "INSERT INTO projection_schema VALUES (1, %s) "
                    "ON CONFLICT (id) DO UPDATE SET digest = EXCLUDED.digest",
                    (digest,),
                )
            for p in self.projections:
                conn.execute(
                    "INSERT INTO projection_state (projection) VALUES (%s) ON CONFLICT DO NOTHING",
                    (p.name,),
                )
        ensure_heartbeats(self.db)

    def positions(self, conn: psycopg.Connection[Any], name: str) -> dict[str, Position]:
        return read_positions(conn, [name])[name]

    def stored_positions(self) -> dict[str, dict[str, Position]]:
        with self.db.transaction() as conn:
            return read_positions(conn, [p.name for p in self.projections])

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
            marks = Marks.read(conn, names, deliveries)
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
        marks: Marks,
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
                    park(conn, p.name, ev, exc)
                    applied -= 1
        else:
            p.apply_many(conn, todo)
        return applied

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
                    source.failed(exc)
                    started = False  # start again from the stored positions
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
