"""One aggregate as it stood at a version or an instant (ADR 0027), rebuilt from its events
by the aggregate's own code; a reader's sealed personal data stays sealed (the events are
read with the mapper that never opens it)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.application import AggregateNotFoundError, Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import EventStore

from infra.event_store import EVENTS_TABLE
from infra.network_app import NetworkApp


def version_at(conn: psycopg.Connection[Any], aggregate_id: UUID, instant: datetime) -> int | None:
    """The aggregate's last version recorded at or before `instant`."""
    row = conn.execute(
        f"SELECT max(originator_version) FROM {EVENTS_TABLE} "
        "WHERE originator_id = %s AND recorded_at <= %s",
        (aggregate_id, instant),
    ).fetchone()
    return int(row[0]) if row and row[0] is not None else None


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return _plain(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return str(value)


def state_at(app: NetworkApp, aggregate_id: UUID, version: int) -> dict[str, Any] | None:
    """The aggregate's attributes after its event `version`, or None if it has none."""
    sealed = getattr(app.mapper, "sealed_mapper", app.mapper)
    repository: Repository[UUID] = Repository(EventStore(sealed, app.recorder))
    try:
        aggregate: Aggregate = repository.get(aggregate_id, version=version)
    except AggregateNotFoundError:
        return None
    found = {k: _plain(v) for k, v in vars(aggregate).items() if not k.startswith("_")}
    return {
        "id": str(aggregate.id),
        "type": type(aggregate).__name__,
        "version": aggregate.version,
        "created_on": aggregate.created_on.isoformat(),
        "modified_on": aggregate.modified_on.isoformat(),
        "state": found,
    }
