"""What else one action did (ADR 0026): the events of other aggregates that share a
correlation id with the events an auditor is reading — the copy a `Loaned` lent, the
shipment it dispatched — read from the event store, the source of truth. And the
barcodes of copies, from each copy's first event, to name them."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import Mapper, StoredEvent
from psycopg.sql import SQL, Identifier

from infra.envelope import Envelope, from_stored
from infra.event_store import EVENTS_TABLE

_COLUMNS = "notification_id, xid::text::bigint, originator_id, originator_version, topic, state"
_CORRELATED = SQL(
    f"SELECT {_COLUMNS}, metadata FROM {{t}} "
    "WHERE metadata->>'correlation_id' = ANY(%s) AND originator_id <> %s "
    "ORDER BY notification_id LIMIT %s"
).format(t=Identifier(EVENTS_TABLE))
_FIRST = SQL(
    f"SELECT {_COLUMNS}, metadata FROM {{t}} WHERE originator_id = ANY(%s) "
    "AND originator_version = 1"
).format(t=Identifier(EVENTS_TABLE))


def _envelopes(rows: list[tuple[Any, ...]], mapper: Mapper[UUID]) -> list[Envelope]:
    return [
        from_stored(
            mapper,
            StoredEvent(originator_id=o, originator_version=v, topic=t, state=bytes(s)),
            notification_id=nid,
            xid=xid,
            metadata=m,
        )
        for nid, xid, o, v, t, s, m in rows
    ]


def correlated(
    conn: psycopg.Connection[Any],
    mapper: Mapper[UUID],
    correlation_ids: Collection[str],
    besides: UUID,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """[{correlation_id, aggregate_type, aggregate_id, version, event, at, data}]: the
    events of aggregates other than `besides` written by the same actions, oldest first
    (at most `limit`)."""
    if not correlation_ids:
        return []
    rows = conn.execute(_CORRELATED, (sorted(correlation_ids), besides, limit)).fetchall()
    return [
        {
            "correlation_id": env.correlation_id,
            "aggregate_type": env.aggregate_type,
            "aggregate_id": env.aggregate_id,
            "version": env.version,
            "event": env.type.split(".")[2],
            "at": env.time,
            "data": env.data,
        }
        for env in _envelopes(rows, mapper)
    ]


def copy_barcodes(
    conn: psycopg.Connection[Any], mapper: Mapper[UUID], ids: Collection[UUID]
) -> dict[UUID, str]:
    """Each copy's barcode, as its registration recorded it."""
    if not ids:
        return {}
    rows = conn.execute(_FIRST, (list(ids),)).fetchall()
    return {
        env.aggregate_id: str(env.data["barcode"])
        for env in _envelopes(rows, mapper)
        if env.aggregate_type == "copy" and "barcode" in env.data
    }
