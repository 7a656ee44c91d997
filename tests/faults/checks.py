"""What must hold after every fault: every stored event is on Kafka (by CloudEvents id),
first appearances come in version order per key, every read model equals a rebuild from
the notification log, each event was seen once by each projection, nothing is parked."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from composition.bootstrap import PROJECTIONS, System, projection_named
from infra.kafka_log import all_topics
from infra.log_reader import LogPosition
from tests.faults.layout import Layout, Load, phase


def stored_ids(system: System) -> dict[str, tuple[str, int]]:
    """Every stored event's CloudEvents id, with its key and version."""
    out: dict[str, tuple[str, int]] = {}
    position = LogPosition()
    with system.db.transaction() as conn:
        while batch := system.reader.read(conn, position, 5000):
            for ev in batch:
                out[ev.id] = (str(ev.aggregate_id), ev.version)
            position = LogPosition(batch[-1].xid, batch[-1].notification_id)
    return out


def topic_records(layout: Layout, expect: int, timeout: float = 60) -> list[Any]:
    """Everything on the deployment's topics, read by a fresh consumer from the start."""
    consumer = KafkaConsumer(bootstrap_servers=layout.broker.bootstrap, enable_auto_commit=False)
    try:
        parts = [
            TopicPartition(t, p)
            for t in all_topics(layout.prefix)
            for p in sorted(consumer.partitions_for_topic(t) or [])
        ]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        records: list[Any] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
            if all(consumer.position(tp) >= ends[tp] for tp in parts) and len(records) >= expect:
                break
        return records
    finally:
        consumer.close()


def assert_every_event_on_kafka_in_order(system: System, layout: Layout) -> int:
    stored = stored_ids(system)
    records = topic_records(layout, len(stored))
    on_kafka = {dict(r.headers)["ce_id"].decode() for r in records}
    missing = set(stored) - on_kafka
    assert not missing, f"{len(missing)} of {len(stored)} stored events are not on Kafka"
    firsts: dict[str, list[int]] = defaultdict(list)
    for r in sorted(records, key=lambda r: (r.topic, r.partition, r.offset)):
        version = int(dict(r.headers)["ce_aggregateversion"])
        seq = firsts[r.key.decode()]
        if version not in seq:
            seq.append(version)
    for key, seq in firsts.items():
        assert seq == list(range(1, len(seq) + 1)), f"{key}: first appearances {seq[:20]}"
    return len(records) - len(stored)  # republished copies


def assert_read_models_equal_a_rebuild(system: System) -> None:
    """Replay the whole notification log into a scratch schema per projection (one read of
    the log for all) and compare every table, row for row, with the live one; each
    projection saw each event once; nothing is parked."""
    stored = len(stored_ids(system))
    fresh = [projection_named(name, f"check_{name}") for name in PROJECTIONS]
    with system.db.transaction() as conn:
        for p in fresh:
            conn.execute(f'DROP SCHEMA IF EXISTS "{p.schema}" CASCADE')
            p.create_tables(conn)
        position = LogPosition()
        while batch := system.reader.read(conn, position, 5000):
            for p in fresh:
                p.apply_many(conn, [ev for ev in batch if ev.type in p.handles])
            position = LogPosition(batch[-1].xid, batch[-1].notification_id)
        for p in fresh:
            live = projection_named(p.name)
            for table in live.tables:
                want = conn.execute(f"SELECT * FROM {p.table(table)} AS r ORDER BY r")
                got = conn.execute(f"SELECT * FROM {live.table(table)} AS r ORDER BY r")
                assert got.fetchall() == want.fetchall(), f"{p.name}.{table} differs from a rebuild"
            conn.execute(f'DROP SCHEMA "{p.schema}" CASCADE')
        seen = dict(conn.execute("SELECT projection, seen FROM projection_state").fetchall())
        parked = conn.execute("SELECT count(*) FROM projection_dead_letters").fetchone()
    assert seen == {name: stored for name in PROJECTIONS}, f"seen {seen} of {stored} events"
    assert parked == (0,), f"{parked} events parked"


def caught_up(system: System) -> bool:
    """The relay has published every stored event and every projection has seen it."""
    with system.db.transaction() as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM libshare_events), "
            "(SELECT min(seen) FROM projection_state), "
            "(SELECT count(*) FROM libshare_events e, relay_positions r "
            " WHERE (e.xid, e.notification_id) > (r.xid::text::xid8, r.notification_id))"
        ).fetchone()
    assert row is not None
    total, seen, unpublished = row
    return bool(unpublished == 0 and seen == total)


def stored_count(system: System) -> int:
    with system.db.transaction() as conn:
        row = conn.execute("SELECT count(*) FROM libshare_events").fetchone()
    assert row is not None
    return int(row[0])


def passed(system: System, mark: int) -> bool:
    """The relay has published, and every projection has seen, at least `mark` events:
    under a load that never stops, the pipeline keeps up when it passes, within a bound,
    the count stored when we looked (lag 0 at one instant is luck, not keeping up)."""
    with system.db.transaction() as conn:
        row = conn.execute(
            "SELECT (SELECT min(seen) FROM projection_state), "
            "(SELECT count(*) FROM libshare_events e, relay_positions r "
            " WHERE (e.xid, e.notification_id) <= (r.xid::text::xid8, r.notification_id))"
        ).fetchone()
    assert row is not None
    seen, published = row
    return bool(seen is not None and seen >= mark and published >= mark)


def assert_nothing_lost(
    system: System, layout: Layout, load: Load, *, answers_503: bool = False
) -> int:
    """What every fault test ends with: no command answered a 5xx (or only 503s, where
    the database was the fault), every process of the layout still running, every stored
    event on Kafka in order, every read model equal to a rebuild. Returns the number of
    republished copies on Kafka."""
    failures = [f for f in load.failures if not (answers_503 and f.startswith("503"))]
    assert not failures, failures[:5]
    for name, p in layout.processes.items():
        assert p.alive(), f"{name} exited:\n{p.log_tail()}"
    copies = assert_every_event_on_kafka_in_order(system, layout)
    phase(f"every event on Kafka ({copies} republished copies)")
    assert_read_models_equal_a_rebuild(system)
    phase("every read model equals a rebuild")
    return copies
