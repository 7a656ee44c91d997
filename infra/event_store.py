"""The write side's store: eventsourcing's PostgreSQL application recorder, with three
columns added to its events table — the writing transaction's id (xid8), the time of
recording, and metadata (trace context, acting account) set in the same transaction.
The xid is what lets readers never skip an event that commits late (ADR 0003)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from infra.database import eventsourcing_env

APP_NAME = "libshare"
EVENTS_TABLE = f"{APP_NAME}_events"
# eventsourcing NOTIFYs this channel in every transaction that inserts events.
EVENTS_CHANNEL = EVENTS_TABLE
COMMANDS_TABLE = f"{APP_NAME}_commands"


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
        # eventsourcing's insert function, with our metadata and command key in one statement.
        # (An older four-argument version may remain for processes not yet upgraded.)
        curs.execute(
            SQL(
                "CREATE OR REPLACE FUNCTION {schema}.{fn}(metadata text, command_key text, "
                "command_fingerprint text, command_result text, events {schema}.{ev}[]) "
                "RETURNS SETOF bigint LANGUAGE plpgsql AS $$ BEGIN "
                "PERFORM set_config('libshare.event_metadata', coalesce(metadata, ''), true); "
                "IF command_key IS NOT NULL THEN "
                "INSERT INTO {schema}.{commands} (key, fingerprint, result) "
                "VALUES (command_key, command_fingerprint, command_result::jsonb); END IF; "
                "RETURN QUERY SELECT * FROM {schema}.{inner}(events); END; $$"
            ).format(
                commands=Identifier(COMMANDS_TABLE),
                schema=Identifier(self.datastore.schema),
                fn=Identifier(self._insert_function),
                ev=Identifier(self.stored_event_type_name),
                inner=Identifier(self.pg_function_name_insert_events),
            )
        )

    @property
    def _insert_function(self) -> str:
        return f"{self.events_table_name}_insert"

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
        """With db functions on, eventsourcing calls its insert function with no room for our
        metadata: we call our wrapper, which sets it and calls that function, in one
        statement (one round trip, its own transaction)."""
        if not self.datastore.enable_db_functions or not stored_events:
            return super().insert_events(stored_events, **kwargs)
        pg_events = [
            self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
            for e in stored_events
        ]
        metadata = kwargs.get("metadata")
        command = kwargs.get("command") or {}
        statement = SQL("SELECT * FROM {schema}.{fn}(%s, %s, %s, %s, %s)").format(
            schema=Identifier(self.datastore.schema), fn=Identifier(self._insert_function)
        )
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                statement,
                (
                    json.dumps(metadata, ensure_ascii=False) if metadata else None,
                    command.get("key"),
                    command.get("fingerprint"),
                    json.dumps(command["result"], ensure_ascii=False) if command else None,
                    pg_events,
                ),
                prepare=True,
            )
            return [r[self._insert_function] for r in curs.fetchall()]


def event_store_env(database_url: str, *, db_functions: bool = True) -> dict[str, str]:
    """Environment for eventsourcing's factory: PostgreSQL, our recorder, tables created."""
    return {
        **eventsourcing_env(database_url),
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "APPLICATION_RECORDER_TOPIC": f"{__name__}:LibshareRecorder",
        "CREATE_TABLE": "y",
        "POSTGRES_POOL_SIZE": "4",
        "POSTGRES_MAX_OVERFLOW": "12",
        # On: one pipelined round trip, no table lock. Off: writers serialise on LOCK TABLE
        # (eventsourcing's default). Metadata is recorded and readers are gap-aware either
        # way (ADR 0003).
        "POSTGRES_ENABLE_DB_FUNCTIONS": "y" if db_functions else "n",
        "IS_SNAPSHOTTING_ENABLED": "n",
    }
