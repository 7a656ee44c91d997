"""The relay sends the next batch while the last one's acks are awaited (ADR 0034): order
per aggregate holds across batches, and the stored position never passes an event the
broker has not acknowledged."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from composition.bootstrap import System
from infra.kafka_log import new_producer
from tests.actors import ACT_2025, TESTER
from tests.integration.kafka_read import read_all
from tests.integration.support import register_many
from workers.relay import Relay

pytestmark = pytest.mark.kafka


def stored_position(system: System, relay: str = "kafka") -> int:
    with system.db.transaction() as conn:
        row = conn.execute(
            "SELECT relayed FROM relay_positions WHERE relay = %s", (relay,)
        ).fetchone()
    return int(row[0]) if row else 0


def relay_until_drained(relay: Relay) -> int:
    """Relay until the log holds nothing more; how many events were relayed."""
    total = 0
    while sent := relay.relay_once():
        total += sent
    return total


def test_batches_read_ahead_keep_each_aggregates_order_and_store_each_acked_position(
    kafka_system: System,
) -> None:
    system = kafka_system
    codes = register_many(system, 20)
    for code in codes[:5]:  # versions 2 and 3 land in later batches than version 1
        system.reorganisation.rename(TESTER, code, f"Tên mới {code}", "lần 1", ACT_2025)
        system.reorganisation.rename(TESTER, code, f"Tên mới hơn {code}", "lần 2", ACT_2025)
    relay = system.make_relay()
    relay.batch_size, relay.batches_ahead = 4, 2
    try:
        # One call: a batch and the two read ahead of it, each stored once acked.
        assert relay.relay_once() == 12
        assert stored_position(system) == 12
        assert 12 + relay_until_drained(relay) == 30 and stored_position(system) == 30
    finally:
        relay.close()

    bootstrap, prefix = (
        system.settings.kafka_bootstrap_servers or "",
        system.settings.kafka_topic_prefix,
    )
    records = read_all(bootstrap, prefix, 30)
    assert len(records) == 30
    by_key: dict[tuple[int, str], list[tuple[int, int]]] = defaultdict(list)
    for r in records:
        by_key[(r.partition, r.key.decode())].append(
            (r.offset, int(dict(r.headers)["ce_aggregateversion"]))
        )
    for key, seq in by_key.items():
        assert [v for _, v in sorted(seq)] == list(range(1, len(seq) + 1)), key


class FailingAfter:
    """A real producer whose sends fail after `ok` records (the broker refusing more)."""

    def __init__(self, producer: Any, ok: int) -> None:
        self.producer, self.left = producer, ok

    def send(self, *args: Any, **kwargs: Any) -> Any:
        if self.left == 0:
            raise RuntimeError("the broker refuses this record")
        self.left -= 1
        return self.producer.send(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.producer, name)


def test_a_failure_in_a_batch_read_ahead_stores_only_the_acknowledged_batches(
    kafka_system: System,
) -> None:
    system = kafka_system
    register_many(system, 16)
    bootstrap = system.settings.kafka_bootstrap_servers or ""
    relay = system.make_relay()
    relay.batch_size, relay.batches_ahead = 4, 2
    # Batches of 4: the first and second are sent, the first acknowledged and stored,
    # then the third fails on its third record.
    relay.make_producer = lambda: FailingAfter(  # type: ignore[assignment]
        new_producer(bootstrap, system.settings.kafka_client_id), 10
    )
    try:
        with pytest.raises(RuntimeError):
            relay.relay_once()
        # The second batch was sent but not known to be acknowledged: not stored.
        assert stored_position(system) == 4 and relay.kafka_ok is False
        relay.make_producer = lambda: new_producer(bootstrap, system.settings.kafka_client_id)
        assert relay_until_drained(relay) == 12 and stored_position(system) == 16
    finally:
        relay.close()
