"""Kafka, the shared log: topic names, topic creation, and producer/consumer settings.
One topic per aggregate type, keyed by aggregate id, retained for ever (ADR 0004)."""

from __future__ import annotations

from typing import Any

import structlog
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from domain.contract import AGGREGATES

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
    # A first connection gives up after 5 s (not 30): the relay's loop tries again soon,
    # so a relay that was waiting when the broker came back is not stuck in an old attempt.
    "bootstrap_timeout_ms": 5000,
}


def topic_for(prefix: str, aggregate_type: str) -> str:
    return f"{prefix}.{aggregate_type}"


def all_topics(prefix: str) -> list[str]:
    return [topic_for(prefix, str(getattr(a, "TYPE_NAME"))) for a in AGGREGATES]  # noqa: B009


# The longest a relay waits for one batch's acknowledgements before it gives up on its
# producer (the broker away, or the client lost): a little more than a delivery time-out.
FLUSH_TIMEOUT_S = 15.0


def create_topics(bootstrap: str, prefix: str, partitions: int, client_id: str) -> list[str]:
    """Create our topics if missing (idempotent), once. Returns the names."""
    names = all_topics(prefix)
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id=f"{client_id}-admin",
        bootstrap_timeout_ms=5000,  # fail soon while the broker is away: callers retry
        reconnect_backoff_max_ms=2000,
        request_timeout_ms=10000,
    )
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


def new_producer(bootstrap: str, client_id: str) -> KafkaProducer:
    """The relay's producer, once (fails while the broker is away: the relay retries)."""
    return KafkaProducer(
        bootstrap_servers=bootstrap, client_id=f"{client_id}-relay", **PRODUCER_SETTINGS
    )


def new_consumer(bootstrap: str, group_id: str, client_id: str) -> KafkaConsumer:
    """A consumer in `group_id`, once (fails while the broker is away)."""
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
        # A member that dies without leaving (SIGKILL) holds its partitions until this
        # passes: 10 s, not the default 45, so the others take them over soon.
        session_timeout_ms=10000,
        reconnect_backoff_max_ms=2000,
        bootstrap_timeout_ms=5000,  # then the runner's back-off and a fresh attempt
    )


def broker_answers(bootstrap: str) -> bool:
    """Whether a fresh client can reach the cluster now (a few seconds at most)."""
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap, request_timeout_ms=2000, bootstrap_timeout_ms=3000
        )
        admin.close()
        return True
    except Exception:
        return False
