"""An event held back by an older transaction is followed as soon as that transaction
ends, though its end sends no NOTIFY: followers do not wait for the next commit."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
import pytest

from composition.bootstrap import System
from infra.event_store import EVENTS_CHANNEL
from tests.actors import TESTER
from tests.integration.kafka_read import read_all
from tests.integration.support import eventually, libraries

QUIET = 30.0  # followers' idle wait: far longer than any of these tests may take


@contextmanager
def older_transaction(system: System) -> Iterator[None]:
    """A transaction with an xid, writing no event, open until the block ends."""
    with psycopg.connect(system.db.url) as conn, conn.transaction():
        conn.execute("SELECT pg_current_xact_id()")
        yield


def wake(system: System) -> None:
    """Wake a follower sleeping on LISTEN, so that it sees its stop."""
    with psycopg.connect(system.db.url, autocommit=True) as conn:
        conn.execute(f'NOTIFY "{EVENTS_CHANNEL}"')


def test_the_log_projection_follows_a_held_back_event_once_the_holder_ends(
    make_system: Callable[..., System],
) -> None:
    system = make_system(event_store_db_functions=True)
    runner = system.make_runner()
    stop = threading.Event()
    worker = threading.Thread(
        target=runner.run, args=(system.make_log_source(), stop, QUIET), daemon=True
    )
    worker.start()
    try:
        with older_transaction(system):
            system.catalogue.register_library(
                TESTER, "HNM-HELD", "Thư viện chờ", "school", "Phủ Lý"
            )
            time.sleep(0.5)
            assert libraries(system) == []  # held back behind the older transaction
            ended = time.monotonic()
        eventually(lambda: len(libraries(system)) == 1, timeout=QUIET, what="the held event")
        assert time.monotonic() - ended < 2.0
    finally:
        stop.set()
        wake(system)
        worker.join(QUIET + 5)


@pytest.mark.kafka
def test_the_relay_publishes_a_held_back_event_once_the_holder_ends(
    make_system: Callable[..., System], kafka_bootstrap: str
) -> None:
    system = make_system(
        event_store_db_functions=True,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_topic_prefix=f"test-{uuid.uuid4().hex[:10]}",
    )
    relay = system.make_relay()
    relay.setup()
    stop = threading.Event()
    worker = threading.Thread(target=relay.run, args=(stop, QUIET), daemon=True)
    worker.start()
    try:
        with older_transaction(system):
            system.catalogue.register_library(
                TESTER, "HNM-HELD", "Thư viện chờ", "school", "Phủ Lý"
            )
            time.sleep(0.5)
            assert relay.relayed == 0
            ended = time.monotonic()
        eventually(lambda: relay.relayed == 1, timeout=QUIET, what="the held event relayed")
        assert time.monotonic() - ended < 2.0
    finally:
        stop.set()
        wake(system)
        worker.join(QUIET + 5)
    prefix = system.settings.kafka_topic_prefix
    assert len(read_all(kafka_bootstrap, prefix, 1)) == 1
