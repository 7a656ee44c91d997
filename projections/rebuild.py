"""Rebuild a read model from zero: replay the whole notification log into a fresh schema,
then swap the new tables in atomically. The API keeps answering from the old tables
until the swap; the live projector waits for the swap and continues after it, its
copies of already-rebuilt events dropped by (aggregate, version)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier

from infra.database import Database
from infra.envelope import Envelope
from infra.log_reader import LogPosition, NotificationLogReader
from projections.bookkeeping import LOG_STREAM, lock_projections
from projections.projection import Projection
from projections.runner import ProjectionRunner

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RebuildReport:
    projection: str
    events: int
    applied: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("inf")


class Rebuild:
    def __init__(
        self,
        db: Database,
        reader: NotificationLogReader,
        make_projection: Callable[[str], Projection],
        batch_size: int = 5000,
    ) -> None:
        self.db = db
        self.reader = reader
        self.make_projection = make_projection
        self.batch_size = batch_size

    def run(self, on_progress: Progress | None = None) -> RebuildReport:
        live = self.make_projection("public")
        staging_schema = f"rebuild_{live.name}"
        fresh = self.make_projection(staging_schema)
        started = time.perf_counter()
        with self.db.transaction() as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{staging_schema}" CASCADE')
            fresh.create_tables(conn)
            (total,) = conn.execute("SELECT count(*) FROM libshare_events").fetchone() or (0,)
        position, seen, applied = LogPosition(), 0, 0
        # Replay in batches, each in its own transaction: nothing live is touched.
        while True:
            with self.db.transaction(durable=False) as conn:
                batch = self.reader.read(conn, position, self.batch_size)
                applied += self._apply(conn, fresh, batch)
            if not batch:
                break
            seen += len(batch)
            position = LogPosition(batch[-1].xid, batch[-1].notification_id)
            if on_progress:
                on_progress(seen, max(total, seen))
        # Swap: hold the live projection's lock (its runner waits), catch up, move.
        runner = ProjectionRunner(self.db, [live])
        runner.setup()
        with self.db.transaction() as conn:
            lock_projections(conn, [live.name])
            while batch := self.reader.read(conn, position, self.batch_size):
                applied += self._apply(conn, fresh, batch)
                seen += len(batch)
                position = LogPosition(batch[-1].xid, batch[-1].notification_id)
            self._swap(conn, live, fresh, position, seen)
        if on_progress:
            on_progress(seen, seen)
        return RebuildReport(live.name, seen, applied, time.perf_counter() - started)

    @staticmethod
    def _apply(
        conn: psycopg.Connection[Any],
        projection: Projection,
        batch: list[Envelope],
    ) -> int:
        todo = [ev for ev in batch if ev.type in projection.handles]
        projection.apply_many(conn, todo, copy=True)
        return len(todo)

    def _swap(
        self,
        conn: psycopg.Connection[Any],
        live: Projection,
        fresh: Projection,
        position: LogPosition,
        seen: int,
    ) -> None:
        for table in live.tables:
            conn.execute(f"DROP TABLE IF EXISTS {live.table(table)} CASCADE")
            conn.execute(f'ALTER TABLE {fresh.table(table)} SET SCHEMA "{live.schema}"')
        conn.execute(f'DROP SCHEMA "{fresh.schema}" CASCADE')
        name = live.name
        conn.execute("DELETE FROM projection_versions WHERE projection = %s", (name,))
        # Each aggregate's last version up to the rebuilt position, straight from the log.
        conn.execute(
            SQL(
                "INSERT INTO projection_versions (projection, aggregate_id, version) "
                "SELECT %s, originator_id, max(originator_version) FROM {t} "
                "WHERE (xid, notification_id) <= (%s::text::xid8, %s) GROUP BY originator_id"
            ).format(t=Identifier(self.reader.table)),
            (name, str(position.xid), position.notification_id),
        )
        # The log source resumes after the rebuilt position.
        conn.execute(
            "INSERT INTO projection_positions (projection, stream, log_xid, log_nid) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (projection, stream) DO UPDATE "
            "SET log_xid = EXCLUDED.log_xid, log_nid = EXCLUDED.log_nid, updated_at = now()",
            (name, LOG_STREAM, position.xid, position.notification_id),
        )
        # A Kafka source keeps its offsets: what it holds at or below the floor is in the
        # rebuilt tables already, and is dropped.
        conn.execute(
            "UPDATE projection_state SET seen = %s, floor_xid = %s, floor_nid = %s, "
            "updated_at = now() WHERE projection = %s",
            (seen, position.xid, position.notification_id, name),
        )
