"""The event store's history read back from the shared log alone (ADR 0024): every
record of every topic of a deployment, from the first offset to the end, each turned
back into the stored event the relay published (it carries the stored topic and state,
and when it was recorded, beside the CloudEvents headers). Copies a relay published twice
are dropped by (aggregate, version); the events are put back in the log's order by the
writing transaction and the notification id, which every record carries."""

from __future__ import annotations

import json
from collections.abc import Callable
from uuid import UUID

from kafka import KafkaConsumer, TopicPartition

from infra.backup_archive import BackupRefused, EventRow
from infra.causation import trace_id_of
from infra.envelope import RECORDED_AT, STORED_STATE, STORED_TOPIC
from infra.kafka_log import all_topics

Progress = Callable[[int, int], None]


def _row(headers: dict[str, bytes]) -> EventRow | None:
    """The stored event a record carries; None when it was relayed without it."""
    if STORED_STATE not in headers or STORED_TOPIC not in headers:
        return None
    metadata: dict[str, object] = {}
    if "traceparent" in headers:
        metadata["traceparent"] = headers["traceparent"].decode()
    if "ce_actor" in headers:
        metadata["actor"] = json.loads(headers["ce_actor"])
    # Why it was written (ADR 0026): the audit log's leaves cover the metadata as stored.
    if "ce_correlationid" in headers:
        metadata["correlation_id"] = headers["ce_correlationid"].decode()
    if "ce_causationid" in headers:
        metadata["causation_id"] = headers["ce_causationid"].decode()
    trace_id = trace_id_of(headers["traceparent"].decode()) if "traceparent" in headers else None
    if trace_id:
        metadata["trace_id"] = trace_id
    return EventRow(
        notification_id=int(headers["ce_notificationid"]),
        originator_id=str(UUID(headers["ce_subject"].decode())),
        originator_version=int(headers["ce_aggregateversion"]),
        topic=headers[STORED_TOPIC].decode(),
        state=headers[STORED_STATE],
        metadata=metadata or None,
        recorded_at=headers[RECORDED_AT].decode(),
        xid=int(headers["ce_xid"]),
    )


def read_history(
    bootstrap: str,
    prefix: str,
    client_id: str,
    on_progress: Progress | None = None,
    *,
    known: set[tuple[str, int]] | None = None,
) -> list[EventRow]:
    """Every event on the deployment's topics, in the log's order; with `known`, those
    (aggregate, version) are left out (a backup has them). Raises BackupRefused when the
    topics cannot give the store back whole: a record without its stored event (relayed
    before the relay carried it), or an aggregate whose versions have a gap."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id=f"{client_id}-restore",
        group_id=None,
        enable_auto_commit=False,
        max_poll_records=5000,
        fetch_max_wait_ms=50,
        bootstrap_timeout_ms=10000,
    )
    try:
        existing = consumer.topics()
        parts = [
            TopicPartition(topic, p)
            for topic in all_topics(prefix)
            if topic in existing
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not parts:
            raise BackupRefused(f"no topics {prefix}.* on {bootstrap}: nothing to restore from")
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = {tp: off for tp, off in consumer.end_offsets(parts).items() if off > 0}
        total = sum(ends.values())
        seen: dict[tuple[str, int], EventRow] = {}
        without, read = 0, 0
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            for tp, records in consumer.poll(timeout_ms=1000).items():
                for record in records:
                    if record.offset >= ends.get(tp, 0):
                        continue
                    read += 1
                    headers = dict(record.headers)
                    key = (
                        str(UUID(headers["ce_subject"].decode())),
                        int(headers["ce_aggregateversion"]),
                    )
                    if known is not None and key in known:
                        continue
                    row = _row(headers)
                    if row is None:
                        without += 1
                        continue
                    seen.setdefault((row.originator_id, row.originator_version), row)
            if on_progress is not None:
                on_progress(read, total)
    finally:
        consumer.close()
    if without:
        raise BackupRefused(
            f"{without} records on the topics were relayed without their stored event "
            "(before the relay carried it): the store cannot be rebuilt from Kafka alone"
        )
    rows = sorted(seen.values(), key=lambda r: (r.xid, r.notification_id))
    if known is None:
        check_whole(rows)
    return rows


def check_whole(rows: list[EventRow]) -> None:
    """Each aggregate's versions run 1, 2, 3... without a gap, and no notification id
    is held by two events."""
    versions: dict[str, list[int]] = {}
    ids: set[int] = set()
    for row in rows:
        versions.setdefault(row.originator_id, []).append(row.originator_version)
        if row.notification_id in ids:
            raise BackupRefused(f"notification id {row.notification_id} is on two events")
        ids.add(row.notification_id)
    for aggregate, found in versions.items():
        if sorted(found) != list(range(1, len(found) + 1)):
            raise BackupRefused(
                f"aggregate {aggregate}: versions {sorted(found)[:10]}... have a gap: "
                "events are missing from the topics"
            )
