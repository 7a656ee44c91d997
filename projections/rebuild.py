"""Rebuild a read model from zero: replay the whole notification log into a fresh schema,
then swap the new tables in atomically. The API keeps answering from the old tables
until the swap; the live projector waits for the swap and continues after it, its
copies of already-rebuilt events dropped by (aggregate, version).

Set-based (ADR 0030): up to a position fixed first, the events a projection declares in
`bulk_inserts` are inserted by the server straight from the stored events (one
statement per event type and range of notification ids, `loaders` connections at once,
the per-aggregate versions built beside them, the fresh tables' indexes after); then the
other events it handles up to that position are read (only theirs, by stored topic) and
applied in order; then everything after it, as before."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from psycopg.sql import SQL, Identifier

from infra.database import Database
from infra.envelope import Envelope, plain_json
from infra.log_reader import LogPosition, NotificationLogReader, position_of, stored_topics
from projections.bookkeeping import LOG_STREAM, lock_projections, sql_literal, versions_partition
from projections.projection import Projection
from projections.runner import ProjectionRunner

Progress = Callable[[int, int], None]
T = TypeVar("T")


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
        loaders: int = 2,
    ) -> None:
        self.db = db
        self.reader = reader
        self.make_projection = make_projection
        self.batch_size = batch_size
        self.loaders = loaders  # connections loading chunks of the log at once

    def run(self, on_progress: Progress | None = None) -> RebuildReport:
        live = self.make_projection("public")
        staging_schema = f"rebuild_{live.name}"
        fresh = self.make_projection(staging_schema)
        started = time.perf_counter()
        with self.db.transaction() as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{staging_schema}" CASCADE')
            fresh.create_tables(conn)
            (total,) = conn.execute("SELECT count(*) FROM libshare_events").fetchone() or (0,)
        # The bookkeeping (the versions' parent table among it) before the versions' build.
        ProjectionRunner(self.db, [live]).setup()
        position, seen, applied = LogPosition(), 0, 0
        plan = self._plan(fresh)
        versioned = None  # the position the versions were built up to, if they were
        if plan is not None:
            position, seen, applied = self._two_passes(fresh, *plan, total, on_progress)
            versioned = position
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
        # The versions up to here, beside the fresh tables, before taking the lock.
        if versioned != position:
            with self.db.transaction(durable=False) as conn:
                if versioned is None:
                    self._versions(conn, fresh, LogPosition(), position, first=True)
                else:  # the events replayed after the set-based pass raise theirs
                    self._versions(conn, fresh, versioned, position, first=False)
        # Swap: hold the live projection's lock (its runner waits), catch up, move.
        with self.db.transaction() as conn:
            lock_projections(conn, [live.name])
            built = position
            while batch := self.reader.read(conn, position, self.batch_size):
                applied += self._apply(conn, fresh, batch)
                seen += len(batch)
                position = LogPosition(batch[-1].xid, batch[-1].notification_id)
            if position != built:
                self._versions(conn, fresh, built, position, first=False)
            self._swap(conn, live, fresh, position, seen)
        if on_progress:
            on_progress(seen, seen)
        return RebuildReport(live.name, seen, applied, time.perf_counter() - started)

    def _plan(self, projection: Projection) -> tuple[dict[str, Sequence[str]], list[str]] | None:
        """(stored topic -> its bulk statements, the stored topics of the other events
        handled), or None where events cannot be picked by topic (a type outside the
        contract) and everything is read in order."""
        bulk = dict(projection.bulk_inserts()) if plain_json(self.reader.mapper) else {}
        assert all(name.endswith(".v1") for name in bulk), "upcast types are not set-based"
        rest = stored_topics(projection.handles - bulk.keys())
        bulk_topics = stored_topics(bulk)
        if rest is None or bulk_topics is None:
            return None
        return dict(zip(bulk_topics, (bulk[name] for name in sorted(bulk)), strict=True)), rest

    def _two_passes(
        self,
        fresh: Projection,
        bulk: dict[str, Sequence[str]],
        rest: list[str],
        total: int,
        on_progress: Progress | None,
    ) -> tuple[LogPosition, int, int]:
        """Up to the last position safe to read now: the bulk types by the server, in
        ranges of `batch_size` notification ids, each in its own transaction, `loaders`
        at a time, with the versions built beside them and the fresh tables' indexes
        after (a table's at a time); then the rest in order. Returns that position, the
        events up to it and those applied."""
        with self.db.transaction(durable=False) as conn:
            upto = self.reader.last_safe(conn)
            seen, first, last, others = self._span(conn, upto, rest)
            indexes = _drop_indexes(conn, fresh.schema) if bulk else {}
        step = self.batch_size
        ranges = [(lo, min(lo + step, last)) for lo in range(first - 1, last, step)] if bulk else []
        applied = 0
        with ThreadPoolExecutor(self.loaders, thread_name_prefix="rebuild-load") as pool:
            # The versions read only the log and write a table of their own: beside the load.
            versions = pool.submit(self._first_versions, fresh, upto)
            loads = [pool.submit(self._load_range, bulk, upto, lo, hi) for lo, hi in ranges]
            done = 0
            for chunk in _completed(loads):
                applied += chunk
                done = min(done + step, seen)
                if on_progress and done < seen:
                    on_progress(done, max(total, seen))
            # Built after the load: one sort each, one table's at a time (they lock it).
            builds = [pool.submit(self._run_all, statements) for statements in indexes.values()]
            for _ in _completed([versions, *builds]):
                pass
        after = LogPosition()
        while others:
            with self.db.transaction(durable=False) as conn:
                batch = self.reader.read_topics(conn, after, upto, rest, step)
                applied += self._apply(conn, fresh, batch)
            if not batch:
                break
            after = position_of(batch[-1])
        if on_progress:
            on_progress(seen, max(total, seen))
        return upto, seen, applied

    def _span(
        self, conn: psycopg.Connection[Any], upto: LogPosition, topics: list[str]
    ) -> tuple[int, int, int, int]:
        """Up to `upto`: the events, the first and last notification ids, and how many
        events have one of `topics` (one scan of the log)."""
        row = conn.execute(
            SQL(
                "SELECT count(*), coalesce(min(notification_id), 0), "
                "coalesce(max(notification_id), 0), count(*) FILTER (WHERE topic = ANY(%s)) "
                "FROM {t} WHERE (xid, notification_id) <= (%s::text::xid8, %s)"
            ).format(t=Identifier(self.reader.table)),
            (topics, str(upto.xid), upto.notification_id),
        ).fetchone()
        assert row is not None
        return int(row[0]), int(row[1]), int(row[2]), int(row[3])

    def _load_range(
        self, bulk: dict[str, Sequence[str]], upto: LogPosition, lo: int, hi: int
    ) -> int:
        with self.db.transaction(durable=False) as conn:
            return sum(
                self._insert_set(conn, topic, statements, upto, lo, hi)
                for topic, statements in bulk.items()
            )

    def _first_versions(self, fresh: Projection, upto: LogPosition) -> None:
        with self.db.transaction(durable=False) as conn:
            self._versions(conn, fresh, LogPosition(), upto, first=True)

    def _run_all(self, statements: Sequence[str]) -> None:
        with self.db.transaction(durable=False) as conn:
            for statement in statements:
                conn.execute(statement)

    def _insert_set(
        self,
        conn: psycopg.Connection[Any],
        topic: str,
        statements: Sequence[str],
        upto: LogPosition,
        lo: int,
        hi: int,
    ) -> int:
        """One statement: the stored events of `topic` with notification ids above `lo`
        up to `hi`, at or before `upto`, decoded once by the server (`src`), each of
        `statements` a data-modifying CTE over them. Their order does not matter: the
        bulk types' rows commute (`Projection.bulk_inserts`)."""
        source = SQL(
            "WITH src AS MATERIALIZED (SELECT e.originator_id AS aggregate_id, "
            "e.originator_version::bigint AS version, d.data, "
            "(d.data->'timestamp'->>'_data_')::timestamptz AS time FROM {t} AS e, "
            "LATERAL (SELECT convert_from(e.state, 'UTF8')::jsonb AS data) AS d "
            "WHERE e.notification_id > %s AND e.notification_id <= %s "
            "AND (e.xid, e.notification_id) <= (%s::text::xid8, %s) AND e.topic = %s)"
        ).format(t=Identifier(self.reader.table))
        inserts = "".join(f", i{n} AS ({sql})" for n, sql in enumerate(statements))
        row = conn.execute(
            source + SQL(inserts) + SQL(" SELECT count(*) FROM src"),
            (lo, hi, str(upto.xid), upto.notification_id, topic),
        ).fetchone()
        return int(row[0]) if row else 0

    def _versions(
        self,
        conn: psycopg.Connection[Any],
        fresh: Projection,
        after: LogPosition,
        upto: LogPosition,
        *,
        first: bool,
    ) -> None:
        """Each aggregate's last version after `after` up to `upto`, straight from the log,
        into the projection's versions partition in the fresh schema (ADR 0012: what the
        swap used to write into the live table). `first` makes it, keys built after the
        load; the catch-up then raises the versions of what it applied."""
        table = f'"{fresh.schema}".{versions_partition(fresh.name)}'
        if first:
            conn.execute(
                f"CREATE TABLE {table} (LIKE projection_versions, "
                f"CHECK (projection = {sql_literal(fresh.name)}))"
            )
        conn.execute(
            SQL(
                "INSERT INTO {v} (projection, aggregate_id, version) "
                "SELECT %s, originator_id, max(originator_version) FROM {t} "
                "WHERE (xid, notification_id) > (%s::text::xid8, %s) "
                "AND (xid, notification_id) <= (%s::text::xid8, %s) GROUP BY originator_id"
                + (
                    ""
                    if first
                    else " ON CONFLICT (projection, aggregate_id) DO UPDATE "
                    "SET version = EXCLUDED.version"
                )
            ).format(v=SQL(table), t=Identifier(self.reader.table)),
            (
                fresh.name,
                str(after.xid),
                after.notification_id,
                str(upto.xid),
                upto.notification_id,
            ),
        )
        if first:
            conn.execute(f"ALTER TABLE {table} ADD PRIMARY KEY (projection, aggregate_id)")

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
        name = live.name
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
        # The versions' partition built beside the fresh tables replaces the live one:
        # catalogue changes only, no rows rewritten under the lock (its CHECK spares the
        # attach a scan, its key is the parent's index already). Last, after the
        # positions: the runners' start-up DDL (another rebuild's, say) locks the
        # positions before the versions, and so does this, so neither waits in a circle.
        partition = versions_partition(name)
        conn.execute(f'DROP TABLE IF EXISTS "{live.schema}".{partition}')
        conn.execute(f'ALTER TABLE "{fresh.schema}".{partition} SET SCHEMA "{live.schema}"')
        conn.execute(
            f'ALTER TABLE projection_versions ATTACH PARTITION "{live.schema}".{partition} '
            f"FOR VALUES IN ({sql_literal(name)})"
        )
        conn.execute(f'DROP SCHEMA "{fresh.schema}" CASCADE')


def _completed(futures: Sequence[Future[T]]) -> Iterator[T]:
    """Each future's result as it ends; the first failure cancels those not started and
    is raised once the running ones have ended (the old read model keeps serving)."""
    try:
        for future in as_completed(futures):
            yield future.result()
    except BaseException:
        for future in futures:
            future.cancel()
        wait(futures)
        raise


def _drop_indexes(conn: psycopg.Connection[Any], schema: str) -> dict[str, list[str]]:
    """Drop the fresh schema's keys and indexes; return the statements that make them
    again after the bulk load (a sort each), by table. Measured on 30,000 registrations (server
    CPU per event, ADR 0030): loading with the five indexes 28-38 us, without them 17-22
    us, building the five afterwards ~5 us."""
    keys = conn.execute(
        "SELECT conrelid::regclass::text, "
        "format('ALTER TABLE %%s ADD CONSTRAINT %%I %%s', conrelid::regclass, conname, "
        "pg_get_constraintdef(oid)), format('ALTER TABLE %%s DROP CONSTRAINT %%I', "
        "conrelid::regclass, conname) FROM pg_constraint "
        "WHERE connamespace = %s::regnamespace AND contype IN ('p', 'u') ORDER BY conname",
        (f'"{schema}"',),
    ).fetchall()
    others = conn.execute(
        "SELECT i.indrelid::regclass::text, pg_get_indexdef(i.indexrelid), "
        "format('DROP INDEX %%s', i.indexrelid::regclass) "
        "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE c.relnamespace = %s::regnamespace AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY 1, 2",
        (f'"{schema}"',),
    ).fetchall()
    by_table: dict[str, list[str]] = {}
    for table, make, drop in (*keys, *others):
        conn.execute(drop)
        by_table.setdefault(table, []).append(make)
    return by_table
