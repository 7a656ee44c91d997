"""The network as of an instant (issue 15, item 5; ADR 0027): every read model replayed
from the event store up to that instant — the events recorded at or before it, in the
log's order — into a schema of its own, where the read side's own queries run unchanged
(the schema is the connection's search path). A view of an instant more than
`SETTLED` ago is kept and served again; a nearer one is built afresh each time, since a
transaction still in flight may yet commit events recorded before it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import Mapper, StoredEvent

from infra.database import Database
from infra.envelope import Envelope, from_stored
from infra.event_store import EVENTS_TABLE
from projections.projection import Projection

SETTLED = timedelta(minutes=5)
_DDL = """
CREATE TABLE IF NOT EXISTS as_of_views (
    schema text PRIMARY KEY,
    instant timestamptz NOT NULL,
    events bigint NOT NULL,
    built_at timestamptz NOT NULL DEFAULT now()
)
"""
_EVENTS = (
    "SELECT notification_id, xid::text::bigint, originator_id, originator_version, topic, "
    f"state, metadata FROM {EVENTS_TABLE} WHERE recorded_at <= %s "
    "ORDER BY xid, notification_id"
)


def schema_for(instant: datetime) -> str:
    return f"as_of_{instant.astimezone(UTC):%Y%m%dt%H%M%S%f}"


def events_until(
    conn: psycopg.Connection[Any], mapper: Mapper[UUID], instant: datetime, chunk: int = 5000
) -> Iterator[list[Envelope]]:
    with conn.cursor(name="as_of_events") as cur:
        cur.itersize = chunk
        cur.execute(_EVENTS, (instant,))
        while rows := cur.fetchmany(chunk):
            yield [
                from_stored(
                    mapper,
                    StoredEvent(originator_id=o, originator_version=v, topic=t, state=bytes(s)),
                    notification_id=nid,
                    xid=xid,
                    metadata=m,
                )
                for nid, xid, o, v, t, s, m in rows
            ]


def build(
    db: Database,
    mapper: Mapper[UUID],
    make: Callable[[str, str], Projection],
    names: list[str],
    instant: datetime,
    now: datetime,
) -> str:
    """The schema holding every read model as of `instant` (built if need be)."""
    schema = schema_for(instant)
    keep = instant <= now - SETTLED
    with db.transaction() as conn:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('libshare-as-of'))")
        conn.execute(_DDL)
        if (
            keep
            and conn.execute("SELECT 1 FROM as_of_views WHERE schema = %s", (schema,)).fetchone()
        ):
            return schema
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute("DELETE FROM as_of_views WHERE schema = %s", (schema,))
        fresh = [make(name, schema) for name in names]
        for p in fresh:
            p.create_tables(conn)
        count = 0
        for batch in events_until(conn, mapper, instant):
            for p in fresh:
                p.apply_many(conn, [e for e in batch if e.type in p.handles])
            count += len(batch)
        conn.execute(
            "INSERT INTO as_of_views (schema, instant, events) VALUES (%s, %s, %s)",
            (schema, instant, count),
        )
    return schema


@contextmanager
def reading(db: Database, schema: str) -> Iterator[psycopg.Connection[Any]]:
    """A transaction whose unqualified tables are the read models as of the schema's
    instant: the view holds every projection's tables; `public` comes after it only for
    what is not a read model (the extensions' functions and operators, e.g. pg_trgm's)."""
    with db.transaction() as conn:
        conn.execute(f'SET LOCAL search_path TO "{schema}", public')
        yield conn
