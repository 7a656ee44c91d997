"""The relay reads the log straight into Kafka records (infra/relay_records.py, ADR 0034):
each record must be the one the envelope path gives (`from_stored` and `kafka_headers`),
header for header, for every kind of event the network stores — with and without an
actor, a trace, a correlation and a causation, a reader's sealed data, and a recorded
instant on a whole second."""

from __future__ import annotations

from datetime import date

from composition.bootstrap import System
from composition.demo_network import load_demo
from infra.causation import caused_by
from infra.envelope import kafka_headers, kafka_key
from infra.kafka_log import topic_for
from infra.log_reader import LogPosition
from infra.relay_records import RelayRecords, position_after
from infra.tracing import configure_tracing, tracer
from tests.actors import ACT_2025, TESTER
from tests.integration.support import register_many


def test_records_read_straight_equal_the_envelope_path(system: System) -> None:
    load_demo(system)  # libraries, works, holdings, partners, accounts
    codes = register_many(system, 3)
    configure_tracing(system.settings)
    span = tracer("test").start_as_current_span("a librarian renames")
    with span, caused_by("incoming-message-1", "action-7"):
        system.reorganisation.rename(TESTER, codes[0], "Thư viện “mới”", "sáp nhập", ACT_2025)
    system.readers.register(
        TESTER,
        home_library=codes[1],
        name="Nguyễn Thị Ánh",
        born=date(2015, 3, 4),
        contact="0912 345 678",
        guardian={"name": "Nguyễn Văn B", "contact": "0987 654 321"},
        client_request_id=None,
        today=date(2026, 12, 2),
    )
    with system.db.transaction() as conn:  # one instant with no fraction of a second
        conn.execute(
            "UPDATE libshare_events SET recorded_at = date_trunc('second', recorded_at) "
            "WHERE notification_id = (SELECT min(notification_id) FROM libshare_events)"
        )

    reader = system.reader
    records = RelayRecords(reader.mapper, system.settings.kafka_topic_prefix, reader.table)
    with system.db.transaction() as conn:
        expected = reader.read(conn, LogPosition(), 100_000)
        got = records.read(conn, LogPosition(), 100_000)
        halves = records.read(conn, LogPosition(), 7)
        halves += records.read(conn, position_after(halves), 100_000)

    assert len(got) == len(expected) > 50
    assert [r.notification_id for r in halves] == [r.notification_id for r in got]
    kinds = {
        "actor": any(e.actor for e in expected),
        "trace": any(e.traceparent for e in expected),
        "correlation": any(e.correlation_id for e in expected),
        "causation": any(e.causation_id for e in expected),
        "sealed": any(e.aggregate_type == "reader" for e in expected),
        "whole second": any(e.recorded_at and e.recorded_at.microsecond == 0 for e in expected),
    }
    assert all(kinds.values()), kinds
    for env, rec in zip(expected, got, strict=True):
        key = kafka_key(env)
        assert rec.topic == topic_for(system.settings.kafka_topic_prefix, env.aggregate_type)
        assert rec.key == key
        assert rec.value == env.payload
        assert rec.headers == kafka_headers(env, key), env.type
        assert (rec.type, rec.traceparent) == (env.type, env.traceparent)
        assert (rec.xid, rec.notification_id) == (env.xid, env.notification_id)
