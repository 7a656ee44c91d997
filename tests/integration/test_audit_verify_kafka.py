"""`libshare audit verify --from-kafka` (issue 15, item 3) on the real broker, no database:
the demo network relayed and logged verifies from its topics alone; a copy of the topics
with one event altered, deleted, moved before an earlier version of its aggregate, or
inserted — or with an event's stored bytes forged on the leaves topic — fails and names
the place."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from typer.testing import CliRunner

from api.cli import cli
from composition.bootstrap import System
from composition.demo_network import load_demo
from infra.audit_kafka import Records, read_topics
from infra.audit_topics import checkpoints_topic, ensure_topics, leaves_topic
from infra.kafka_log import all_topics

pytestmark = pytest.mark.kafka

KEY = base64.b64encode(bytes(range(2, 34))).decode()


@pytest.fixture
def published(make_system: Callable[..., System], kafka_bootstrap: str) -> tuple[str, Records]:
    """The demo network relayed to Kafka and logged (checkpoints every 20 events); the
    topics' prefix and every record on them."""
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    system = make_system(
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_topic_prefix=prefix,
        kafka_partitions=3,
        audit_signing_key=KEY,
        audit_checkpoint_events=20,
    )
    load_demo(system)
    relay = system.make_relay()
    while relay.relay_once():
        pass
    relay.release()
    audit = system.make_audit_log()
    audit.run_once()
    audit.checkpoint()
    audit.publish_pending()
    topics = [checkpoints_topic(prefix), leaves_topic(prefix), *all_topics(prefix)]
    return prefix, read_topics(kafka_bootstrap, topics)


def verify(bootstrap: str, prefix: str) -> tuple[int, str]:
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "LIBSHARE_KAFKA_TOPIC_PREFIX": prefix,
        "LIBSHARE_AUDIT_SIGNING_KEY": KEY,
        "LIBSHARE_LOG_LEVEL": "WARNING",
    }
    result = CliRunner().invoke(cli, ["audit", "verify", "--from-kafka"], env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def copy(bootstrap: str, prefix: str, records: Records) -> str:
    """The records, partition for partition, on topics of a new prefix."""
    new = f"copy-{uuid.uuid4().hex[:10]}"
    ensure_topics(bootstrap, new, "test")
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(t, 3, 1) for t in all_topics(new)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for (topic, partition), batch in records.items():
        target = new + topic[len(prefix) :]
        for r in batch:
            producer.send(target, key=r.key, value=r.value, headers=r.headers, partition=partition)
    producer.flush(timeout=30)
    producer.close()
    return new


def header(r: Any, name: str) -> bytes:
    return dict(r.headers)[name]


def library_partition(prefix: str, records: Records) -> tuple[tuple[str, int], list[Any]]:
    """A partition of the library topic holding an aggregate with two events or more."""
    for place, batch in records.items():
        if place[0] == f"{prefix}.library":
            keys = [r.key for r in batch]
            if any(keys.count(k) > 1 for k in keys):
                return place, batch
    raise AssertionError("no library with two events")


def test_the_topics_alone_verify(published: tuple[str, Records], kafka_bootstrap: str) -> None:
    prefix, records = published
    code, out = verify(kafka_bootstrap, copy(kafka_bootstrap, prefix, records))
    assert code == 0, out
    assert "checkpoints checked" in out and "the history matches" in out


def test_an_altered_event_on_a_copy_is_named(
    published: tuple[str, Records], kafka_bootstrap: str
) -> None:
    prefix, records = published
    place, batch = library_partition(prefix, records)
    victim = batch[0]
    changed = dict(records)
    forged = victim._replace(value=victim.value.replace(b'"name": "', b'"name": "X', 1))
    assert forged.value != victim.value
    changed[place] = [forged, *batch[1:]]
    code, out = verify(kafka_bootstrap, copy(kafka_bootstrap, prefix, changed))
    assert code == 1
    oid, version = victim.key.decode(), int(header(victim, "ce_aggregateversion"))
    assert f"partition {place[1]} offset 0: the payload of aggregate {oid} version {version}" in out


def test_a_deleted_event_on_a_copy_is_named(
    published: tuple[str, Records], kafka_bootstrap: str
) -> None:
    prefix, records = published
    place, batch = library_partition(prefix, records)
    victim = batch[-1]
    changed = {**records, place: batch[:-1]}
    code, out = verify(kafka_bootstrap, copy(kafka_bootstrap, prefix, changed))
    assert code == 1
    oid, version = victim.key.decode(), int(header(victim, "ce_aggregateversion"))
    assert f"aggregate {oid} version {version} is logged but on no event topic" in out


def test_an_event_moved_before_its_predecessor_on_a_copy_is_named(
    published: tuple[str, Records], kafka_bootstrap: str
) -> None:
    prefix, records = published
    place, batch = library_partition(prefix, records)
    keys = [r.key for r in batch]
    first = next(i for i, k in enumerate(keys) if keys.count(k) > 1)
    second = next(i for i in range(first + 1, len(keys)) if keys[i] == keys[first])
    moved = list(batch)
    moved[first], moved[second] = moved[second], moved[first]
    code, out = verify(kafka_bootstrap, copy(kafka_bootstrap, prefix, {**records, place: moved}))
    assert code == 1
    v1 = int(header(batch[first], "ce_aggregateversion"))
    v2 = int(header(batch[second], "ce_aggregateversion"))
    assert f"aggregate {keys[first].decode()} version {v1} comes after version {v2}" in out


def test_an_inserted_event_on_a_copy_is_named(
    published: tuple[str, Records], kafka_bootstrap: str
) -> None:
    prefix, records = published
    place, batch = library_partition(prefix, records)
    original = batch[0]
    headers = [
        (k, b"%d" % (int(v) + 1000) if k == "ce_aggregateversion" else v)
        for k, v in original.headers
    ]
    slipped = original._replace(headers=headers)
    changed = {**records, place: [original, slipped, *batch[1:]]}
    code, out = verify(kafka_bootstrap, copy(kafka_bootstrap, prefix, changed))
    assert code == 1
    version = int(header(original, "ce_aggregateversion")) + 1000
    assert f"offset 1: aggregate {original.key.decode()} version {version}" in out
    assert "is among the logged events but in no leaf: it was inserted" in out


def test_forged_stored_bytes_on_the_leaves_topic_are_named(
    published: tuple[str, Records], kafka_bootstrap: str
) -> None:
    prefix, records = published
    place = (leaves_topic(prefix), 0)
    leaves = list(records[place])
    leaves[7] = leaves[7]._replace(value=leaves[7].value + b" ")
    code, out = verify(kafka_bootstrap, copy(kafka_bootstrap, prefix, {**records, place: leaves}))
    assert code == 1
    assert (
        "leaf 7: the bytes on" in out and "do not give the leaf hash the checkpoint signed" in out
    )
