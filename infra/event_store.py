"""The write side's store: eventsourcing's PostgreSQL application recorder, with three
columns added to its events table — the writing transaction's id (xid8), the time of
recording, and metadata (trace context, acting account) set in the same transaction.
The xid is what lets readers never skip an event that commits late (ADR 0003)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from infra.batch_insert import BatchInsert, Save
from infra.commit_notifier import CommitNotifier
from infra.commit_queue import CommitQueue
from infra.database import eventsourcing_env

APP_NAME = "libshare"
EVENTS_TABLE = f"{APP_NAME}_events"
# Followers LISTEN here: woken after each commit of events (infra/commit_notifier.py).
EVENTS_CHANNEL = EVENTS_TABLE
COMMANDS_TABLE = f"{APP_NAME}_commands"
# Batches of the commit queue written at once, each on its own connection (ADR 0030).
COMMIT_WRITERS = 2


@dataclass(frozen=True)
class RecordedCommand:
    fingerprint: str | None  # None for commands recorded before fingerprints
    result: dict[str, Any]


class LibshareRecorder(PostgresApplicationRecorder):
    """Adds xid, recorded_at and metadata to each stored event, in the inserting transaction."""

    def _create_table(self, curs: Cursor[DictRow]) -> None:
        super()._create_table(curs)
        table = Identifier(self.datastore.schema, self.events_table_name)
        curs.execute(
            SQL(
                "ALTER TABLE {t} "
                "ADD COLUMN IF NOT EXISTS xid xid8 NOT NULL DEFAULT pg_current_xact_id(), "
                "ADD COLUMN IF NOT EXISTS recorded_at timestamptz NOT NULL "
                "DEFAULT clock_timestamp(), "
                "ADD COLUMN IF NOT EXISTS metadata jsonb "
                "DEFAULT nullif(current_setting('libshare.event_metadata', true), '')::jsonb"
            ).format(t=table)
        )
        curs.execute(
            SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (xid, notification_id)").format(
                i=Identifier(f"{self.events_table_name}_xid_idx"), t=table
            )
        )
        # Commands' idempotency keys, what each command was (a fingerprint of its name and
        # arguments: a key reused for another command is refused) and its first result,
        # written with the command's events. Keys recorded before fingerprints have none.
        commands = Identifier(self.datastore.schema, COMMANDS_TABLE)
        curs.execute(
            SQL(
                "CREATE TABLE IF NOT EXISTS {t} (key text PRIMARY KEY, "
                "result jsonb NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now())"
            ).format(t=commands)
        )
        curs.execute(
            SQL("ALTER TABLE {t} ADD COLUMN IF NOT EXISTS fingerprint text").format(t=commands)
        )

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        pool = datastore.pool
        conninfo, kwargs = str(pool.conninfo), dict(pool.kwargs or {})  # type: ignore[arg-type]
        self.commit_notifier = CommitNotifier(
            lambda: psycopg.connect(conninfo, **kwargs, autocommit=True),
            self.channel_name,
        )
        self._batch = BatchInsert(
            datastore.schema, self.events_table_name, COMMANDS_TABLE, datastore.originator_id_type
        )
        self.commit_queue: CommitQueue[Save] = CommitQueue(self._write, writers=COMMIT_WRITERS)

    def close(self) -> None:
        """Stop the commit notifier (and its connection)."""
        self.commit_notifier.close()

    def _insert_statement(self, rows: str) -> bytes:
        """Events, their metadata and the command's key in one plain statement (one
        round trip, its own transaction): no plpgsql, no composite type to adapt, no
        NOTIFY inside the transaction (the commit notifier wakes followers, ADR 0009).
        Parameters: key, fingerprint, result, key again, then `rows`' own."""
        return (
            SQL(
                "WITH command AS (INSERT INTO {schema}.{commands} (key, fingerprint, result) "
                "SELECT %s::text, %s::text, %s::jsonb WHERE %s::text IS NOT NULL) "
                "INSERT INTO {schema}.{events} "
                "(originator_id, originator_version, topic, state, metadata) {rows} "
                "RETURNING notification_id"
            )
            .format(
                schema=Identifier(self.datastore.schema),
                commands=Identifier(COMMANDS_TABLE),
                events=Identifier(self.events_table_name),
                rows=SQL(rows).format(id_type=SQL(self.datastore.originator_id_type)),
            )
            .as_bytes(None)
        )

    @cached_property
    def _insert_one(self) -> bytes:
        """For a save of one event (most commands): scalar parameters, which psycopg
        adapts in C, where arrays cost a Python list dumper each."""
        return self._insert_statement(
            "VALUES (%s::{id_type}, %s::bigint, %s::text, %s::bytea, %s::jsonb)"
        )

    @cached_property
    def _insert_many(self) -> bytes:
        return self._insert_statement(
            "SELECT e.*, %s::jsonb FROM unnest(%b::{id_type}[], %b::bigint[], "
            "%b::text[], %b::bytea[]) AS e"
        )

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        self._set_metadata(curs, kwargs.get("metadata"))
        command = kwargs.get("command")
        if command:
            curs.execute(
                SQL("INSERT INTO {t} (key, fingerprint, result) VALUES (%s, %s, %s)").format(
                    t=Identifier(self.datastore.schema, COMMANDS_TABLE)
                ),
                (
                    command["key"],
                    command.get("fingerprint"),
                    json.dumps(command["result"], ensure_ascii=False),
                ),
            )
        super()._insert_events(curs, stored_events, **kwargs)

    def stored_ids(self, ids: list[Any]) -> set[Any]:
        """Which of these aggregate ids have events (one query for a batch: an import
        asks about hundreds of records, keys and copies at once)."""
        if not ids:
            return set()
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                SQL(
                    "SELECT DISTINCT originator_id FROM {t} WHERE originator_id = ANY(%s) "
                    "AND originator_version = 1"
                ).format(t=Identifier(self.datastore.schema, self.events_table_name)),
                (ids,),
            )
            return {row["originator_id"] for row in curs.fetchall()}

    def recorded_command(self, key: str) -> RecordedCommand | None:
        """The command recorded with this idempotency key (its fingerprint and first
        result), if there is one."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                SQL("SELECT fingerprint, result FROM {t} WHERE key = %s").format(
                    t=Identifier(self.datastore.schema, COMMANDS_TABLE)
                ),
                (key,),
            )
            row = curs.fetchone()
        return RecordedCommand(row["fingerprint"], dict(row["result"])) if row else None

    @staticmethod
    def _set_metadata(curs: Cursor[DictRow], metadata: dict[str, Any] | None) -> None:
        if metadata:
            curs.execute(
                "SELECT set_config('libshare.event_metadata', %s, true)",
                (json.dumps(metadata, ensure_ascii=False),),
            )

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Without the table lock (db functions on, ADR 0003): one statement, then a
        wake-up for the followers once it has committed (ADR 0009). With the lock:
        eventsourcing's pipelined transaction, our metadata and command key first."""
        if not self.datastore.enable_db_functions or not stored_events:
            ids: Sequence[int] | None = super().insert_events(stored_events, **kwargs)
            return ids
        metadata = kwargs.get("metadata")
        command = kwargs.get("command") or {}
        save = Save(
            stored_events,
            json.dumps(metadata, ensure_ascii=False) if metadata else None,
            command.get("key"),
            command.get("fingerprint"),
            json.dumps(command["result"], ensure_ascii=False) if command else None,
        )
        return self.commit_queue.submit(save)

    def _write(self, saves: Sequence[Save]) -> Sequence[Sequence[int] | BaseException]:
        """Write a batch of the commit queue (infra/commit_queue.py): one save alone in
        the one-save statement, several in one statement that checks each (ADR 0030)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            if len(saves) == 1:
                outcomes: Sequence[Sequence[int] | BaseException] = [self._write_one(curs, *saves)]
            else:
                outcomes = self._batch.write(curs, saves)
        self.commit_notifier.committed()
        return outcomes

    def _write_one(self, curs: Cursor[DictRow], save: Save) -> list[int]:
        stored_events = save.events
        params: tuple[Any, ...] = (save.key, save.fingerprint, save.result, save.key)
        if len(stored_events) == 1:
            (e,) = stored_events
            statement = self._insert_one
            params += (e.originator_id, e.originator_version, e.topic, e.state, save.metadata)
        else:
            statement = self._insert_many
            params += (
                save.metadata,
                [e.originator_id for e in stored_events],
                [e.originator_version for e in stored_events],
                [e.topic for e in stored_events],
                [e.state for e in stored_events],
            )
        curs.execute(statement, params, prepare=True)
        return [r["notification_id"] for r in curs.fetchall()]


def event_store_env(database_url: str, *, db_functions: bool = True) -> dict[str, str]:
    """Environment for eventsourcing's factory: PostgreSQL, our recorder, tables created."""
    return {
        **eventsourcing_env(database_url),
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "APPLICATION_RECORDER_TOPIC": f"{__name__}:LibshareRecorder",
        "CREATE_TABLE": "y",
        "POSTGRES_POOL_SIZE": "4",
        "POSTGRES_MAX_OVERFLOW": "12",
        # Also how long a caller waits for a pooled connection. eventsourcing tries each
        # read ten times, so while the server refuses connections a command answers 503
        # within about 20 s, not 50 (ADR 0019).
        "POSTGRES_CONNECT_TIMEOUT": "2",
        # On: one pipelined round trip, no table lock. Off: writers serialise on LOCK TABLE
        # (eventsourcing's default). Metadata is recorded and readers are gap-aware either
        # way (ADR 0003).
        "POSTGRES_ENABLE_DB_FUNCTIONS": "y" if db_functions else "n",
        "IS_SNAPSHOTTING_ENABLED": "n",
    }
