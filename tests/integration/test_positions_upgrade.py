"""A deployment whose projection positions are stored in the columns of before ADR 0012's
addendum ((xid, position): the log's place, or (0, offset) for Kafka) keeps them when it
starts the new code: the start-up DDL moves them into kafka_offset, log_xid and log_nid,
and the runner goes on from where it stood."""

from __future__ import annotations

from collections.abc import Callable
from uuid import uuid4

import pytest

from composition.bootstrap import System, projection_named
from infra.envelope import Envelope
from infra.kafka_log import all_topics
from infra.log_reader import LogPosition, position_of
from projections.bookkeeping import LOG_STREAM, Delivery, Position
from tests.integration.support import eventually, libraries, register_many

# projection_positions as the runner created it before log_xid/log_nid were added.
OLDEST = """
CREATE TABLE projection_positions (
    projection text NOT NULL,
    stream text NOT NULL,
    xid bigint NOT NULL DEFAULT 0,
    position bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, stream)
)
"""
# ... and as it created it since (ADR 0012), up to the explicit columns.
OLD = f"""
{OLDEST};
ALTER TABLE projection_positions ADD COLUMN log_xid bigint NOT NULL DEFAULT 0;
ALTER TABLE projection_positions ADD COLUMN log_nid bigint NOT NULL DEFAULT 0;
"""


def stored_events(system: System) -> list[Envelope]:
    with system.db.transaction() as conn:
        return system.reader.read(conn, LogPosition())


def columns(system: System) -> list[str]:
    with system.db.transaction() as conn:
        rows = conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'projection_positions'::regclass "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attname"
        ).fetchall()
    return [name for (name,) in rows]


@pytest.mark.parametrize("old_table", [OLDEST, OLD], ids=["oldest", "old"])
def test_a_log_position_in_the_old_columns_survives_and_the_log_source_goes_on_from_it(
    make_system: Callable[..., System], old_table: str
) -> None:
    system = make_system()
    codes = register_many(system, 5)
    third = stored_events(system)[2]
    with system.db.transaction() as conn:
        conn.execute(old_table)
        # As a rebuild's swap left it: the place in (xid, position) only.
        conn.execute(
            "INSERT INTO projection_positions (projection, stream, xid, position) "
            "VALUES ('libraries', %s, %s, %s)",
            (LOG_STREAM, third.xid, third.notification_id),
        )
    runner = system.make_runner([projection_named("libraries")])  # the start-up DDL
    system.make_runner([projection_named("libraries")])  # and again: nothing changes
    expected = ["kafka_offset", "log_nid", "log_xid", "projection", "stream", "updated_at"]
    assert columns(system) == expected
    place = (third.xid, third.notification_id)
    assert runner.stored_positions() == {"libraries": {LOG_STREAM: Position(place)}}
    source = system.make_log_source()
    source.start(runner)
    try:
        assert source.position == position_of(third)
        applied: list[int] = []

        def take() -> bool:
            applied.append(runner.apply_batch(source.poll(timeout=0.2)))
            return sum(applied) >= 2

        eventually(take, what="the two events after the stored position")
    finally:
        source.close()
    assert sum(applied) == 2
    assert [row["code"] for row in libraries(system)] == codes[3:]
    last = stored_events(system)[-1]
    assert runner.stored_positions()["libraries"][LOG_STREAM] == Position(
        (last.xid, last.notification_id)
    )


def test_a_kafka_offset_and_log_mark_in_the_old_columns_survive(
    make_system: Callable[..., System],
) -> None:
    system = make_system()
    codes = register_many(system, 5)
    events = stored_events(system)
    third, fourth = events[2], events[3]
    stream = f"{all_topics(system.settings.kafka_topic_prefix)[0]}:0"
    with system.db.transaction() as conn:
        conn.execute(OLD)
        # A Kafka stream: (0, offset) and the log place of the last event taken from it.
        conn.execute(
            "INSERT INTO projection_positions (projection, stream, xid, position, log_xid, "
            "log_nid) VALUES ('libraries', %s, 0, 41, %s, %s)",
            (stream, third.xid, third.notification_id),
        )
    runner = system.make_runner([projection_named("libraries")])
    mark = (third.xid, third.notification_id)
    assert runner.stored_positions() == {"libraries": {stream: Position(mark, 41)}}
    # Offset 41 was taken already; at 42, a copy of the third event (the relay republished
    # it) is dropped by the log mark; the fourth event at 42 is new.
    assert runner.apply_batch([Delivery(fourth, stream, 41)]) == 0
    assert runner.apply_batch([Delivery(third, stream, 42)]) == 0
    assert runner.apply_batch([Delivery(fourth, stream, 42)]) == 1
    assert [row["code"] for row in libraries(system)] == [codes[3]]
    assert runner.stored_positions()["libraries"][stream] == Position(
        (fourth.xid, fourth.notification_id), 42
    )


# projection_versions as the runner created it before its partitions (ADR 0030's amendment
# of 2026-12-02 evening).
UNPARTITIONED_VERSIONS = """
CREATE TABLE projection_versions (
    projection text NOT NULL,
    aggregate_id uuid NOT NULL,
    version bigint NOT NULL,
    PRIMARY KEY (projection, aggregate_id)
)
"""


def test_versions_in_the_table_of_before_the_partitions_survive(
    make_system: Callable[..., System],
) -> None:
    system = make_system()
    codes = register_many(system, 2)
    first, second = stored_events(system)[:2]
    other = uuid4()
    with system.db.transaction() as conn:
        conn.execute(UNPARTITIONED_VERSIONS)
        conn.execute(
            "INSERT INTO projection_versions VALUES ('libraries', %s, %s), ('accounts', %s, 3)",
            (first.aggregate_id, first.version, other),
        )
    runner = system.make_runner([projection_named("libraries")])  # the start-up DDL
    system.make_runner([projection_named("libraries")])  # and again: nothing changes
    with system.db.transaction() as conn:
        rows = conn.execute(
            "SELECT tableoid::regclass::text, projection, aggregate_id, version "
            "FROM projection_versions ORDER BY projection"
        ).fetchall()
    assert rows == [
        ("projection_versions_accounts", "accounts", other, 3),
        ("projection_versions_libraries", "libraries", first.aggregate_id, first.version),
    ]
    # The stored version still holds: the first library is not applied again, the second is.
    assert runner.apply_batch([Delivery(first, LOG_STREAM), Delivery(second, LOG_STREAM)]) == 1
    assert [row["code"] for row in libraries(system)] == codes[1:]
