"""One event as the read side and the shared log see it, whatever its source: decoded
from the event store, or received from Kafka with CloudEvents 1.0 binary-mode headers.
Both sources go through the same JSON payload, so projections see identical data."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from functools import cached_property
from typing import Any
from uuid import UUID

from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent
from eventsourcing.utils import resolve_topic

from domain.contract import ENVELOPE_FIELDS, EventType, event_type_of

CE_SOURCE = "urn:libshare:network"
SPEC_VERSION = "1.0"


@dataclass(frozen=True, eq=False)
class Envelope:
    type: str  # ce_type, e.g. libshare.library.Registered.v1
    aggregate_type: str  # e.g. library: also names the Kafka topic
    aggregate_id: UUID  # ce_subject and the Kafka key
    version: int
    time: datetime
    notification_id: int
    xid: int
    traceparent: str | None = None
    actor: dict[str, Any] | None = None
    correlation_id: str | None = None  # why it was written (infra/causation.py)
    causation_id: str | None = None
    # The JSON payload as received (from Kafka); from the store, it is encoded when asked
    # for (the relay does; projections read `data`). Not compared: `data` is.
    encoded: bytes | None = field(default=None, compare=False, repr=False)
    # `time` as stored or received (ISO 8601), when it came as text: sent on as it is.
    time_text: str | None = field(default=None, compare=False, repr=False)
    # From the store: the stored event itself (topic, state bytes) and when it was
    # recorded. The relay carries them on the log, so that the store can be rebuilt from
    # the topics alone, event for event (ADR 0024).
    stored_topic: str | None = field(default=None, compare=False, repr=False)
    stored_state: bytes | None = field(default=None, compare=False, repr=False)
    recorded_at: datetime | None = field(default=None, compare=False, repr=False)

    @cached_property
    def id(self) -> str:
        """ce_id: stable per (aggregate, version), so a republished event has the same id."""
        return event_id(self.aggregate_id, self.version)

    @cached_property
    def data(self) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(self.payload)
        return decoded

    @cached_property
    def payload(self) -> bytes:
        """The JSON payload: as received, or encoded from `data`."""
        if self.encoded is not None:
            return self.encoded
        return _PAYLOAD_ENCODER.encode(self.data).encode()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Envelope):
            return NotImplemented
        return (self._key(), self.actor, self.data) == (other._key(), other.actor, other.data)

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[Any, ...]:
        return (
            self.type,
            self.aggregate_id,
            self.version,
            self.time,
            self.notification_id,
            self.xid,
            self.traceparent,
            self.correlation_id,
            self.causation_id,
        )


_PLAIN = frozenset({str, int, float, bool, type(None)})
# json.dumps(payload, ensure_ascii=False, sort_keys=True), without a new encoder per call.
_PAYLOAD_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True)


def _jsonable(value: Any) -> Any:
    if type(value) in _PLAIN:
        return value
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
    """uuid5(aggregate id, str(version)) as text, formatted directly: the relay computes
    one per event, and building a UUID object costs more than the hash."""
    b = bytearray(hashlib.sha1(aggregate_id.bytes + str(version).encode()).digest()[:16])
    b[6] = (b[6] & 0x0F) | 0x50  # version 5
    b[8] = (b[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_CONTRACTS: dict[str, EventType] = {}


def _contract(topic: str) -> EventType:
    found = _CONTRACTS.get(topic)
    if found is None:
        found = _CONTRACTS[topic] = event_type_of(resolve_topic(topic))
    return found


# The JSON form (what `_jsonable` makes of the decoded value) of each value that the
# stored JSON wraps as {"_type_": name, "_data_": data}.
_JSON_FORMS: dict[str, Any] = {
    "datetime_iso": str,
    "date_iso": str,
    "decimal_str": str,
    "uuid_hex": lambda data: str(UUID(data)),
}


class _NotPlain(Exception):
    """A stored value without a known JSON form: take the mapper's way."""


def _json_form(obj: dict[str, Any]) -> Any:
    if len(obj) == 2 and "_type_" in obj and "_data_" in obj:
        form = _JSON_FORMS.get(obj["_type_"])
        if form is None:
            raise _NotPlain(obj["_type_"])
        return form(obj["_data_"])
    return obj


_PLAIN_DECODER = json.JSONDecoder(object_hook=_json_form)


def plain_json(mapper: Mapper[UUID]) -> bool:
    """Whether the store's state column holds each event's fields as plain UTF-8 JSON
    (the standard transcoder, no cipher, no compressor): then SQL can read them too."""
    return (
        mapper.cipher is None
        and mapper.compressor is None
        and type(mapper.transcoder) is JSONTranscoder
    )


def _payload_and_time(
    mapper: Mapper[UUID], stored: StoredEvent, contract: EventType
) -> tuple[dict[str, Any], datetime, str | None]:
    """The event's fields in their JSON form, and its time. Fast path: the stored JSON
    read straight into that form, when nothing can change it on the way (the standard
    JSON transcoder, no cipher, no compressor, no upcasting at version 1). Otherwise the
    domain event is reconstructed through the mapper, upcasting included."""
    if contract.version == 1 and plain_json(mapper):
        try:
            fields = _PLAIN_DECODER.decode(stored.state.decode())
        except _NotPlain:
            pass
        else:
            text = fields["timestamp"]
            payload = {k: v for k, v in fields.items() if k not in ENVELOPE_FIELDS}
            return payload, datetime.fromisoformat(text), text
    # The read side never opens a reader's sealed personal data (infra/personal_data.py).
    mapper = getattr(mapper, "sealed_mapper", mapper)
    state = dict(vars(mapper.to_domain_event(stored)))
    payload = {k: _jsonable(v) for k, v in state.items() if k not in ENVELOPE_FIELDS}
    return payload, state["timestamp"], None


def from_stored(
    mapper: Mapper[UUID],
    stored: StoredEvent,
    *,
    notification_id: int,
    xid: int,
    metadata: dict[str, Any] | None,
    recorded_at: datetime | None = None,
) -> Envelope:
    contract = _contract(stored.topic)
    payload, time, time_text = _payload_and_time(mapper, stored, contract)
    aggregate_id = stored.originator_id
    if not isinstance(aggregate_id, UUID):
        aggregate_id = UUID(str(aggregate_id))
    version = int(stored.originator_version)
    metadata = metadata or {}
    envelope = Envelope(
        type=contract.name,
        aggregate_type=contract.aggregate_name,
        aggregate_id=aggregate_id,
        version=version,
        time=time,
        time_text=time_text,
        notification_id=notification_id,
        xid=xid,
        traceparent=metadata.get("traceparent"),
        actor=metadata.get("actor"),
        correlation_id=metadata.get("correlation_id"),
        causation_id=metadata.get("causation_id"),
        stored_topic=stored.topic,
        stored_state=stored.state,
        recorded_at=recorded_at,
    )
    # `payload` holds only JSON types: its encoding decodes to this very dict.
    envelope.__dict__["data"] = payload
    return envelope


_SPEC_VERSION = ("ce_specversion", SPEC_VERSION.encode())
_SOURCE = ("ce_source", CE_SOURCE.encode())
_CONTENT_TYPE = ("content-type", b"application/json")


_TYPE_HEADERS: dict[str, tuple[tuple[str, bytes], tuple[str, bytes]]] = {}
# json.dumps(actor, ensure_ascii=False), without a new encoder per event (that was ~40%
# of building an event's headers).
_ACTOR_ENCODER = json.JSONEncoder(ensure_ascii=False)


def _type_headers(env: Envelope) -> tuple[tuple[str, bytes], tuple[str, bytes]]:
    """ce_type and ce_aggregatetype, encoded once per event type."""
    found = _TYPE_HEADERS.get(env.type)
    if found is None:
        found = _TYPE_HEADERS[env.type] = (
            ("ce_type", env.type.encode()),
            ("ce_aggregatetype", env.aggregate_type.encode()),
        )
    return found


def kafka_key(env: Envelope) -> bytes:
    """The record key: the aggregate id as text (also the ce_subject header)."""
    return str(env.aggregate_id).encode()


def kafka_headers(env: Envelope, key: bytes | None = None) -> list[tuple[str, bytes]]:
    """The CloudEvents binary-mode headers; `key`, when given, is kafka_key(env)."""
    type_header, aggregate_header = _type_headers(env)
    headers = [
        _SPEC_VERSION,
        ("ce_id", event_id(env.aggregate_id, env.version).encode()),
        type_header,
        _SOURCE,
        ("ce_time", (env.time_text or env.time.isoformat()).encode()),
        ("ce_subject", key or kafka_key(env)),
        _CONTENT_TYPE,
        aggregate_header,
        ("ce_aggregateversion", b"%d" % env.version),
        ("ce_notificationid", b"%d" % env.notification_id),
        ("ce_xid", b"%d" % env.xid),
    ]
    if env.traceparent:
        headers.append(("traceparent", env.traceparent.encode()))
    if env.actor:
        headers.append(("ce_actor", _ACTOR_ENCODER.encode(env.actor).encode()))
    if env.correlation_id:
        headers.append(("ce_correlationid", env.correlation_id.encode()))
    if env.causation_id:
        headers.append(("ce_causationid", env.causation_id.encode()))
    if env.stored_state is not None and env.stored_topic is not None:
        headers += stored_headers(env.stored_topic, env.stored_state, env.recorded_at)
    return headers


# Not CloudEvents attributes (the state is bytes): what `libshare restore --from-kafka`
# needs to write the stored event again exactly as it was (ADR 0024).
STORED_TOPIC, STORED_STATE, RECORDED_AT = (
    "libshare_stored_topic",
    "libshare_stored_state",
    "libshare_recorded_at",
)


def instant_text(moment: datetime) -> str:
    """An instant as ISO 8601 in UTC: the same text whatever the server's time zone."""
    return moment.astimezone(UTC).isoformat()


# The last recorded_at header made: the events of one transaction share their recorded_at
# (the column's default, now()), and a group commit writes many commands in one, so the
# relay meets the same instant many times in a row.
_LAST_RECORDED_AT: tuple[datetime, tuple[str, bytes]] | None = None


def stored_headers(
    topic: str, state: bytes, recorded_at: datetime | None
) -> list[tuple[str, bytes]]:
    global _LAST_RECORDED_AT
    headers = [(STORED_TOPIC, topic.encode()), (STORED_STATE, state)]
    if recorded_at is not None:
        last = _LAST_RECORDED_AT  # one read: another thread may replace it meanwhile
        if last is None or last[0] != recorded_at:
            last = _LAST_RECORDED_AT = (
                recorded_at,
                (RECORDED_AT, instant_text(recorded_at).encode()),
            )
        headers.append(last[1])
    return headers


_TEXT: dict[bytes, str] = {}  # header values that repeat (event and aggregate types)


def _text(value: bytes) -> str:
    found = _TEXT.get(value)
    if found is None:
        found = value.decode()
        if len(_TEXT) < 1024:  # bounded, whatever a topic holds
            _TEXT[value] = found
    return found


def from_kafka(headers: list[tuple[str, bytes]], value: bytes) -> Envelope:
    """The envelope of a record: only the headers it needs are decoded (a projector reads
    tens of thousands a second); ce_id is derived again from subject and version."""
    h = dict(headers)
    time_text = h["ce_time"].decode()
    actor = h.get("ce_actor")
    traceparent = h.get("traceparent")
    return Envelope(
        type=_text(h["ce_type"]),
        aggregate_type=_text(h["ce_aggregatetype"]),
        aggregate_id=UUID(h["ce_subject"].decode()),
        version=int(h["ce_aggregateversion"]),
        time=datetime.fromisoformat(time_text),
        time_text=time_text,
        notification_id=int(h["ce_notificationid"]),
        xid=int(h["ce_xid"]),
        encoded=value,
        traceparent=traceparent.decode() if traceparent is not None else None,
        actor=json.loads(actor) if actor is not None else None,
        correlation_id=_optional_text(h.get("ce_correlationid")),
        causation_id=_optional_text(h.get("ce_causationid")),
    )


def _optional_text(value: bytes | None) -> str | None:
    return value.decode() if value is not None else None
