"""One aggregate's events as the event store holds them, in order, each with who acted
(the metadata saved with it): the history of a copy, read from the source of truth
rather than from a read model."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import Mapper, StoredEvent
from psycopg.sql import SQL, Identifier

from infra.causation import cause_of
from infra.envelope import from_stored
from infra.event_store import EVENTS_TABLE

_SELECT = SQL(
    "SELECT notification_id, xid::text::bigint, originator_version, topic, state, metadata "
    "FROM {t} WHERE originator_id = %s ORDER BY originator_version"
).format(t=Identifier(EVENTS_TABLE))


def history(
    conn: psycopg.Connection[Any], mapper: Mapper[UUID], aggregate_id: UUID
) -> list[dict[str, Any]]:
    """[{version, event, at, actor, data, cause}] for every event of the aggregate (its
    cause: infra/causation.py `cause_of`)."""
    found = []
    for nid, xid, version, topic, state, metadata in conn.execute(
        _SELECT, (aggregate_id,)
    ).fetchall():
        stored = StoredEvent(
            originator_id=aggregate_id,
            originator_version=version,
            topic=topic,
            state=bytes(state),
        )
        env = from_stored(mapper, stored, notification_id=nid, xid=xid, metadata=metadata)
        found.append(
            {
                "version": env.version,
                "event": env.type.split(".")[2],
                "at": env.time,
                "actor": env.actor,
                "data": env.data,
                "cause": cause_of(env),
            }
        )
    return found
