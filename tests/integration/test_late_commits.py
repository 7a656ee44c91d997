"""Events that commit after later-numbered ones are delivered, never skipped."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable

import pytest

from composition.bootstrap import System
from tests.actors import TESTER
from tests.integration.kafka_read import read_all
from tests.integration.late_commit import late_writer
from tests.integration.support import libraries
from workers.relay import Relay


def relayed_within(relay: Relay, seconds: float, at_least: int) -> int:
    """How many events the relay published in rounds until `at_least` or the time-out."""
    published, deadline = 0, time.monotonic() + seconds
    while published < at_least and time.monotonic() < deadline:
        published += relay.relay_once()
        time.sleep(0.01)
    return published


def test_the_log_projection_delivers_an_event_that_commits_after_a_later_one(
    make_system: Callable[..., System],
) -> None:
    system = make_system(event_store_db_functions=True)
    runner = system.make_runner()
    source = system.make_log_source()
    source.start(runner)
    system.catalogue.register_library(TESTER, "HNM-A", "Thư viện A", "school", "Phủ Lý")
    with late_writer(system, "HNM-LATE") as late_id:
        lib, _ = system.catalogue.register_library(
            TESTER, "HNM-B", "Thư viện B", "school", "Phủ Lý"
        )
        with system.db.transaction() as conn:
            (b_id,) = conn.execute(
                "SELECT notification_id FROM libshare_events WHERE originator_id = %s", (lib.id,)
            ).fetchone()
        assert b_id > late_id  # B took a later id and has already committed
        runner.apply_batch(source.poll(timeout=0.3))
        # Only what precedes the open transaction is visible: A, not B.
        assert [r["code"] for r in libraries(system)] == ["HNM-A"]
    runner.apply_batch(source.poll(timeout=2))
    source.close()
    assert [r["code"] for r in libraries(system)] == ["HNM-A", "HNM-B", "HNM-LATE"]


@pytest.mark.kafka
def test_the_relay_publishes_an_event_that_commits_after_a_later_one(
    make_system: Callable[..., System], kafka_bootstrap: str
) -> None:
    system = make_system(
        event_store_db_functions=True,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_topic_prefix=f"test-{uuid.uuid4().hex[:10]}",
    )
    relay = system.make_relay()
    system.catalogue.register_library(TESTER, "HNM-A", "Thư viện A", "school", "Phủ Lý")
    with late_writer(system, "HNM-LATE"):
        system.catalogue.register_library(TESTER, "HNM-B", "Thư viện B", "school", "Phủ Lý")
        # A only: B waits behind the open transaction. (Any other writer on the server,
        # such as a previous test's worker still stopping, holds A back a moment too.)
        assert relayed_within(relay, 5.0, at_least=1) == 1
        assert relay.relay_once() == 0
    assert relayed_within(relay, 5.0, at_least=2) == 2
    relay.release()
    prefix = system.settings.kafka_topic_prefix
    records = read_all(kafka_bootstrap, prefix, 3)
    codes = sorted(json.loads(r.value)["code"] for r in records)
    assert codes == ["HNM-A", "HNM-B", "HNM-LATE"]
