"""Kafka, the shared log: topic names, topic creation, and producer/consumer settings.
One topic per aggregate type, keyed by aggregate id, retained for ever (ADR 0004)."""

from __future__ import annotations

from typing import Any

import structlog
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from domain.contract import AGGREGATES
from infra.retry import transient

log = structlog.get_logger("libshare.kafka")

TOPIC_CONFIG = {
    "retention.ms": "-1",  # kept for ever: auditors replay from the first event
    "retention.bytes": "-1",
    "cleanup.policy": "delete",  # never compacted: every event, not just the latest per key
    "min.insync.replicas": "1",
}

# Settings shared by the relay and the raw baseline in bench/ (same batching, same acks).
PRODUCER_SETTINGS: dict[str, Any] = {
    "enable_idempotence": True,
    "acks": "all",
    "linger_ms": 10,
    "batch_size": 256 * 1024,
    "max_in_flight_requests_per_connection": 5,
    "compression_type": None,
    # Fail a send within seconds when the broker is away, so the relay's own retry (logged,
    # bounded back-off, republish from the stored position) takes over.
    "request_timeout_ms": 5000,
    "delivery_timeout_ms": 10000,
    "max_block_ms": 10000,
    "reconnect_backoff_max_ms": 2000,
}


def topic_for(prefix: str, aggregate_type: str) -> str:
    return f"{prefix}.{aggregate_type}"


def all_topics(prefix: str) -> list[str]:
    return [topic_for(prefix, str(getattr(a, "TYPE_NAME"))) for a in AGGREGATES]  # noqa: B009


@transient("kafka create topics")
def ensure_topics(bootstrap: str, prefix: str, partitions: int, client_id: str) -> list[str]:
    """Create our topics if missing (idempotent). Returns the names."""
    names = all_topics(prefix)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id=f"{client_id}-admin")
    try:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(name, partitions, 1, topic_configs=dict(TOPIC_CONFIG))
            for name in names
            if name not in existing
        ]
        for topic in missing:
            try:
                admin.create_topics([topic])
                log.info("topic created", topic=topic.name, partitions=partitions)
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()
    return names


@transient("kafka producer connect")
def make_producer(bootstrap: str, client_id: str) -> KafkaProducer:
    return KafkaProducer(
        bootstrap_servers=bootstrap, client_id=f"{client_id}-relay", **PRODUCER_SETTINGS
    )


@transient("kafka consumer connect")
def make_consumer(bootstrap: str, group_id: str, client_id: str) -> KafkaConsumer:
    return KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group_id,
        client_id=f"{client_id}-{group_id}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=2000,
        fetch_max_wait_ms=50,
        # A rebalance is heard of by the next heartbeat: a projector joining the group
        # waits up to this long (3 s by default) while the others read on alone.
        heartbeat_interval_ms=1000,
    )


def broker_answers(bootstrap: str) -> bool:
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=2000)
        admin.close()
        return True
    except Exception:
        return False
