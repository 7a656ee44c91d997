"""The event store read for a backup, and written by a restore (ADR 0024).

Reading: one REPEATABLE READ, READ ONLY transaction on a connection of its own, so every
table is read as of one instant while commands go on. It takes no lock a writer waits
for, and it never gets a transaction id, so the gap-aware readers (whose horizon is the
oldest running transaction id, ADR 0003) are not held back by it either.

Writing: COPY into an empty store, in as few transactions as keep the log's order. The
readers order the log by (writing transaction, notification id). Events are written in
that order, a new transaction whenever the notification id goes down (a transaction
that committed after a later one took its ids): within a transaction ids ascend, and
each transaction's id is above the last, so the restored log reads in the same order."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier

from infra.backup_archive import EventRow
from infra.envelope import instant_text
from infra.event_store import COMMANDS_TABLE, EVENTS_TABLE

# Tables that hold secrets or what they protect, restored with the keys (never in the log).
SECRET_TABLES = ("reader_keys", "partner_secrets", "account_passwords", "account_api_keys")
EVENT_COLUMNS = (
    "notification_id, originator_id, originator_version, topic, state, metadata, recorded_at"
)


class Snapshot:
    """The store as of one instant (a context manager)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn: psycopg.Connection[Any] | None = None

    def __enter__(self) -> Snapshot:
        self.conn = psycopg.connect(self.url)
        # Set before the first statement: psycopg begins the transaction with them.
        self.conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        self.conn.read_only = True
        self.conn.execute("SELECT 1 FROM libshare_events LIMIT 1")  # the snapshot is taken
        return self

    def __exit__(self, *exc: object) -> None:
        if self.conn is not None:
            self.conn.rollback()
            self.conn.close()

    def _one(self, query: str, params: tuple[Any, ...] = ()) -> Any:
        assert self.conn is not None
        row = self.conn.execute(query, params).fetchone()
        return row[0] if row else None

    def count_events(self) -> int:
        return int(self._one(f"SELECT count(*) FROM {EVENTS_TABLE}"))

    def events(self, batch: int = 5000) -> Iterator[EventRow]:
        """Every event, in the order the log's readers see them."""
        assert self.conn is not None
        with self.conn.cursor(name="libshare_backup_events") as cur:
            cur.itersize = batch
            cur.execute(
                f"SELECT {EVENT_COLUMNS}, xid::text::bigint FROM {EVENTS_TABLE} "
                "ORDER BY xid, notification_id"
            )
            for nid, oid, version, topic, state, metadata, recorded_at, xid in cur:
                yield EventRow(
                    nid, str(oid), version, topic, bytes(state), metadata,
                    instant_text(recorded_at), xid,
                )  # fmt: skip

    def commands(self) -> Iterator[list[Any]]:
        assert self.conn is not None
        with self.conn.cursor(name="libshare_backup_commands") as cur:
            cur.itersize = 5000
            cur.execute(
                f"SELECT key, fingerprint, result, recorded_at FROM {COMMANDS_TABLE} ORDER BY key"
            )
            for key, fingerprint, result, recorded_at in cur:
                yield [key, fingerprint, result, instant_text(recorded_at)]

    def secret_tables(self) -> dict[str, list[dict[str, Any]]]:
        """Each secrets table as JSON rows (bytea as hex text: what it reads back from)."""
        found: dict[str, list[dict[str, Any]]] = {}
        for table in SECRET_TABLES:
            if self._one("SELECT to_regclass(%s)", (table,)) is None:
                continue
            found[table] = self._one(
                SQL("SELECT coalesce(json_agg(t), '[]'::json) FROM {} AS t")
                .format(Identifier(table))
                .as_string(None)
            )
        return found

    def checkpoint(self) -> dict[str, Any] | None:
        """The verifiable log's latest signed checkpoint (ADR 0026) as of the snapshot:
        its tree size and its signed note, which witnesses hold too. A store restored
        from the backup logs the same leaves again, so its tree of that size has the
        same root (None: no checkpoint signed yet)."""
        if self._one("SELECT to_regclass('audit_checkpoints')") is None:
            return None
        assert self.conn is not None
        row = self.conn.execute(
            "SELECT size, note FROM audit_checkpoints ORDER BY size DESC LIMIT 1"
        ).fetchone()
        return {"size": int(row[0]), "note": str(row[1])} if row else None

    def relayed(self) -> int:
        """How many events, in log order, the relay had published (0 without a relay)."""
        if self._one("SELECT to_regclass('relay_positions')") is None:
            return 0
        return int(
            self._one(
                f"SELECT count(*) FROM {EVENTS_TABLE} e, relay_positions r "
                "WHERE r.relay = 'kafka' AND (e.xid, e.notification_id) <= "
                "(r.xid::text::xid8, r.notification_id)"
            )
        )


def store_digest_rows(url: str) -> list[EventRow]:
    """The store's events in log order (for comparing a restored store with the lost one)."""
    with Snapshot(url) as snap:
        return list(snap.events())


def nonempty_tables(conn: psycopg.Connection[Any]) -> list[str]:
    """The store's tables that hold rows already (a restore refuses to write over them)."""
    found = []
    for table in (EVENTS_TABLE, COMMANDS_TABLE, *SECRET_TABLES):
        if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone() == (None,):
            continue
        q = SQL("SELECT EXISTS (SELECT 1 FROM {})").format(Identifier(table))
        row = conn.execute(q).fetchone()
        if row and row[0]:
            found.append(table)
    return found


def wipe(conn: psycopg.Connection[Any]) -> None:
    """Empty the store's own tables (`--force`): the read models are rebuilt after."""
    for table in (EVENTS_TABLE, COMMANDS_TABLE, *SECRET_TABLES):
        if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone() != (None,):
            conn.execute(SQL("TRUNCATE {}").format(Identifier(table)))


@dataclass
class Written:
    """What a restore wrote, and the restored log position (xid, notification id) of
    the `mark`-th event (where the relay goes on from: what was on Kafka already)."""

    events: int = 0
    max_notification_id: int = 0
    transactions: int = 0
    mark: tuple[int, int] = (0, 0)


def write_events(
    conn: psycopg.Connection[Any],
    rows: Iterable[EventRow],
    *,
    mark: int = 0,
) -> Written:
    """Write `rows` (in log order) into the empty events table, keeping that order."""
    written = Written()
    copy_sql = f"COPY {EVENTS_TABLE} ({EVENT_COLUMNS}) FROM STDIN"
    last_nid: int | None = None
    marked_nid: int | None = None
    stack = ExitStack()
    copy: Any = None

    def end_transaction() -> None:
        nonlocal copy, marked_nid
        if copy is None:
            return
        stack.close()
        copy = None
        row = conn.execute("SELECT pg_current_xact_id()::text::bigint").fetchone()
        assert row is not None
        conn.commit()
        written.transactions += 1
        if marked_nid is not None:
            written.mark, marked_nid = (int(row[0]), marked_nid), None

    try:
        for row in rows:
            if last_nid is not None and row.notification_id < last_nid:
                end_transaction()
            if copy is None:
                copy = stack.enter_context(conn.cursor().copy(copy_sql))
            copy.write_row(
                (
                    row.notification_id, row.originator_id, row.originator_version, row.topic,
                    row.state, _json(row.metadata), row.recorded_at,
                )
            )  # fmt: skip
            last_nid = row.notification_id
            written.events += 1
            if written.events == mark:
                marked_nid = row.notification_id
            written.max_notification_id = max(written.max_notification_id, row.notification_id)
        end_transaction()
    except BaseException:
        with contextlib.suppress(Exception):  # the copy ends with the error: roll back
            stack.close()
        conn.rollback()
        raise
    conn.execute(
        "SELECT setval(pg_get_serial_sequence(%s, 'notification_id'), %s)",
        (EVENTS_TABLE, max(written.max_notification_id, 1)),
    )
    conn.commit()
    return written


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def write_commands(conn: psycopg.Connection[Any], rows: Iterable[list[Any]]) -> int:
    n = 0
    with conn.cursor().copy(
        f"COPY {COMMANDS_TABLE} (key, fingerprint, result, recorded_at) FROM STDIN"
    ) as copy:
        for key, fingerprint, result, recorded_at in rows:
            copy.write_row((key, fingerprint, _json(result), recorded_at))
            n += 1
    conn.commit()
    return n


def write_secret_tables(
    conn: psycopg.Connection[Any], tables: dict[str, list[dict[str, Any]]]
) -> dict[str, int]:
    counts = {}
    for table, rows in tables.items():
        name = Identifier(table)
        conn.execute(
            SQL("INSERT INTO {} SELECT * FROM json_populate_recordset(NULL::{}, %s::json)").format(
                name, name
            ),
            (json.dumps(rows, ensure_ascii=False),),
        )
        counts[table] = len(rows)
    conn.commit()
    return counts
