"""One event as the read side and the shared log see it, whatever its source: decoded
from the event store, or received from Kafka with CloudEvents 1.0 binary-mode headers.
Both sources go through the same JSON payload, so projections see identical data."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.persistence import Mapper, StoredEvent

from domain.contract import ENVELOPE_FIELDS, event_type_of

CE_SOURCE = "urn:libshare:network"
SPEC_VERSION = "1.0"


@dataclass(frozen=True)
class Envelope:
    id: str  # ce_id: stable per (aggregate, version), so republishing yields the same id
    type: str  # ce_type, e.g. libshare.library.Registered.v1
    aggregate_type: str  # e.g. library: also names the Kafka topic
    aggregate_id: UUID  # ce_subject and the Kafka key
    version: int
    time: datetime
    notification_id: int
    xid: int
    payload: bytes  # JSON
    traceparent: str | None = None
    actor: dict[str, Any] | None = None

    @property
    def data(self) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(self.payload)
        return decoded


def _jsonable(value: Any) -> Any:
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return value


def event_id(aggregate_id: UUID, version: int) -> str:
    return str(uuid5(aggregate_id, str(version)))


def from_stored(
    mapper: Mapper[UUID],
    stored: StoredEvent,
    *,
    notification_id: int,
    xid: int,
    metadata: dict[str, Any] | None,
) -> Envelope:
    domain_event = mapper.to_domain_event(stored)
    contract = event_type_of(type(domain_event))
    payload = {k: _jsonable(v) for k, v in vars(domain_event).items() if k not in ENVELOPE_FIELDS}
    metadata = metadata or {}
    return Envelope(
        id=event_id(domain_event.originator_id, domain_event.originator_version),
        type=contract.name,
        aggregate_type=contract.aggregate_name,
        aggregate_id=domain_event.originator_id,
        version=domain_event.originator_version,
        time=domain_event.timestamp,
        notification_id=notification_id,
        xid=xid,
        payload=json.dumps(payload, ensure_ascii=False, sort_keys=True).encode(),
        traceparent=metadata.get("traceparent"),
        actor=metadata.get("actor"),
    )


def kafka_headers(env: Envelope) -> list[tuple[str, bytes]]:
    headers = [
        ("ce_specversion", SPEC_VERSION),
        ("ce_id", env.id),
        ("ce_type", env.type),
        ("ce_source", CE_SOURCE),
        ("ce_time", env.time.isoformat()),
        ("ce_subject", str(env.aggregate_id)),
        ("content-type", "application/json"),
        ("ce_aggregatetype", env.aggregate_type),
        ("ce_aggregateversion", str(env.version)),
        ("ce_notificationid", str(env.notification_id)),
        ("ce_xid", str(env.xid)),
    ]
    if env.traceparent:
        headers.append(("traceparent", env.traceparent))
    if env.actor:
        headers.append(("ce_actor", json.dumps(env.actor, ensure_ascii=False)))
    return [(k, v.encode()) for k, v in headers]


def from_kafka(headers: list[tuple[str, bytes]], value: bytes) -> Envelope:
    h = {k: v.decode() for k, v in headers}
    return Envelope(
        id=h["ce_id"],
        type=h["ce_type"],
        aggregate_type=h["ce_aggregatetype"],
        aggregate_id=UUID(h["ce_subject"]),
        version=int(h["ce_aggregateversion"]),
        time=datetime.fromisoformat(h["ce_time"]),
        notification_id=int(h["ce_notificationid"]),
        xid=int(h["ce_xid"]),
        payload=value,
        traceparent=h.get("traceparent"),
        actor=json.loads(h["ce_actor"]) if "ce_actor" in h else None,
    )
