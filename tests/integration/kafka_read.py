"""Read everything on our topics with a plain kafka-python consumer, as a subscriber would."""

from __future__ import annotations

import time

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from infra.kafka_log import all_topics


def read_all(
    bootstrap: str, prefix: str, expect: int, timeout: float = 20.0
) -> list[ConsumerRecord]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        parts = [
            TopicPartition(t, p)
            for t in all_topics(prefix)
            for p in sorted(consumer.partitions_for_topic(t) or [])
        ]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        records: list[ConsumerRecord] = []
        deadline = time.monotonic() + timeout
        while len(records) < expect and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
        # Anything beyond `expect` would show up within a short extra poll.
        for batch in consumer.poll(timeout_ms=300).values():
            records.extend(batch)
        return records
    finally:
        consumer.close()
