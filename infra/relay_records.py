"""The relay's read of the notification log: each event straight into the Kafka record it
is published as (topic, key, value, CloudEvents headers), with no Envelope in between.
PostgreSQL returns the header values ready (the key and subject as text, the id's bytes,
the numbers as text, the metadata's fields, the recorded instant as `instant_text` writes
it); Python decodes the stored JSON once for the payload and `ce_time`. The records are
the ones `kafka_headers(from_stored(...))` gives, header for header (ADR 0034)."""

from __future__ import annotations

import hashlib
from typing import Any, NamedTuple
from uuid import UUID

import psycopg
from eventsourcing.persistence import Mapper, StoredEvent
from psycopg.sql import SQL, Identifier

from domain.contract import ENVELOPE_FIELDS
from infra.envelope import (
    _CONTENT_TYPE,
    _PAYLOAD_ENCODER,
    _PLAIN_DECODER,
    _SOURCE,
    _SPEC_VERSION,
    RECORDED_AT,
    STORED_STATE,
    STORED_TOPIC,
    _contract,
    _NotPlain,
    _payload_and_time,
    plain_json,
)
from infra.event_store import EVENTS_TABLE
from infra.kafka_log import topic_for
from infra.log_reader import LogPosition


class Outgoing(NamedTuple):
    """One event as the relay sends it, and where it is in the log."""

    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]
    type: str
    traceparent: str | None
    xid: int
    notification_id: int


def position_after(records: list[Outgoing]) -> LogPosition:
    last = records[-1]
    return LogPosition(last.xid, last.notification_id)


# The same rows, order and snapshot test as NotificationLogReader.read (ADR 0003); the
# recorded instant in UTC as `instant_text` (datetime.isoformat) writes it: no fraction
# when the microseconds are 0.
_SELECT = (
    "SELECT e.notification_id, e.xid::text::bigint, e.originator_id::text, "
    "uuid_send(e.originator_id), e.originator_version, e.topic, e.state, "
    "(e.metadata -> 'actor')::text, e.metadata ->> 'traceparent', "
    "e.metadata ->> 'correlation_id', e.metadata ->> 'causation_id', "
    "to_char(e.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
    "CASE WHEN to_char(e.recorded_at AT TIME ZONE 'UTC', 'US') = '000000' THEN '' "
    "ELSE to_char(e.recorded_at AT TIME ZONE 'UTC', '.US') END || '+00:00' "
    "FROM {t} AS e "
    "WHERE (e.xid, e.notification_id) > (%s::text::xid8, %s) "
    "AND e.xid < pg_snapshot_xmin(pg_current_snapshot()) "
    "ORDER BY e.xid, e.notification_id LIMIT %s"
)


# The actor's JSON texts that Python holds false: kafka_headers sends no ce_actor then.
_FALSY_JSON = frozenset({"null", "{}", "[]", '""', "0", "false", "0.0"})


class _Kind(NamedTuple):
    """What every event of one stored topic shares, encoded once."""

    topic: str  # the Kafka topic
    type: str
    headers: tuple[tuple[str, bytes], tuple[str, bytes], tuple[str, bytes]]
    plain: bool  # the stored JSON can be read straight (version 1, plain JSON)
    stored_topic: tuple[str, bytes]


class RelayRecords:
    """Reads a batch of the log as the records the relay sends."""

    def __init__(self, mapper: Mapper[UUID], prefix: str, table: str = EVENTS_TABLE) -> None:
        self.mapper = mapper
        self.prefix = prefix
        self._select = SQL(_SELECT).format(t=Identifier(table))
        self._plain_store = plain_json(mapper)
        self._kinds: dict[str, _Kind] = {}

    def read(self, conn: psycopg.Connection[Any], after: LogPosition, limit: int) -> list[Outgoing]:
        rows = conn.execute(self._select, (str(after.xid), after.notification_id, limit)).fetchall()
        return [self._record(*row) for row in rows]

    def _kind(self, stored_topic: str) -> _Kind:
        contract = _contract(stored_topic)
        kind = self._kinds[stored_topic] = _Kind(
            topic_for(self.prefix, contract.aggregate_name),
            contract.name,
            (
                ("ce_type", contract.name.encode()),
                _SOURCE,
                ("ce_aggregatetype", contract.aggregate_name.encode()),
            ),
            self._plain_store and contract.version == 1,
            (STORED_TOPIC, stored_topic.encode()),
        )
        return kind

    def _record(
        self,
        nid: int,
        xid: int,
        subject: str,
        uuid_bytes: bytes,
        version: int,
        stored_topic: str,
        state: bytes,
        actor: str | None,
        traceparent: str | None,
        correlation_id: str | None,
        causation_id: str | None,
        recorded_at: str,
    ) -> Outgoing:
        kind = self._kinds.get(stored_topic) or self._kind(stored_topic)
        payload, time_text = self._payload(kind, uuid_bytes, version, stored_topic, state)
        key = subject.encode()
        version_text = b"%d" % version
        type_header, source, aggregate_header = kind.headers
        headers = [
            _SPEC_VERSION,
            ("ce_id", _event_id(uuid_bytes, version_text)),
            type_header,
            source,
            ("ce_time", time_text.encode()),
            ("ce_subject", key),
            _CONTENT_TYPE,
            aggregate_header,
            ("ce_aggregateversion", version_text),
            ("ce_notificationid", b"%d" % nid),
            ("ce_xid", b"%d" % xid),
        ]
        if traceparent:
            headers.append(("traceparent", traceparent.encode()))
        if actor is not None and actor not in _FALSY_JSON:
            headers.append(("ce_actor", actor.encode()))
        if correlation_id:
            headers.append(("ce_correlationid", correlation_id.encode()))
        if causation_id:
            headers.append(("ce_causationid", causation_id.encode()))
        headers += (kind.stored_topic, (STORED_STATE, state), (RECORDED_AT, recorded_at.encode()))
        value = _PAYLOAD_ENCODER.encode(payload).encode()
        return Outgoing(kind.topic, key, value, headers, kind.type, traceparent or None, xid, nid)

    def _payload(
        self, kind: _Kind, uuid_bytes: bytes, version: int, stored_topic: str, state: bytes
    ) -> tuple[dict[str, Any], str]:
        """The event's fields in their JSON form and `ce_time`, as from_stored has them."""
        if kind.plain:
            try:
                fields = _PLAIN_DECODER.decode(state.decode())
            except _NotPlain:
                pass
            else:
                text: str = fields["timestamp"]
                return {k: v for k, v in fields.items() if k not in ENVELOPE_FIELDS}, text
        stored = StoredEvent(
            originator_id=UUID(bytes=uuid_bytes),
            originator_version=version,
            topic=stored_topic,
            state=state,
        )
        payload, time, time_text = _payload_and_time(self.mapper, stored, _contract(stored_topic))
        return payload, time_text or time.isoformat()


def _event_id(uuid_bytes: bytes, version_text: bytes) -> bytes:
    """envelope.event_id, from the id's bytes and the version as text, as bytes."""
    b = bytearray(hashlib.sha1(uuid_bytes + version_text).digest()[:16])
    b[6] = (b[6] & 0x0F) | 0x50  # version 5
    b[8] = (b[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}".encode()
