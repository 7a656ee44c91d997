"""The relay and the Kafka projection source against the real broker."""

from __future__ import annotations

import threading
from collections import defaultdict

import pytest

from composition.bootstrap import PROJECTIONS, System
from composition.demo_network import load_demo
from projections.sources import KafkaSource
from tests.actors import ACT_2025, TESTER
from tests.integration.kafka_read import read_all
from tests.integration.support import (
    eventually,
    libraries,
    read_model_rows,
    register_many,
    seen,
)

pytestmark = pytest.mark.kafka


def relay_all(system: System) -> int:
    relay = system.make_relay()
    total = 0
    try:
        while sent := relay.relay_once():
            total += sent
    finally:
        relay.release()
        relay._drop_producer()
    return total


def stored_events(system: System) -> list[tuple[str, int, int]]:
    with system.db.transaction() as conn:
        return [
            (str(a), v, n)
            for a, v, n in conn.execute(
                "SELECT originator_id, originator_version, notification_id FROM libshare_events"
            ).fetchall()
        ]


def test_the_relay_publishes_exactly_the_stored_events_in_order_per_aggregate(
    kafka_system: System,
) -> None:
    system = kafka_system
    codes = register_many(system, 20)
    for code in codes[:5]:
        system.reorganisation.rename(TESTER, code, f"Tên mới {code}", "lần 1", ACT_2025)
        system.reorganisation.rename(TESTER, code, f"Tên mới hơn {code}", "lần 2", ACT_2025)
    assert relay_all(system) == 30

    records = read_all(
        system.settings.kafka_bootstrap_servers or "", system.settings.kafka_topic_prefix, 30
    )
    published = [(r.key.decode(), int(dict(r.headers)["ce_aggregateversion"])) for r in records]
    assert sorted(published) == sorted((a, v) for a, v, _ in stored_events(system))

    by_key: dict[tuple[int, str], list[tuple[int, int]]] = defaultdict(list)
    for r in records:
        by_key[(r.partition, r.key.decode())].append(
            (r.offset, int(dict(r.headers)["ce_aggregateversion"]))
        )
    for key, seq in by_key.items():
        versions = [v for _, v in sorted(seq)]
        assert versions == list(range(1, len(versions) + 1)), key

    first = next(r for r in records if dict(r.headers)["ce_aggregateversion"] == b"1")
    headers = dict(first.headers)
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_type"] == b"libshare.library.Registered.v1"
    assert headers["ce_subject"] == first.key
    assert {"ce_id", "ce_source", "ce_time", "ce_notificationid"} <= headers.keys()


def test_a_kafka_projection_builds_the_same_read_model_as_the_log(kafka_system: System) -> None:
    """Every read model the projector builds from Kafka equals, row for row, the one built
    from the notification log (a rebuild reads the log from its start)."""
    system = kafka_system
    load_demo(system)  # libraries, works, holdings, partners, accounts
    codes = register_many(system, 12)
    system.reorganisation.rename(TESTER, codes[0], "Thư viện đổi tên", "sáp nhập", ACT_2025)
    system.start_relay()
    system.start_projector()  # KAFKA_BOOTSTRAP_SERVERS is set: the source is Kafka
    eventually(
        lambda: any(r["name"] == "Thư viện đổi tên" for r in libraries(system)),
        what="the Kafka projection to catch up",
    )
    system.catalogue.register_library(TESTER, "HNM-LATE", "Thư viện đến sau", "school", "Bình Lục")
    eventually(
        lambda: any(r["code"] == "HNM-LATE" for r in libraries(system)),
        what="a new event to flow through Kafka",
    )
    eventually(lambda: every_projection_has_seen_all(system), what="every read model")
    system.stop_event.set()  # the relay and the Kafka projector stop
    for worker in system.threads:
        worker.join(10)
    from_kafka = read_model_rows(system, *PROJECTIONS)
    assert len(from_kafka["libraries"]) == 16 + 13 and from_kafka["catalogue_works"]
    for name in PROJECTIONS:
        system.rebuild(name)
    assert read_model_rows(system, *PROJECTIONS) == from_kafka


def every_projection_has_seen_all(system: System) -> bool:
    with system.db.transaction() as conn:
        (stored,) = conn.execute("SELECT count(*) FROM libshare_events").fetchone() or (0,)
    return all(seen(system, name) == stored for name in PROJECTIONS)


def test_after_a_relay_crash_between_publishing_and_storing_nothing_is_lost_or_applied_twice(
    kafka_system: System,
) -> None:
    system = kafka_system
    codes = register_many(system, 8)
    crashed = system.make_relay()
    crashed.acquire()
    crashed.publish(crashed.read_batch())  # published, then the process dies before commit()
    crashed.release()
    crashed._drop_producer()

    system.reorganisation.rename(TESTER, codes[1], "Tên sau sự cố", "kiểm thử", ACT_2025)
    assert relay_all(system) == 9  # the restarted relay republishes the 8, then the rename
    prefix = system.settings.kafka_topic_prefix
    assert len(read_all(system.settings.kafka_bootstrap_servers or "", prefix, 17)) == 17

    runner = system.make_runner()
    source = system.make_kafka_source(group_id=f"{prefix}-crash")
    stop = threading.Event()
    worker = threading.Thread(target=runner.run, args=(source, stop), daemon=True)
    worker.start()
    try:
        eventually(lambda: runner.applied == 9, what="9 distinct events applied")
        eventually(lambda: seen(system) == 9, what="positions stored")
        # Projections that apply no library event drop the copies too: their lag is exact.
        eventually(lambda: seen(system, "requests") == 9, what="copies dropped by requests")
    finally:
        stop.set()
        worker.join(10)
    rows = libraries(system)
    assert [r["code"] for r in rows] == codes
    assert rows[1]["name"] == "Tên sau sự cố"
    assert runner.applied == 9


def test_a_kafka_projector_behind_a_rebuild_skips_what_the_rebuild_holds(
    kafka_system: System,
) -> None:
    system = kafka_system
    codes = register_many(system, 5)
    system.reorganisation.rename(
        TESTER, codes[0], "Đổi tên trước khi dựng lại", "kiểm thử", ACT_2025
    )
    assert relay_all(system) == 6
    report = system.rebuild("libraries")  # from the log; the Kafka projector has seen nothing
    assert (report.events, report.applied) == (6, 6)

    system.catalogue.register_library(
        TESTER, "HNM-AFTER", "Thư viện sau khi dựng lại", "school", "Lý Nhân"
    )
    assert relay_all(system) == 1
    runner = system.make_runner()
    source = system.make_kafka_source(group_id=f"{system.settings.kafka_topic_prefix}-behind")
    stop = threading.Event()
    worker = threading.Thread(target=runner.run, args=(source, stop), daemon=True)
    worker.start()
    try:
        eventually(lambda: seen(system, "requests") == 7, what="the Kafka projector to catch up")
        eventually(lambda: seen(system) == 7, what="libraries to count the one new event")
    finally:
        stop.set()
        worker.join(10)
    rows = libraries(system)
    assert [r["code"] for r in rows] == sorted([*codes, "HNM-AFTER"])
    assert next(r for r in rows if r["code"] == codes[0])["name"] == "Đổi tên trước khi dựng lại"


def test_the_commands_trace_context_travels_to_kafka_as_traceparent(kafka_system: System) -> None:
    from infra.tracing import configure_tracing, tracer

    configure_tracing(kafka_system.settings)
    with tracer("test").start_as_current_span("librarian registers a library") as span:
        kafka_system.catalogue.register_library(TESTER, "HNM-T", "Thư viện T", "school", "Phủ Lý")
        trace_id = format(span.get_span_context().trace_id, "032x")
    assert relay_all(kafka_system) == 1
    (record,) = read_all(
        kafka_system.settings.kafka_bootstrap_servers or "",
        kafka_system.settings.kafka_topic_prefix,
        1,
    )
    traceparent = dict(record.headers)["traceparent"].decode()
    assert traceparent.split("-")[1] == trace_id


def test_health_reports_kafka_when_it_is_configured(kafka_system: System) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app

    with TestClient(create_app(system=kafka_system)) as client:
        body = client.get("/health").json()
    assert body["kafka"]["ok"] is True and body["status"] == "ok"
    assert body["projection_source"] == "kafka"


def test_kafka_tools_see_the_projector_caught_up_once_it_stops(kafka_system: System) -> None:
    """The offsets told to Kafka (advisory, at most once per interval while running, and
    once more on closing) reach what the projector applied, so tools show no lag."""
    from kafka import KafkaAdminClient, KafkaConsumer

    system = kafka_system
    register_many(system, 12)
    assert relay_all(system) == 12
    prefix = system.settings.kafka_topic_prefix
    bootstrap = system.settings.kafka_bootstrap_servers or ""
    group = f"{prefix}-offsets"
    runner = system.make_runner()
    stop = threading.Event()
    # An interval longer than the test: what is applied after the first commit is told
    # to Kafka only on closing.
    source = KafkaSource(
        bootstrap,
        prefix,
        group,
        system.settings.kafka_client_id,
        commit_interval=3600.0,
    )
    worker = threading.Thread(target=runner.run, args=(source, stop), daemon=True)
    worker.start()
    try:
        eventually(lambda: runner.delivered == 12, what="12 events applied")
        register_many(system, 5, prefix="U")  # applied within the interval: told on closing
        assert relay_all(system) == 5
        eventually(lambda: runner.delivered == 17, what="17 events applied")
    finally:
        stop.set()
        worker.join(10)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        told = admin.list_group_offsets({group: None})[group]
        library_topic = f"{prefix}.library"
        ends = consumer.end_offsets([tp for tp in told if tp.topic == library_topic])
    finally:
        admin.close()
        consumer.close()
    assert sum(ends.values()) == 17
    assert {tp: told[tp].offset for tp in ends} == ends
