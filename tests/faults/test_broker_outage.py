"""The broker stops (cleanly, as an operator's restart or a host's reboot does) while
three clients create ILL requests over HTTP, and comes back on the same port after 15 s
and after 90 s. Commands keep succeeding; within 30 s of the broker's return the relay
has published every stored event and every projection has applied it, once, in order."""

from __future__ import annotations

import time

import pytest

from composition.bootstrap import System
from tests.faults.checks import (
    assert_nothing_lost,
    caught_up,
    passed,
    stored_count,
)
from tests.faults.conftest import record_recovery
from tests.faults.layout import Broker, Layout, Load, wait_until

RECOVERY_BOUND_S = 30.0


@pytest.mark.parametrize("outage_s", [15, 90])
def test_everything_arrives_within_30_s_of_the_brokers_return(
    outage_s: int, layout: Layout, broker: Broker, load: Load, checker: System
) -> None:
    wait_until(lambda: load.created() >= 60, 60, "the clients creating requests")
    mark = stored_count(checker)
    wait_until(lambda: passed(checker, mark), 30, "the read models following the load")
    broker.stop()
    stopped = time.monotonic()
    created_before = load.created()
    time.sleep(outage_s)
    assert load.created() > created_before, "commands stopped succeeding without Kafka"
    assert layout.health()["status"] == "degraded"
    broker.start()
    back = time.monotonic()
    time.sleep(5)  # the clients go on for a while after the broker's return
    load.finish()
    wait_until(lambda: caught_up(checker), RECOVERY_BOUND_S - 5, "lag 0 and every event on Kafka")
    record_recovery(
        f"broker down {back - stopped:.0f} s (outage {outage_s} s)", time.monotonic() - back
    )
    assert_nothing_lost(checker, layout, load)
    wait_until(lambda: layout.health()["status"] == "ok", 30, "/health to say ok again")
