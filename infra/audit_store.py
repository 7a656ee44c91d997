"""The verifiable log's storage (ADR 0026): one leaf per stored event, in the order the
gap-aware reader delivers commits (ADR 0003), its hash over the event's bytes as stored;
the log's state (position, size, frontier); the signed checkpoints and the witnesses'
cosignatures.

A leaf's data is five fields, each a 4-byte big-endian length and its bytes: the
aggregate id as text, its version in decimal, the event's topic, the state column as
stored (the mapper's bytes: a reader's personal data stays ciphertext), and the metadata
column as PostgreSQL prints jsonb (empty when NULL). The leaf hash is RFC 9162's
SHA-256(0x00 || data). tools/verify_libshare.py computes the same."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg

from infra.database import Database
from infra.event_store import EVENTS_TABLE
from infra.merkle import leaf_hash

AUDIT_DDL = """
CREATE TABLE IF NOT EXISTS audit_log_state (
    log text PRIMARY KEY,
    xid bigint NOT NULL DEFAULT 0,
    notification_id bigint NOT NULL DEFAULT 0,
    size bigint NOT NULL DEFAULT 0,
    frontier bytea NOT NULL DEFAULT ''::bytea,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS audit_leaves (
    leaf_index bigint PRIMARY KEY,
    notification_id bigint NOT NULL,
    originator_id uuid NOT NULL,
    originator_version bigint NOT NULL,
    hash bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_leaves_event ON audit_leaves (originator_id, originator_version);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    size bigint PRIMARY KEY,
    root bytea NOT NULL,
    note text NOT NULL,
    signed_at timestamptz NOT NULL DEFAULT now(),
    published boolean NOT NULL DEFAULT false
);
CREATE TABLE IF NOT EXISTS audit_cosignatures (
    size bigint NOT NULL,
    witness text NOT NULL,
    vkey text NOT NULL,
    line text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (size, witness)
);
"""

# The events in the log's order (ADR 0003), with the bytes a leaf covers. `_NEXT` reads
# only what has safely committed (below the snapshot's xmin); `_ALL` reads everything
# stored, as a verifier does.
_COLUMNS = (
    "e.notification_id, e.xid::text::bigint, e.originator_id::text, e.originator_version, "
    "e.topic, e.state, e.metadata::text"
)
_NEXT = (
    f"SELECT {_COLUMNS} FROM {EVENTS_TABLE} AS e "
    "WHERE (e.xid, e.notification_id) > (%s::text::xid8, %s) "
    "AND e.xid < pg_snapshot_xmin(pg_current_snapshot()) "
    "ORDER BY e.xid, e.notification_id LIMIT %s"
)
_ALL = f"SELECT {_COLUMNS} FROM {EVENTS_TABLE} AS e ORDER BY e.xid, e.notification_id"
# The same leaf data as `leaf_data`, put together by PostgreSQL from the stored columns
# (a verifier then only hashes; it reads a fifth of the values it would otherwise).
_LEAF_DATA = (
    "SELECT int4send(octet_length(o)) || o || int4send(octet_length(v)) || v "
    "|| int4send(octet_length(t)) || t || int4send(octet_length(e.state)) || e.state "
    f"|| int4send(octet_length(m)) || m FROM {EVENTS_TABLE} AS e, "
    "LATERAL (SELECT convert_to(e.originator_id::text, 'UTF8') AS o, "
    "convert_to(e.originator_version::text, 'UTF8') AS v, convert_to(e.topic, 'UTF8') AS t, "
    "coalesce(convert_to(e.metadata::text, 'UTF8'), ''::bytea) AS m) AS f "
    "ORDER BY e.xid, e.notification_id"
)

_LENGTH = struct.Struct(">I").pack


def leaf_data(
    originator_id: str, version: int, topic: str, state: bytes, meta: str | None
) -> bytes:
    v, t, m = str(version).encode(), topic.encode(), (meta or "").encode()
    o = originator_id.encode()
    parts = (_LENGTH(len(o)), o, _LENGTH(len(v)), v, _LENGTH(len(t)), t, _LENGTH(len(state)))
    return b"".join((*parts, state, _LENGTH(len(m)), m))


@dataclass(frozen=True)
class StoredRow:
    """One event as the log covers it."""

    notification_id: int
    xid: int
    originator_id: str
    version: int
    topic: str
    state: bytes
    metadata: str | None

    @property
    def leaf(self) -> bytes:
        return leaf_hash(
            leaf_data(self.originator_id, self.version, self.topic, self.state, self.metadata)
        )

    def names(self) -> str:
        return (
            f"event {self.topic.rsplit('.', 1)[-1]} of aggregate {self.originator_id} "
            f"version {self.version} (notification {self.notification_id})"
        )


def setup(db: Database) -> None:
    with db.transaction() as conn:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('libshare-audit-setup'))")
        conn.execute(AUDIT_DDL)


def next_rows(
    conn: psycopg.Connection[Any], xid: int, notification_id: int, limit: int
) -> list[StoredRow]:
    rows = conn.execute(_NEXT, (str(xid), notification_id, limit), binary=True).fetchall()
    return [StoredRow(*row) for row in rows]


def all_rows(conn: psycopg.Connection[Any], chunk: int = 20_000) -> Iterator[tuple[Any, ...]]:
    """Every stored event, in the log's order, as raw rows (a server-side cursor)."""
    with conn.cursor(name="audit_all_rows", binary=True) as cur:
        cur.itersize = chunk
        cur.execute(_ALL)
        while batch := cur.fetchmany(chunk):
            yield from batch


def all_leaf_data(conn: psycopg.Connection[Any], chunk: int = 20_000) -> Iterator[list[bytes]]:
    """Every stored event's leaf data, in the log's order, in chunks."""
    with conn.cursor(name="audit_leaf_data", binary=True) as cur:
        cur.itersize = chunk
        cur.execute(_LEAF_DATA)
        while batch := cur.fetchmany(chunk):
            yield [row[0] for row in batch]


def row_at(conn: psycopg.Connection[Any], index: int) -> StoredRow | None:
    """The event at this place of the log's order, as stored now."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM {EVENTS_TABLE} AS e ORDER BY e.xid, e.notification_id "
        "OFFSET %s LIMIT 1",
        (index,),
        binary=True,
    ).fetchone()
    return StoredRow(*row) if row else None


def leaf_hashes(conn: psycopg.Connection[Any], size: int) -> list[bytes]:
    """The stored leaf hashes 0 .. size-1."""
    rows = conn.execute(
        "SELECT hash FROM audit_leaves WHERE leaf_index < %s ORDER BY leaf_index",
        (size,),
        binary=True,
    ).fetchall()
    if len(rows) != size:
        raise LookupError(f"the log holds {len(rows)} leaves, not {size}")
    return [bytes(row[0]) for row in rows]


def leaf_of(conn: psycopg.Connection[Any], aggregate_id: UUID, version: int) -> int | None:
    row = conn.execute(
        "SELECT leaf_index FROM audit_leaves WHERE originator_id = %s AND originator_version = %s",
        (aggregate_id, version),
    ).fetchone()
    return int(row[0]) if row else None


def event_at(conn: psycopg.Connection[Any], notification_id: int) -> StoredRow | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM {EVENTS_TABLE} AS e WHERE e.notification_id = %s",
        (notification_id,),
        binary=True,
    ).fetchone()
    return StoredRow(*row) if row else None


def logged_data(conn: psycopg.Connection[Any], lo: int, hi: int) -> list[tuple[int, bytes]]:
    """(leaf index, leaf data) of the leaves lo .. hi-1, from the events as stored."""
    rows = conn.execute(
        f"SELECT l.leaf_index, {_COLUMNS} FROM audit_leaves AS l "
        f"JOIN {EVENTS_TABLE} AS e ON e.notification_id = l.notification_id "
        "WHERE l.leaf_index >= %s AND l.leaf_index < %s ORDER BY l.leaf_index",
        (lo, hi),
        binary=True,
    ).fetchall()
    return [(int(r[0]), leaf_data(r[3], r[4], r[5], r[6], r[7])) for r in rows]


def parse_leaf_data(data: bytes) -> tuple[str, int, str, bytes, str | None]:
    """The five fields of a leaf's data: aggregate id, version, topic, state, metadata."""
    fields: list[bytes] = []
    at = 0
    while at < len(data):
        if at + 4 > len(data):
            raise ValueError("not the five fields of a leaf")
        (n,) = struct.unpack_from(">I", data, at)
        fields.append(data[at + 4 : at + 4 + n])
        at += 4 + n
    if len(fields) != 5 or at != len(data):
        raise ValueError("not the five fields of a leaf")
    o, v, t, state, m = fields
    return o.decode(), int(v), t.decode(), state, m.decode() or None
