"""Several projector processes in one Kafka consumer group (docker-compose.yml deploys
two): they share the partitions, and between them every event is read and applied once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from composition.bootstrap import System
from projections.runner import ProjectionRunner
from projections.sources import KafkaSource
from tests.integration.support import eventually, libraries, register_many, seen
from tests.integration.test_kafka_relay import relay_all

pytestmark = pytest.mark.kafka


@contextmanager
def projector(system: System) -> Iterator[tuple[ProjectionRunner, KafkaSource]]:
    """A projector in the deployment's group (`<prefix>-projections`), in a thread."""
    runner, source = system.make_runner(), system.make_kafka_source()
    stop = threading.Event()
    worker = threading.Thread(target=runner.run, args=(source, stop), daemon=True)
    worker.start()
    try:
        yield runner, source
    finally:
        stop.set()
        worker.join(15)


def test_a_projector_joining_the_group_goes_on_from_what_the_other_applied(
    kafka_system: System,
) -> None:
    system = kafka_system
    codes = register_many(system, 30)
    assert relay_all(system) == 30
    with projector(system) as (first, first_source):
        eventually(lambda: seen(system) == 30, what="the first projector to apply 30 events")
        with projector(system) as (second, second_source):
            # While the second one waits to join (until the first hears of the rebalance at
            # its next heartbeat), the first applies these too, from every partition; the
            # second must go on from there, not from what it found when it started.
            codes += register_many(system, 20, prefix="U")
            assert relay_all(system) == 20
            eventually(
                lambda: (
                    bool(first_source.consumer.assignment())
                    and bool(second_source.consumer.assignment())
                ),
                what="the group to share the partitions",
            )
            eventually(lambda: seen(system) == 50, what="50 events applied")
            shared = first_source.consumer.assignment() | second_source.consumer.assignment()
            assert not first_source.consumer.assignment() & second_source.consumer.assignment()
            assert len(shared) == 3 * len(first_source.topics)  # 3 partitions per topic

            before = (first.delivered, second.delivered)
            codes += register_many(system, 40, prefix="V")
            assert relay_all(system) == 40
            eventually(lambda: seen(system) == 90, what="90 events applied")
            eventually(
                lambda: first.delivered + second.delivered >= 90,
                what="both projectors to count what they applied",
            )
            # The group read no event twice, and both took part.
            assert first.delivered + second.delivered == 90
            assert first.delivered > before[0] and second.delivered > before[1]
    assert sorted(r["code"] for r in libraries(system)) == sorted(codes)


def test_partitions_assigned_later_go_on_from_the_positions_stored_by_then(
    kafka_system: System,
) -> None:
    """A projector that starts, then waits to join its group while another one applies
    more events, reads none of those again once it gets its partitions."""
    system = kafka_system
    register_many(system, 30)
    assert relay_all(system) == 30
    runner = system.make_runner()
    late = system.make_kafka_source(group_id=f"{system.settings.kafka_topic_prefix}-late")
    late.start(runner)  # subscribed; it joins the group at its first poll
    try:
        with projector(system):
            eventually(lambda: seen(system) == 30, what="another projector to apply 30 events")
        new = register_many(system, 5, prefix="U")
        assert relay_all(system) == 5
        delivered: list[str] = []

        def poll() -> bool:
            batch = late.poll(0.5)
            runner.apply_batch(batch)
            delivered.extend(d.event.data["code"] for d in batch)
            return len(delivered) >= 5

        eventually(poll, what="the late projector to read the new events")
        assert late.poll(1.0) == []
        assert sorted(delivered) == new
    finally:
        late.close()
    assert seen(system) == 35
